"""Timing hooks for ``bench/``: run dashboard pages headless and time them.

The pages run through Streamlit's ``AppTest`` (the real scripts, no browser), so
the figures are server time per script run, against the dashboard's budgets: the
runs page <= 1 s, a changed query <= 0.3 s, curves of a 1,000,000-point metric <= 1 s.

    python -m dashboard.bench_hooks --db sqlite:///big.db --experiment bench
    python -m dashboard.bench_hooks --db sqlite:///big.db --curve RUN_ID:loss

Or from Python: ``time_runs_page(uri, experiment)`` and ``time_curve(uri, run_id, key)``
return dicts of seconds. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


@dataclass
class PageRun:
    """An AppTest session on a page, and how long its last script run took."""

    at: object  # streamlit.testing.v1.AppTest
    seconds: float


@contextmanager
def _store(uri: str) -> Iterator[None]:
    """Point the app at ``uri`` for the duration (it reads CARNET_TRACKING_URI)."""
    before = os.environ.get("CARNET_TRACKING_URI")
    os.environ["CARNET_TRACKING_URI"] = uri
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CARNET_TRACKING_URI", None)
        else:
            os.environ["CARNET_TRACKING_URI"] = before


def clear_caches() -> None:
    """Forget every cached read (a cold start, as after a server restart)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def run_page(
    uri: str, page: str = "runs", params: Mapping[str, str] | None = None, timeout: float = 120
) -> PageRun:
    """Open ``page`` ("runs", "compare" or "run") with URL ``params``; time the page run."""
    from streamlit.testing.v1 import AppTest

    with _store(uri):
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        for key, value in (params or {}).items():
            at.query_params[key] = value
        start = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - start
        if page != "runs":
            at.switch_page(f"app_pages/{page}.py")
            start = time.perf_counter()
            at.run()
            seconds = time.perf_counter() - start
    _check(at)
    return PageRun(at, seconds)


def _check(at: object) -> None:
    exceptions = list(getattr(at, "exception", []))
    if exceptions:
        raise RuntimeError(f"the page raised: {[e.value for e in exceptions]}")


def time_runs_page(
    uri: str, experiment: str, query: str = "", changed_query: str | None = None
) -> dict[str, float]:
    """Seconds for the runs page: cold (empty caches), warm rerun, and a changed query."""
    clear_caches()
    params = {"experiments": experiment}
    if query:
        params["filter"] = query
    first = run_page(uri, "runs", params)
    with _store(uri):
        start = time.perf_counter()
        first.at.run()  # type: ignore[attr-defined]
        warm = time.perf_counter() - start
        text = first.at.text_input(key="w.filter")  # type: ignore[attr-defined]
        text.input(changed_query or _another_query(query))
        start = time.perf_counter()
        first.at.run()  # type: ignore[attr-defined]
        changed = time.perf_counter() - start
    _check(first.at)
    return {"cold": first.seconds, "warm_rerun": warm, "changed_query": changed}


def _another_query(query: str) -> str:
    return "attributes.status = 'FINISHED'" if query else "attributes.status != 'FAILED'"


def time_curve(uri: str, run_id: str, key: str) -> dict[str, float]:
    """Seconds to show one metric's curve on the run page: cold (empty caches: read
    the history, smooth, downsample, chart) and a warm rerun of the same session."""
    from dashboard import data

    clear_caches()
    summary = data.client(uri).get_run(run_id).summaries[key]
    params = {"run": run_id, "run_tab": "Metrics", "curves": key}
    page = run_page(uri, "run", params)
    with _store(uri):
        start = time.perf_counter()
        page.at.run()  # type: ignore[attr-defined]
        warm = time.perf_counter() - start
    _check(page.at)
    charts = [el for el in page.at.get("vega_lite_chart")]  # type: ignore[attr-defined]
    return {
        "points": float(summary.count),
        "charts": float(len(charts)),
        "run_page_cold": page.seconds,
        "run_page_warm": warm,
    }


def main(argv: list[str] | None = None) -> None:
    """Print the timings asked for on the command line (never asserted)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="store URI or SQLite path")
    parser.add_argument("--experiment", help="experiment id or name for the runs page")
    parser.add_argument("--query", default="", help="filter for the first run")
    parser.add_argument("--curve", help="RUN_ID:METRIC whose history to time")
    args = parser.parse_args(argv)
    if args.experiment:
        for name, seconds in time_runs_page(args.db, args.experiment, args.query).items():
            print(f"runs page {name:>14}: {seconds:7.3f} s")
    if args.curve:
        run_id, key = args.curve.split(":", 1)
        for name, value in time_curve(args.db, run_id, key).items():
            print(f"curve {name:>20}: {value:10.3f}")


if __name__ == "__main__":
    main()
