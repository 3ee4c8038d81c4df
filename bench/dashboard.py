"""(h) The dashboard's runs page: script time at 10,000 runs x 10 params x 10 metrics.

Driven by ``streamlit.testing.v1.AppTest`` against ``dashboard/app.py`` with
the store passed through ``CARNET_TRACKING_URI`` and the experiment chosen in
the URL (``?exp=``). Streamlit, pandas and Altair are imported before the
clock starts (a server has them loaded); the rows are:

* first run: a new session, the data cache cold (what the first visitor after
  a change waits for on the server);
* rerun: the same session again (the cache warm: every widget interaction).
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.config import REPO, Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

TARGET_S = 1.0
APP = REPO / "dashboard" / "app.py"
PAGES = [REPO / "dashboard" / "app_pages" / f"{p}.py" for p in ("runs", "compare", "run")]


def plan(cfg: Config) -> Plan:
    store: dict[str, Any] = {}
    variants = [Variant("carnet", lambda: run_worker("dashboard", "apptest", store))]
    result = Plan(variants, lambda s: [])
    missing = [str(p.relative_to(REPO)) for p in [APP, *PAGES] if not p.exists()]
    if missing:
        result.skip = f"the dashboard is not there yet (missing {', '.join(missing)})"
        return result

    def prepare() -> None:
        built = run_worker(
            "stores", "runs", {"runs": cfg.dashboard_runs, "params": 10, "metrics": 10},
            timeout=3600,
        )
        store.update(built)

    def summarize(s: Samples) -> list[Row]:
        n = cfg.dashboard_runs
        return [
            Row(
                "h",
                f"runs page, first script run ({n:,} runs × 10 params × 10 metrics)",
                "s",
                median(s, "carnet", "first_s"),
                target=TARGET_S,
                target_text="≤ 1 s",
                mlflow_target=None,
            ),
            Row(
                "h",
                "runs page, rerun of the same session (cache warm)",
                "s",
                median(s, "carnet", "rerun_s"),
                target=TARGET_S,
                target_text="≤ 1 s",
                mlflow_target=None,
            ),
        ]

    result.prepare, result.summarize = prepare, summarize
    return result


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    os.environ["CARNET_TRACKING_URI"] = args["uri"]
    import altair  # noqa: F401  (a running server has these loaded already)
    import pandas  # noqa: F401
    from streamlit.testing.v1 import AppTest

    clock = time.perf_counter
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["exp"] = str(args["experiment_id"])
    t = clock()
    at.run()
    first = clock() - t
    _check(at)
    t = clock()
    at.run()
    rerun = clock() - t
    _check(at)
    return {"first_s": first, "rerun_s": rerun, "runs": args["runs"]}


def _check(at: Any) -> None:
    if at.exception:
        raise RuntimeError(f"the runs page raised: {at.exception[0].value}")
    if not at.dataframe:
        raise RuntimeError("the runs page showed no table")
