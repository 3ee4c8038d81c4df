"""URL keys that the router or more than one page reads, and the selection they carry.

The router reads the experiments, live refresh and a run link's run before any
page runs; the filter, sort order and selection follow the user from the runs
page to the compare and run pages; the runs and compare pages agree on the best
run, the compare and run pages on how curves are drawn. A key only one page
reads is declared in that page's module. The short names in ``aliases`` are
what links carried before, still read.
"""

from __future__ import annotations

from typing import Any, cast

import streamlit as st

from dashboard import state
from dashboard.state import UrlKey

EXPERIMENTS = UrlKey[tuple[str, ...]]("experiments", (), state.words, aliases=("exp",), many=True)
"""Experiment ids or names (the demo prints names); the router rewrites them as ids."""
FILTER = UrlKey("filter", "", str, aliases=("q",))
"""The filter text, in Carnet's filter language."""
SORT = UrlKey("sort", "", str, widgets=("sortcol", "sortdir"))
"""``order_by`` clauses, comma-separated; the runs page's sort widgets derive from it."""
SELECTED = UrlKey[tuple[str, ...]]("selected", (), state.words, aliases=("sel",), many=True)
"""Run ids picked in the runs table (the compare page compares only these)."""
LIVE = UrlKey("live", False, state.flag)
"""Re-read the store on a timer."""
RUN = UrlKey("run", "", str)
"""The run the run page shows; the router reads it too, to open that run's experiment."""
BEST_BY = UrlKey("best_by", "", str, aliases=("best",))
"""The metric that defines the best run (default: the sorted metric, else the first)."""
BEST_IS = UrlKey("best_is", "", str, aliases=("dir",))
"""``min`` or ``max`` (default: guessed from the metric's name)."""
CURVE_X = UrlKey("curve_x", "step", str, aliases=("cx",))
"""The x axis of metric curves: ``step``, ``time`` or ``relative``."""
SMOOTHING = UrlKey("smoothing", 0.0, float, aliases=("csm",))
"""Exponential moving average weight of metric curves, 0 to 0.99."""

ROUTER_KEYS = (EXPERIMENTS, LIVE, RUN)
"""What the router reads before the page runs; the sidebar's widgets survive page switches."""
EVERY_PAGE = (EXPERIMENTS, FILTER, SORT, SELECTED, LIVE)
"""What every page keeps in its URL, so a link from any page opens the same runs."""

SELECTION_GENERATION = "carnet.selgen"


def clear_selection() -> None:
    """Forget the selected runs, table widgets included (their keys carry a generation)."""
    SELECTED.write(())
    session = cast("dict[str, Any]", st.session_state)
    session[SELECTION_GENERATION] = session.get(SELECTION_GENERATION, 0) + 1


def selection_generation() -> int:
    """Part of the runs table's widget key, so clearing the selection unticks its rows."""
    return int(st.session_state.get(SELECTION_GENERATION, 0))
