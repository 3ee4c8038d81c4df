"""The compare and run pages through AppTest."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.app_pages import compare
from tests.dashboard.conftest import MakeApp, make_app, no_exceptions
from tests.dashboard.store_data import SCRIPT_NAME, StoreInfo


def charts(at: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite specs drawn on the page."""
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def chart_data(at: AppTest) -> dict[str, pd.DataFrame]:
    """The data sets Streamlit ships beside the specs (Arrow), by dataset name."""
    out = {}
    for el in at.get("vega_lite_chart"):
        for ds in el.proto.datasets:
            out[ds.name] = pa.ipc.open_stream(ds.data.data).read_pandas()
    return out


def all_text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "text", "title", "code")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("tab", compare.TABS)
def test_every_compare_tab_draws_a_chart(app: MakeApp, tab: str) -> None:
    at = app("compare", tab=tab)
    no_exceptions(at)
    assert at.title[0].value == "Compare"
    assert charts(at), f"no chart on the {tab} tab"
    assert at.query_params.get("tab", compare.TABS[0]) == tab


def test_compare_uses_the_selection_when_there_is_one(app: MakeApp, store: StoreInfo) -> None:
    at = app("compare", selected=f"{store.best_run_id},{store.script_run_id}")
    no_exceptions(at)
    assert "Comparing **2** selected runs." in all_text(at)
    names = {n for df in chart_data(at).values() if "run" in df for n in df["run"]}
    assert names == {SCRIPT_NAME, "a0.01-l1.0"}


def test_compare_follows_the_query_of_the_runs_page(app: MakeApp, store: StoreInfo) -> None:
    at = app()
    at.text_input(key="w.filter").input("params.l1_ratio = '0.5'").run()
    at.switch_page("app_pages/compare.py").run()
    no_exceptions(at)
    assert at.text_input(key="w.filter").value == "params.l1_ratio = '0.5'"
    assert "Comparing all **5** matching runs." in all_text(at)
    assert at.query_params["filter"] == "params.l1_ratio = '0.5'"


def test_chart_choices_live_in_the_url(app: MakeApp) -> None:
    at = app("compare", scatter_x="params.alpha", scatter_y="metrics.r2", scatter_log_x="1")
    no_exceptions(at)
    assert at.selectbox(key="w.scatter_x").value == "params.alpha"
    assert at.toggle(key="w.scatter_log_x").value is True
    spec = charts(at)[0]
    layer = spec["layer"][0] if "layer" in spec else spec
    assert layer["encoding"]["x"]["scale"]["type"] == "log"
    at.selectbox(key="w.scatter_y").set_value("metrics.loss").run()
    assert at.query_params["scatter_y"] == "metrics.loss"


def test_heat_map_marks_the_tutorial_best_cell(app: MakeApp) -> None:
    at = app(  # older links' short names for heatmap_x, heatmap_y and heatmap_metric
        "compare", tab="Heat map", hx="params.alpha", hy="params.l1_ratio", hm="metrics.MSE"
    )
    no_exceptions(at)
    boxed = charts(at)[0]["layer"][1]
    best = chart_data(at)[boxed["data"]["name"]]
    assert best[["x", "y", "m"]].values.tolist() == [["0.01", "1", 3000.0]]


def test_curves_draw_the_loss_history(app: MakeApp, store: StoreInfo) -> None:
    at = app("compare", tab="Curves", curve_metric="loss", smoothing="0.5")
    no_exceptions(at)
    curves = pd.concat(chart_data(at).values())
    assert set(curves["step"]) == set(range(20))
    assert curves["run_id"].nunique() == 12
    assert f"12 runs, {12 * 20} logged points" in all_text(at)


def test_a_bad_query_on_compare_is_inline(app: MakeApp) -> None:
    at = app("compare", filter="params.alpha <<< 1")
    no_exceptions(at)
    assert "does not parse" in at.error[0].value
    assert not charts(at)


