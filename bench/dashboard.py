"""(h) The dashboard's pages: server script time at 10,000 runs x 10 params x 10 metrics.

Uses the dashboard's own timing hooks (``dashboard/bench_hooks.py``): the real
page scripts under ``streamlit.testing.v1.AppTest``, store passed through
``CARNET_TRACKING_URI``, experiment in the URL. Each process first runs the
page once untimed (a server imports its modules once); then, with every
Streamlit cache cleared, it times:

* the runs page cold (caches empty: what a first visitor after a change waits);
* a rerun of the same session (caches warm: every widget interaction);
* a changed query typed into the query field (target <= 0.3 s);
* the run page drawing the curve of a 1,000,000-point metric (target <= 1 s).

Without the hooks (an older dashboard) it falls back to timing
``AppTest.from_file('dashboard/app.py')`` itself.
"""

from __future__ import annotations

import importlib.util
import os
import time
from typing import Any

from bench.config import REPO, Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

APP = REPO / "dashboard" / "app.py"
PAGES = [REPO / "dashboard" / "app_pages" / f"{p}.py" for p in ("runs", "compare", "run")]


def plan(cfg: Config) -> Plan:
    args: dict[str, Any] = {}
    variants = [Variant("carnet", lambda: run_worker("dashboard", "pages", args))]
    result = Plan(variants, lambda s: [])
    missing = [str(p.relative_to(REPO)) for p in [APP, *PAGES] if not p.exists()]
    if missing:
        result.skip = f"the dashboard is not there yet (missing {', '.join(missing)})"
        return result

    def prepare() -> None:
        store = run_worker(
            "stores",
            "runs",
            {"runs": cfg.dashboard_runs, "params": 10, "metrics": 10},
            timeout=3600,
        )
        curve = run_worker("stores", "history", {"points": cfg.curve_points}, timeout=3600)
        args.update(store=store, curve=curve)

    def summarize(s: Samples) -> list[Row]:
        n = cfg.dashboard_runs
        first = median(s, "carnet", "first_ever_s")
        if first is not None:
            result.notes.append(
                f"first run in a fresh process (imports included): {first:.2f} s; "
                + (
                    "timed through dashboard/bench_hooks.py"
                    if s["carnet"][0].get("hooks")
                    else "timed with AppTest directly (no dashboard/bench_hooks.py)"
                )
            )
        rows = [
            Row(
                "h",
                f"runs page, cold caches ({n:,} runs × 10 params × 10 metrics)",
                "s",
                median(s, "carnet", "cold_s"),
                target=1.0,
                target_text="≤ 1 s",
                mlflow_target=None,
            ),
            Row(
                "h",
                "runs page, rerun of the same session",
                "s",
                median(s, "carnet", "warm_s"),
                target=1.0,
                target_text="≤ 1 s",
                mlflow_target=None,
            ),
        ]
        if median(s, "carnet", "changed_s") is not None:
            rows.append(
                Row(
                    "h",
                    "runs page, a changed query",
                    "s",
                    median(s, "carnet", "changed_s"),
                    target=0.3,
                    target_text="≤ 0.3 s",
                    mlflow_target=None,
                )
            )
        if median(s, "carnet", "curve_s") is not None:
            rows.append(
                Row(
                    "h",
                    f"run page with a {cfg.curve_points:,}-point curve, cold caches",
                    "s",
                    median(s, "carnet", "curve_s"),
                    target=1.0,
                    target_text="≤ 1 s",
                    mlflow_target=None,
                )
            )
        return rows

    result.prepare, result.summarize = prepare, summarize
    return result


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    store, curve = args["store"], args["curve"]
    uri, eid = store["uri"], str(store["experiment_id"])
    if importlib.util.find_spec("dashboard.bench_hooks") is None:
        return _fallback(uri, eid)
    from dashboard import bench_hooks

    clock = time.perf_counter
    t = clock()
    bench_hooks.time_runs_page(uri, eid)  # imports and first-ever run, untimed below
    first_ever = clock() - t
    page = bench_hooks.time_runs_page(uri, eid)
    out: dict[str, Any] = {
        "hooks": True,
        "first_ever_s": first_ever,
        "cold_s": page["cold"],
        "warm_s": page["warm_rerun"],
        "changed_s": page["changed_query"],
    }
    if hasattr(bench_hooks, "time_curve"):
        timed = bench_hooks.time_curve(curve["uri"], curve["run_id"], "loss")
        if timed.get("charts", 1) < 1:
            raise RuntimeError("the run page drew no chart for the curve")
        out["curve_s"] = timed["run_page_cold"]
    return out


def _fallback(uri: str, eid: str) -> dict[str, Any]:
    os.environ["CARNET_TRACKING_URI"] = uri
    import altair  # noqa: F401  (a running server has these loaded already)
    import pandas  # noqa: F401
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    clock = time.perf_counter
    times = []
    for _ in range(2):  # the first run imports the dashboard's modules
        st.cache_data.clear()
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.query_params["exp"] = eid
        t = clock()
        at.run()
        times.append(clock() - t)
        _check(at)
    t = clock()
    at.run()
    warm = clock() - t
    _check(at)
    return {"hooks": False, "first_ever_s": times[0], "cold_s": times[1], "warm_s": warm}


def _check(at: Any) -> None:
    if at.exception:
        raise RuntimeError(f"the runs page raised: {at.exception[0].value}")
    if not at.dataframe:
        raise RuntimeError("the runs page showed no table")
