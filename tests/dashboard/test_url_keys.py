"""URL keys: readable names declared by each page, and old links that still open.

Links written before the keys were renamed carry short names (``exp``, ``q``,
``sx``, ``csm`` ...). They must open the same view as the new names, and the
URL the app writes back must use only the new names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import shared_keys
from dashboard.app_pages import compare, models, run, runs
from dashboard.state import UrlKey
from tests.dashboard.conftest import MakeApp, no_exceptions
from tests.dashboard.store_data import EXPERIMENT, StoreInfo

DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"
PAGES = {
    "runs": runs.URL_KEYS,
    "compare": compare.URL_KEYS,
    "run": run.URL_KEYS,
    "models": models.URL_KEYS,
}
READABLE = re.compile(r"^[a-z]+(_[a-z]+)*$")


def declared() -> dict[str, UrlKey[Any]]:
    """Every key any page or the router reads, by name."""
    keys: dict[str, UrlKey[Any]] = {}
    for key in (*shared_keys.ROUTER_KEYS, *(k for page in PAGES.values() for k in page)):
        assert keys.setdefault(key.name, key) == key, f"{key.name} is declared twice, differently"
    return keys


def renamed(params: dict[str, str]) -> dict[str, str]:
    """The same link under the new names."""
    by_alias = {alias: key.name for key in declared().values() for alias in key.aliases}
    return {by_alias.get(name, name): value for name, value in params.items()}


def written(at: AppTest) -> dict[str, str]:
    """The URL the app wrote, as one text per key."""
    return {k: v if isinstance(v, str) else ",".join(v) for k, v in at.query_params.items()}


def widgets(at: AppTest) -> dict[str, Any]:
    """What every widget shows, by key: the view as the user sees it."""
    found = {}
    for kind in ("selectbox", "multiselect", "text_input", "toggle", "slider", "segmented_control"):
        for element in getattr(at, kind):
            if element.key:
                found[element.key] = element.value
    return found


def assert_only_new_names(at: AppTest, page: str) -> None:
    names = {k.name for k in PAGES[page]}
    aliases = {a for k in declared().values() for a in k.aliases}
    assert set(at.query_params) <= names, set(at.query_params) - names
    assert not set(at.query_params) & aliases


def test_every_page_declares_readable_distinct_names() -> None:
    keys = declared()
    aliases = [a for key in keys.values() for a in key.aliases]
    assert all(READABLE.match(name) for name in keys), [n for n in keys if not READABLE.match(n)]
    assert len(aliases) == len(set(aliases)), "two keys claim the same old name"
    assert not set(aliases) & set(keys), "an old name is also a new one"
    for page, page_keys in PAGES.items():
        names = [k.name for k in page_keys]
        assert len(names) == len(set(names)), f"the {page} page lists a key twice"


def test_the_docs_list_every_key_and_its_old_name() -> None:
    text = DOCS.read_text()
    section = text.split("## URLs", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    new = {n for row in rows for n in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    old = {n for row in rows for n in re.findall(r"`([a-z_]+)`", row.split("|")[-2])}
    keys = declared()
    assert new == set(keys)
    assert old == {a for key in keys.values() for a in key.aliases}


def test_an_old_runs_link_opens_the_same_view(app: MakeApp, store: StoreInfo) -> None:
    old = {
        "exp": EXPERIMENT,
        "q": "params.l1_ratio = '1.0'",
        "sort": "metrics.MSE ASC",
        "best": "r2",
        "dir": "min",
        "cols": "run_name,metrics.MSE,params.alpha",
        "diff": "1",
        "n": "25",
        "sel": store.best_run_id,
        "live": "1",
    }
    before = app(**old)
    after = app(**renamed(old))
    no_exceptions(before)
    assert widgets(before) == widgets(after)
    assert written(before) == written(after)
    assert_only_new_names(before, "runs")
    assert written(before) == {
        "experiments": store.experiment_id,
        "filter": "params.l1_ratio = '1.0'",
        "sort": "metrics.MSE ASC",
        "best_by": "r2",
        "best_is": "min",
        "columns": "run_name,metrics.MSE,params.alpha",
        "only_differing": "1",
        "per_page": "25",
        "selected": store.best_run_id,
        "live": "1",
    }


def test_an_old_compare_link_opens_the_same_view(app: MakeApp) -> None:
    old = {
        "tab": "Scatter",
        "sx": "params.alpha",
        "sy": "metrics.r2",
        "sc": "params.l1_ratio",
        "slx": "0",
        "sly": "1",
        "pc": "params.alpha,metrics.MSE",
        "pcc": "metrics.r2",
        "hx": "params.l1_ratio",
        "hy": "params.alpha",
        "hm": "metrics.r2",
        "bx": "params.solver",
        "bm": "metrics.r2",
        "cm": "loss",
        "cx": "relative",
        "csm": "0.5",
        "clog": "1",
        "im": "r2",
    }
    before = app("compare", **old)
    after = app("compare", **renamed(old))
    no_exceptions(before)
    assert widgets(before) == widgets(after)
    assert written(before) == written(after)
    assert_only_new_names(before, "compare")
    # Every choice survives, the tabs not drawn included; the open tab and the scatter's
    # x are the defaults, so they leave the URL.
    assert written(before) == {
        **{k: v for k, v in renamed(old).items() if k not in ("tab", "scatter_x")},
        "experiments": written(before)["experiments"],
        "best_by": "MSE",  # chosen on the runs page, which the link opened first
    }


def test_an_old_run_link_opens_the_same_view(app: MakeApp, store: StoreInfo) -> None:
    old = {"run": store.best_run_id, "rtab": "Metrics", "rm": "loss,r2", "cx": "time", "csm": "0.3"}
    before = app("run", **old)
    after = app("run", **renamed(old))
    no_exceptions(before)
    assert before.multiselect(key="w.curves").value == ["loss", "r2"]
    assert widgets(before) == widgets(after)
    assert written(before) == written(after)
    assert_only_new_names(before, "run")
    assert {k: written(before).get(k) for k in ("run", "run_tab", "curves", "curve_x")} == {
        "run": store.best_run_id,
        "run_tab": "Metrics",
        "curves": "loss,r2",
        "curve_x": "time",
    }


def test_a_choice_is_written_under_its_new_name(app: MakeApp) -> None:
    at = app("compare", sx="params.alpha")
    at.selectbox(key="w.scatter_y").set_value("metrics.loss").run()
    at.toggle(key="w.scatter_log_y").set_value(True).run()
    no_exceptions(at)
    assert at.query_params["scatter_y"] == "metrics.loss"
    assert at.query_params["scatter_log_y"] == "1"
    assert_only_new_names(at, "compare")


def test_the_new_name_wins_over_an_old_one_in_the_same_link(app: MakeApp) -> None:
    at = app(filter="params.l1_ratio = '1.0'", q="params.l1_ratio = '0.5'")
    no_exceptions(at)
    assert at.text_input(key="w.filter").value == "params.l1_ratio = '1.0'"
    assert at.query_params["filter"] == "params.l1_ratio = '1.0'"
    assert "q" not in at.query_params


def test_repeated_params_of_a_list_key_join(app: MakeApp, store: StoreInfo) -> None:
    at = app(experiments=[store.experiment_id, store.other_id])  # ?experiments=1&experiments=2
    no_exceptions(at)
    assert at.multiselect(key="w.experiments").value == [store.experiment_id, store.other_id]
    assert at.query_params["experiments"] == f"{store.experiment_id},{store.other_id}"


@pytest.mark.parametrize("page", ["compare", "run"])
def test_old_keys_for_another_page_wait_for_it(app: MakeApp, page: str) -> None:
    """A runs-page link carrying compare or run keys keeps them until that page opens."""
    at = app(cx="relative")  # the first run is the runs page: cx is not one of its keys
    assert "cx" not in at.query_params and "curve_x" not in at.query_params
    at.switch_page(f"app_pages/{page}.py").run()
    no_exceptions(at)
    assert at.query_params["curve_x"] == "relative"