def test_run_page_shows_everything_as_text(app: MakeApp, store: StoreInfo) -> None:
    at = app("run", run=store.script_run_id)
    no_exceptions(at)
    assert at.title[0].value == "\\<script\\>alert\\(1\\)\\</script\\>"
    assert not at.get("html")
    text = all_text(at)
    assert "**not bold** <i>not italic</i>" in [t.value for t in at.text]
    assert "Reproduce" in [h.value for h in at.subheader]
    assert any(c.language == "bash" for c in at.code)
    params = next(d.value for d in at.dataframe if "param" in d.value.columns)
    assert "<b>bold</b>" in params["value"].tolist()
    assert "child run" in text
    assert at.query_params["run"] == store.script_run_id


def test_run_page_tabs(app: MakeApp, store: StoreInfo) -> None:
    at = app("run", run=store.best_run_id, rtab="Metrics")  # run_tab's older name
    no_exceptions(at)
    assert charts(at), "no metric curves"
    at = app("run", run=store.best_run_id, run_tab="Params & tags")
    tags = [d.value for d in at.dataframe if "tag" in d.value.columns]
    assert any("team" in t["tag"].tolist() for t in tags)
    at = app("run", run=store.best_run_id, run_tab="System")
    no_exceptions(at)
    system = next(d.value for d in at.dataframe if "captured at start" in d.value.columns)
    assert "command" in system["captured at start"].tolist()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("notes.txt", "code"),
        ("config.json", "json"),
        ("predictions.csv", "dataframe"),
        ("figures/plot.png", "image"),
        ("report.html", "code"),
    ],
)
def test_artifact_previews(app: MakeApp, store: StoreInfo, path: str, kind: str) -> None:
    at = app("run", run=store.script_run_id, run_tab="Artifacts")
    no_exceptions(at)
    at.selectbox(key="run.artifact").set_value(path).run()
    no_exceptions(at)
    found = at.image if kind == "image" else at.get(kind)
    assert found, f"no {kind} preview for {path}"
    assert at.get("download_button")
    assert not at.get("html")
    if path == "report.html":  # HTML is shown as its source, never rendered
        assert "<script>alert('artifact')</script>" in [c.value for c in at.code]


def test_failed_run_shows_its_error(app: MakeApp, store: StoreInfo) -> None:
    at = app("run", run=store.failed_run_id)
    no_exceptions(at)
    assert "ValueError" in at.error[0].value
    assert "boom" in [c.value for c in at.code][1] or any("boom" in c.value for c in at.code)


def test_child_links_to_parent(app: MakeApp, store: StoreInfo) -> None:
    at = app("run", run=store.child_run_id)
    no_exceptions(at)
    labels = [p.proto.label for p in at.get("page_link")]
    assert any(label.startswith("Parent: ") for label in labels)


def test_unknown_run_id(app: MakeApp) -> None:
    at = app("run", run="0" * 32)
    no_exceptions(at)
    assert "No run with id" in at.error[0].value


def test_run_page_without_a_run_offers_a_choice(app: MakeApp) -> None:
    at = app("run")
    no_exceptions(at)
    assert at.selectbox[0].label == "Choose a run"


def test_brushed_runs_narrow_to_the_rectangle() -> None:
    frame = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "params.alpha": ["0.1", "1", "10"],
            "params.solver": ["x", "y", "x"],
            "metrics.MSE": [1.0, 2.0, 3.0],
        }
    )

    def event(brush: dict[str, list[Any]]) -> SimpleNamespace:
        return SimpleNamespace(selection={"brush": brush})

    Event = event({"x": [0.5, 20], "y": [1.5, 3.5]})
    Empty = event({})
    Categories = event({"x": ["x"], "y": [0, 5]})

    assert compare.brushed_runs(frame, "params.alpha", "metrics.MSE", Event)["run_id"].tolist() == [
        "b",
        "c",
    ]
    assert compare.brushed_runs(frame, "params.alpha", "metrics.MSE", Empty) is None
    picked = compare.brushed_runs(frame, "params.solver", "metrics.MSE", Categories)
    assert picked["run_id"].tolist() == ["a", "c"]


def test_a_run_link_opens_its_experiment(app: MakeApp, store: StoreInfo) -> None:
    import carnet

    older = carnet.Client(store.uri).search_runs_frame([store.other_id])["run_id"].iloc[0]
    at = make_app("run", run=older)  # no experiments in the link; not the most recent experiment
    no_exceptions(at)
    assert at.multiselect(key="w.experiments").value == [store.other_id]
    assert at.title[0].value == "other\\-run"
