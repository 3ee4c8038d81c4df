"""Carnet's dashboard: the router. ``streamlit run dashboard/app.py -- --db URI``.

It resolves and opens the store (read-only), asks for a password when one is
configured, draws the sidebar (store, experiments, live refresh) and hands over
to the current page (``app_pages/``). The view lives in the URL (``state.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from carnet.errors import CarnetError  # noqa: E402
from carnet.uri import resolve_uri  # noqa: E402
from dashboard import auth, data, state, ui  # noqa: E402
from dashboard.shared_keys import EXPERIMENTS, LIVE, ROUTER_KEYS, RUN  # noqa: E402

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
LIVE_SECONDS = 3


def store_argument(argv: list[str]) -> str | None:
    """``--db URI`` from the arguments after ``streamlit run app.py --``."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db", default=None)
    known, _ = parser.parse_known_args(argv)
    return known.db  # type: ignore[no-any-return]


def pages() -> list[st.Page]:
    """The four pages, in the order of the top bar; the runs page is the default."""
    return [
        st.Page(
            PAGES_DIR / "runs.py",
            title="Runs",
            icon=":material/table_rows:",
            url_path="runs",
            default=True,
        ),
        st.Page(
            PAGES_DIR / "compare.py",
            title="Compare",
            icon=":material/insights:",
            url_path="compare",
        ),
        st.Page(PAGES_DIR / "run.py", title="Run", icon=":material/description:", url_path="run"),
        st.Page(
            PAGES_DIR / "models.py",
            title="Models",
            icon=":material/deployed_code:",
            url_path="models",
        ),
    ]


def resolve_experiments(tokens: list[str], rows: list[data.ExperimentRow]) -> list[str]:
    """Experiment ids from the URL's experiments: ids or names (the demo prints names)."""
    by_id = {r.experiment_id: r for r in rows}
    by_name = {r.name: r for r in rows}
    out: list[str] = []
    for token in tokens:
        row = by_id.get(token) or by_name.get(token)
        if row is not None and row.experiment_id not in out:
            out.append(row.experiment_id)
    return out


def run_experiment(uri: str, rows: list[data.ExperimentRow]) -> list[str]:
    """A link to a run without experiments opens that run's experiment in the sidebar."""
    run_id = RUN.read()
    if not run_id:
        return []
    try:
        experiment_id = data.run(uri, data.version(uri), run_id).info.experiment_id
    except CarnetError:
        return []
    return [experiment_id] if any(r.experiment_id == experiment_id for r in rows) else []


def sidebar(uri: str, rows: list[data.ExperimentRow]) -> tuple[tuple[str, ...], bool]:
    """Store, experiment choice and live toggle; returns (experiment ids, live)."""
    with st.sidebar:
        st.caption("Store (read-only)")
        st.text(ui.redact(uri))
        labels = {r.experiment_id: f"{r.name} · {r.runs} runs" for r in rows}
        asked = list(EXPERIMENTS.read())
        wanted = resolve_experiments(asked, rows)
        if asked and not wanted:
            st.warning("The link names experiments this store does not have.")
        # the most recent experiment with runs: not an empty Default the store opened with
        used = next((r for r in rows if r.runs), rows[0] if rows else None)
        default = wanted or run_experiment(uri, rows) or ([used.experiment_id] if used else [])
        key = state.widget_key(EXPERIMENTS.name)
        if key in st.session_state and not set(st.session_state[key]) <= set(labels):
            del st.session_state[key]  # an experiment was deleted meanwhile
        chosen = st.multiselect(
            "Experiments",
            options=list(labels),
            format_func=lambda eid: labels.get(eid, eid),
            key=state.seed(EXPERIMENTS.name, default),
            placeholder="Choose experiments",
            help="Most recently used first. Type to search.",
        )
        EXPERIMENTS.write(chosen)
        live = st.toggle(
            "Live refresh",
            key=state.seed(LIVE.name, LIVE.read()),
            help=f"Re-read the store every {LIVE_SECONDS} s so running runs update in place.",
        )
        LIVE.write(live)
    return tuple(chosen), live


def main() -> None:
    """One run of the app: gate, store, sidebar, then the page, then the URL."""
    st.set_page_config(page_title="Carnet", page_icon="📓", layout="wide")
    if not auth.gate():
        # Still route (hidden): the page asked for and its query string stay in the URL,
        # so signing in from a pasted ``/run?run=...`` link lands on that run.
        st.navigation(pages(), position="hidden")
        return
    state.load_url()
    state.adopt(ROUTER_KEYS)
    try:
        uri = resolve_uri(store_argument(sys.argv[1:]))
    except CarnetError as exc:
        st.error(f"The store address is not valid: {ui.escape_md(exc)}")
        return
    navigation = st.navigation(pages(), position="top")
    problem = data.store_problem(uri)
    try:
        rows = [] if problem else data.experiments(uri, data.version(uri))
    except data.READ_ERRORS as exc:  # a store damaged under a running dashboard
        rows, problem = [], f"the store could not be read: {data.read_error_text(exc)}"
    if problem or not rows or not any(r.runs for r in rows):
        ui.welcome(uri, problem)
        return
    exp_ids, live = sidebar(uri, rows)
    ui.set_context(ui.Context(uri=uri, exp_ids=exp_ids, experiments=tuple(rows), live=live))
    state.on_page(navigation.url_path or "runs", keep=ROUTER_KEYS)
    try:
        navigation.run()
    except data.READ_ERRORS as exc:
        st.error(
            f"The store could not be read: {ui.escape_md(data.read_error_text(exc))}. "
            "Reload the page; if it persists, check the store with `carnet db check`."
        )
        return
    state.sync_url()


if __name__ == "__main__":  # `streamlit run` executes this file as __main__
    main()
