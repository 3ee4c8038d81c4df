"""The runs page through AppTest, against a store written by the SDK."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import MakeApp, no_exceptions
from tests.dashboard.store_data import EXPERIMENT, OTHER, SCRIPT_NAME, StoreInfo


def count_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "matching runs" in m.value)


def table(at: AppTest) -> pd.DataFrame:
    """The runs table (the one with a link column)."""
    for df in at.dataframe:
        value = df.value
        if isinstance(value, pd.DataFrame) and "open" in value.columns:
            return value
        data = getattr(value, "data", None)  # a pandas Styler when the best row is highlighted
        if isinstance(data, pd.DataFrame) and "open" in data.columns:
            return data
    raise AssertionError("no runs table on the page")


def test_opens_on_the_most_recent_experiment(app: MakeApp, store: StoreInfo) -> None:
    at = app()
    no_exceptions(at)
    assert at.title[0].value == "diabetes\\-elasticnet"
    assert at.multiselect(key="w.experiments").value == [store.experiment_id]
    assert count_text(at) == f"**{store.runs}** matching runs"
    assert len(table(at)) == store.runs
    assert at.query_params["experiments"] == store.experiment_id
    assert any("Store (read-only)" in c.value for c in at.sidebar.caption)


def test_choosing_experiments_changes_the_runs(app: MakeApp, store: StoreInfo) -> None:
    at = app()
    at.multiselect(key="w.experiments").set_value([store.experiment_id, store.other_id]).run()
    no_exceptions(at)
    assert count_text(at) == f"**{store.runs + 1}** matching runs"
    at.multiselect(key="w.experiments").set_value([store.other_id]).run()
    assert count_text(at) == "**1** matching runs"
    assert at.query_params["experiments"] == store.other_id
    assert table(at)["run_name"].tolist() == ["other-run"]


def test_typing_a_query_filters_the_table(app: MakeApp, store: StoreInfo) -> None:
    at = app()
    query = "params.l1_ratio = '1.0' and metrics.MSE <= 4000"
    at.text_input(key="w.filter").input(query).run()
    no_exceptions(at)
    assert count_text(at) == f"**3** matching runs of {store.runs}"
    rows = table(at)
    assert sorted(rows["run_name"]) == ["a0.001-l1.0", "a0.01-l1.0", "a0.1-l1.0"]
    assert at.query_params["filter"] == query


def test_a_bad_query_shows_the_caret_message_inline(app: MakeApp) -> None:
    at = app()
    at.text_input(key="w.filter").input("metrics.MSE <").run()
    no_exceptions(at)
    assert "does not parse" in at.error[0].value
    assert any(c.value.rstrip().endswith("^") for c in at.code)
    assert not [m for m in at.markdown if "matching runs" in m.value]


def test_a_misspelt_key_gets_a_suggestion(app: MakeApp) -> None:
    at = app(filter="metrics.MES < 4000")
    no_exceptions(at)
    assert count_text(at).startswith("**0** matching runs")
    assert "Did you mean metrics\\.MSE" in at.warning[0].value


def test_url_restores_query_sort_and_experiment_by_name(app: MakeApp, store: StoreInfo) -> None:
    # The demo prints links like this one, with the experiment's name.
    at = app(experiments=EXPERIMENT, filter="params.l1_ratio = '1.0'", sort="metrics.MSE ASC")
    no_exceptions(at)
    assert at.multiselect(key="w.experiments").value == [store.experiment_id]
    assert at.text_input(key="w.filter").value == "params.l1_ratio = '1.0'"
    assert at.selectbox(key="w.sortcol").value == "metrics.MSE"
    rows = table(at)
    assert list(rows["metrics.MSE"]) == sorted(rows["metrics.MSE"])
    assert rows["run_name"].iloc[0] == "a0.01-l1.0"
    assert at.query_params["experiments"] == store.experiment_id  # rewritten as ids
    assert at.query_params["sort"] == "metrics.MSE ASC"


def test_changing_the_sort_updates_url_and_order(app: MakeApp) -> None:
    at = app()
    at.selectbox(key="w.sortcol").set_value("metrics.MSE").run()
    at.segmented_control(key="w.sortdir").set_value("DESC").run()
    no_exceptions(at)
    assert at.query_params["sort"] == "metrics.MSE DESC"
    values = table(at)["metrics.MSE"].dropna().tolist()
    assert values == sorted(values, reverse=True)


def test_best_run_is_found_and_marked(app: MakeApp, store: StoreInfo) -> None:
    at = app(best_by="MSE")
    no_exceptions(at)
    assert at.metric[0].value == "3000"
    assert "lowest" in at.metric[0].label
    rows = table(at)
    starred = rows[rows["best"] == "★"]
    assert starred["open"].tolist() == [f"run?run={store.best_run_id}"]
    at.segmented_control(key="w.best_is").set_value("max").run()
    assert at.metric[0].value == "5100"
    assert at.query_params["best_is"] == "max"


def test_paging_reads_one_page_at_a_time(app: MakeApp, store: StoreInfo) -> None:
    at = app(n="25")  # older links' short names (per_page, filter) still open
    assert len(table(at)) == store.runs
    at = app(n="25", q="metrics.MSE > 0", sort="metrics.MSE ASC")
    assert len(table(at)) == store.runs - 1  # the failed run logged no MSE
    small = app(sort="metrics.MSE ASC")
    small.selectbox(key="w.per_page").set_value(25).run()
    assert small.query_params["per_page"] == "25"


def test_only_columns_that_differ(app: MakeApp) -> None:
    at = app(filter="params.l1_ratio = '1.0'")
    assert "params.solver" in table(at).columns
    at.toggle(key="w.only_differing").set_value(True).run()
    no_exceptions(at)
    columns = table(at).columns
    assert "params.solver" not in columns  # "cd" in every row shown
    assert "params.alpha" in columns
    assert at.query_params["only_differing"] == "1"


def test_column_chooser_by_group(app: MakeApp) -> None:
    at = app()
    at.multiselect(key="w.columns.tags").set_value(["tags.team", "tags.mlflow.user"]).run()
    no_exceptions(at)
    assert "tags.mlflow.user" in table(at).columns
    assert "tags.mlflow.user" in at.query_params["columns"]
    again = app(columns=at.query_params["columns"])
    assert "tags.mlflow.user" in table(again).columns


def test_selection_from_url_is_kept_and_offered_to_compare(app: MakeApp, store: StoreInfo) -> None:
    at = app(sel=f"{store.best_run_id},{store.script_run_id}")  # selected's older name
    no_exceptions(at)
    assert set(at.query_params["selected"].split(",")) == {store.best_run_id, store.script_run_id}
    links = [p for p in at.get("page_link") if "Compare 2 selected" in p.proto.label]
    assert links
    at.button[0].click().run()  # "Clear selection"
    assert "selected" not in at.query_params


def test_run_names_are_text_never_html(app: MakeApp) -> None:
    at = app()
    rows = table(at)
    assert SCRIPT_NAME in rows["run_name"].tolist()
    assert not at.get("html")
    assert all("<script>" not in m.value for m in at.markdown)


def test_live_refresh_toggle(app: MakeApp) -> None:
    at = app(live="1")
    no_exceptions(at)
    assert at.toggle(key="w.live").value is True
    assert at.query_params["live"] == "1"


def test_other_experiment_by_unknown_name_warns(app: MakeApp) -> None:
    at = app(experiments="no-such-experiment")
    no_exceptions(at)
    assert "does not have" in at.sidebar.warning[0].value
    assert OTHER not in at.title[0].value


def test_no_experiment_chosen_on_every_page(app: MakeApp) -> None:
    at = app()
    at.multiselect(key="w.experiments").set_value([]).run()
    no_exceptions(at)
    assert "Choose one or more experiments" in at.info[0].value
    for page in ("compare", "run"):
        at.switch_page(f"app_pages/{page}.py").run()
        no_exceptions(at)


def test_a_bad_sort_from_a_link_is_inline(app: MakeApp) -> None:
    at = app(sort="metrics.MSE SIDEWAYS")
    no_exceptions(at)
    assert "sort order does not parse" in at.error[0].value
