"""Runs page: filter, count, sort, page through and select runs; the best one on top.

Only one page of runs is read per render (sorted and paged in the database), so
a 100,000-run experiment opens as fast as a 300-run one. The results live in a
fragment that re-reads the store on a timer when live refresh is on.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

import carnet
from dashboard import data, frames, shared_keys, state, ui
from dashboard.shared_keys import BEST_BY, BEST_IS, SELECTED, SORT
from dashboard.state import UrlKey

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50
DEFAULT_SORT = ("start_time", False)
SORT_ATTRIBUTES = ("start_time", "end_time", "duration", "run_name", "status", "user_id")

# This page's URL keys (the short names in aliases are what older links carry).
COLUMN_GROUPS = tuple("columns." + group for group in frames.GROUPS)
#: The columns shown (default: every metric and param and the user's tags).
COLUMNS = UrlKey[tuple[str, ...]](
    "columns", (), state.words, aliases=("cols",), many=True, widgets=COLUMN_GROUPS
)
#: Hide params, metrics and tags that are the same in every row shown.
ONLY_DIFFERING = UrlKey("only_differing", False, state.flag, aliases=("diff",))
#: The table page shown, from 1.
TABLE_PAGE = UrlKey("page", 1, int, aliases=("pg",))
#: Rows per table page, one of PAGE_SIZES.
PER_PAGE = UrlKey("per_page", DEFAULT_PAGE_SIZE, int, aliases=("n",))
URL_KEYS = (
    *shared_keys.EVERY_PAGE,
    BEST_BY,
    BEST_IS,
    COLUMNS,
    ONLY_DIFFERING,
    TABLE_PAGE,
    PER_PAGE,
)


def sort_controls(keys: frames.Keys) -> tuple[str, ...]:
    """Sort column and direction; returns the ``order_by`` clauses (empty: newest first)."""
    clauses = frames.split_clauses(SORT.read())
    first = frames.parse_order(clauses[0]) if clauses else None
    column, ascending = first or DEFAULT_SORT
    options = list(SORT_ATTRIBUTES) + keys.columns("metrics") + keys.columns("params")
    if column not in options:
        options.append(column)
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        state.seed("sortcol", column)
        chosen = st.selectbox(
            "Sort by",
            options,
            key=state.widget_key("sortcol"),
            format_func=lambda c: (
                f"{frames.group_of(c)[:-1]}: {frames.label(c)}"
                if frames.group_of(c) != "attributes"
                else frames.label(c)
            ),
        )
    with right:
        state.seed("sortdir", "ASC" if ascending else "DESC")
        direction = st.segmented_control(
            "Direction",
            ["ASC", "DESC"],
            key=state.widget_key("sortdir"),
            required=True,
            format_func=lambda d: "↑ asc" if d == "ASC" else "↓ desc",
            label_visibility="hidden",
        )
    asc = direction != "DESC"
    if (chosen, asc) == (column, ascending) and clauses:
        order = tuple(clauses)  # keep tie-breakers a pasted link may carry
    else:
        order = () if (chosen, asc) == DEFAULT_SORT else (frames.order_clause(chosen, asc),)
    SORT.write(", ".join(order))
    return order


def column_chooser(keys: frames.Keys) -> list[str]:
    """Which columns the table shows, chosen by group in a popover."""
    default = frames.default_columns(keys)
    saved = list(COLUMNS.read())
    chosen_before = saved or default
    picked: list[str] = []
    with st.popover("Columns", icon=":material/view_column:"):
        for group in frames.GROUPS:
            options = keys.columns(group)
            if group == "attributes":
                options = [c for c in frames.ATTRIBUTES]
            if not options:
                continue
            key = "columns." + group
            state.seed(key, [c for c in chosen_before if c in options])
            picked += st.multiselect(
                group.capitalize(),
                options,
                key=state.widget_key(key),
                format_func=frames.label,
            )
    COLUMNS.write(picked if picked != default else [])
    return picked


def best_controls(keys: frames.Keys, order: tuple[str, ...]) -> tuple[str | None, bool]:
    """The metric (and direction) that defines the best run."""
    if not keys.metrics:
        return None, True
    sorted_by = frames.parse_order(order[0]) if order else None
    guess = (
        frames.key_of(sorted_by[0])
        if sorted_by and sorted_by[0].startswith("metrics.")
        else keys.metrics[0]
    )
    metric = BEST_BY.read(guess)
    if metric not in keys.metrics:
        metric = guess if guess in keys.metrics else keys.metrics[0]
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        chosen = st.selectbox(
            "Best run by", list(keys.metrics), key=state.seed(BEST_BY.name, metric)
        )
    default_dir = "min" if frames.lower_is_better(chosen) else "max"
    with right:
        direction = st.segmented_control(
            "Best is",
            ["min", "max"],
            key=state.seed(BEST_IS.name, BEST_IS.read(default_dir)),
            required=True,
            format_func=lambda d: "min" if d == "min" else "max",
            label_visibility="hidden",
        )
    BEST_BY.write(chosen)
    BEST_IS.write(direction, default=default_dir)
    return chosen, direction != "max"


def best_card(best: pd.DataFrame, metric: str, lower: bool, keys: frames.Keys) -> str | None:
    """The best run's name, value and params, with a link to its page."""
    if best.empty:
        st.caption(f"No matching run has the metric {ui.escape_md(metric)}.")
        return None
    row = best.iloc[0]
    run_id = str(row["run_id"])
    with st.container(border=True):
        left, right = st.columns([1, 3])
        with left:
            st.metric(ui.best_caption(metric, lower), ui.fmt(row.get("metrics." + metric)))
            st.page_link(
                ui.RUN_PAGE,
                label="Open this run",
                icon=":material/open_in_new:",
                query_params={"run": run_id},
            )
        with right:
            st.caption("Best run")
            st.text(str(row.get("run_name") or run_id))
            shown = ["params." + k for k in keys.params if "params." + k in best.columns]
            if shown:
                params = best[shown].rename(columns=frames.label)
                st.dataframe(params, hide_index=True, width="stretch")
    return run_id


def table_signature(*parts: object) -> str:
    """A short text that changes when any part does: part of the table's widget key."""
    return str(abs(hash(parts)))


def update_selection(page_ids: list[str], picked_rows: list[int]) -> list[str]:
    """Merge this page's picks into the selection kept for every page of the table."""
    selected = list(SELECTED.read())
    on_page = set(page_ids)
    picked = [page_ids[i] for i in picked_rows if 0 <= i < len(page_ids)]
    merged = [r for r in selected if r not in on_page] + picked
    SELECTED.write(merged)
    return merged


def export_button(ctx: ui.Context, query: str, order: tuple[str, ...], columns: list[str]) -> None:
    """CSV of every matching run, built only when clicked (not on every rerun)."""
    uri, exp_ids = ctx.uri, ctx.exp_ids

    def build() -> bytes:  # runs on click, in its own thread: no cache, no st.*
        return data.export_csv(uri, exp_ids, query, order, columns)

    st.download_button(
        "CSV",
        data=build,
        file_name="carnet-runs.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        help="Every matching run (all pages) with the columns shown.",
    )


def results(query: str, order: tuple[str, ...], best_metric: str | None, lower: bool) -> None:
    """Count, best run, the table page and the selection: re-run alone on live refresh."""
    ctx = ui.context()
    v = ctx.version
    keys = data.keys(ctx.uri, v, ctx.exp_ids)
    try:
        total = data.count(ctx.uri, v, ctx.exp_ids, "")
        n = data.count(ctx.uri, v, ctx.exp_ids, query)
    except carnet.FilterError as exc:
        ui.filter_error(exc)
        state.sync_url()
        return
    size = PER_PAGE.read()
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    pages = max(1, math.ceil(n / size))
    signature = table_signature(ctx.exp_ids, query, order, size)
    if st.session_state.get("runs.sig") != signature:
        if "runs.sig" in st.session_state:
            TABLE_PAGE.write(1)
        state.reset_widget(TABLE_PAGE.name)
        st.session_state["runs.sig"] = signature
    current = min(max(1, TABLE_PAGE.read()), pages)
    try:
        frame = data.page(ctx.uri, v, ctx.exp_ids, query, order, (current - 1) * size, size)
    except carnet.FilterError as exc:
        ui.filter_error(exc, what="sort order")
        state.sync_url()
        return
    best_id = None
    if best_metric is not None:
        best = data.best(ctx.uri, v, ctx.exp_ids, query, best_metric, lower)
        best_id = best_card(best, best_metric, lower, keys) if n else None
    bar = st.columns([4, 2, 3, 1], vertical_alignment="center")
    with bar[0]:
        st.markdown(f"**{n:,}** matching runs" + (f" of {total:,}" if query else ""))
    with bar[1]:
        columns = column_chooser(keys)
    with bar[2]:
        diff = st.toggle(
            "Only columns that differ",
            key=state.seed(ONLY_DIFFERING.name, ONLY_DIFFERING.read()),
            help="Hide params, metrics and tags that are the same in every row shown.",
        )
        ONLY_DIFFERING.write(diff)
    if n == 0:
        ui.explain_empty(query, keys)
    shown = [c for c in columns if c in frame.columns or c == "duration"]
    if diff:
        fixed = {c for c in shown if frames.group_of(c) != "attributes"}
        varying = set(frames.differing(frame, fixed))
        shown = [c for c in shown if c not in fixed or c in varying]
    table = ui.display_frame(frame, shown, best_id)
    page_ids = frame["run_id"].astype(str).tolist() if len(frame) else []
    selected = set(SELECTED.read())
    default_rows = [i for i, r in enumerate(page_ids) if r in selected]
    generation = shared_keys.selection_generation()
    key = "runs.table." + table_signature(signature, current, generation)
    styled = (
        table.style.apply(
            lambda row: [
                "background-color: rgba(255, 215, 0, 0.25)" if row.get("best") == "★" else ""
                for _ in row
            ],
            axis=1,
        )
        if best_id in page_ids
        else table
    )
    event = st.dataframe(
        styled,
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        selection_default={"selection": {"rows": default_rows}},
        column_config=ui.column_config(list(table.columns)),
        width="stretch",
        placeholder="",
        height=min(36 + 35 * max(len(table), 1), 720),
    )
    selection = update_selection(page_ids, list(event.selection.rows))
    bottom = st.columns([4, 2, 2], vertical_alignment="center")
    with bottom[0]:
        if pages > 1:
            # No seeding here: st.pagination always has a default (the page to show).
            page_no = st.pagination(
                pages, default=current, key=state.widget_key(TABLE_PAGE.name), max_visible_pages=7
            )
            TABLE_PAGE.write(page_no)
    with bottom[1]:
        new_size = st.selectbox(
            "Rows per page",
            PAGE_SIZES,
            key=state.seed(PER_PAGE.name, size),
            label_visibility="collapsed",
            format_func=lambda s: f"{s} rows per page",
        )
        PER_PAGE.write(new_size)
    with bottom[2]:
        if selection:
            st.page_link(
                ui.COMPARE_PAGE,
                label=f"Compare {len(selection)} selected",
                icon=":material/insights:",
            )
        else:
            st.caption("Select rows to compare them")
    with bar[3]:
        export_button(ctx, query, order, shown)
    if selection:
        st.button(
            f"Clear selection ({len(selection)})",
            on_click=shared_keys.clear_selection,
            type="tertiary",
        )
    state.sync_url()


def render() -> None:
    """The page: filter, sort and best-run controls above the live results."""
    state.use(URL_KEYS)
    ctx = ui.context()
    if not ctx.exp_ids:
        st.info("Choose one or more experiments in the sidebar.")
        return
    keys = data.keys(ctx.uri, ctx.version, ctx.exp_ids)
    st.title(" · ".join(ui.escape_md(n) for n in ctx.names()) or "Runs")
    query = ui.query_bar(keys)
    top = st.columns(2, vertical_alignment="bottom", gap="large")
    with top[0]:
        order = sort_controls(keys)
    with top[1]:
        best_metric, lower = best_controls(keys, order)
    every = 3 if ctx.live else None
    st.fragment(run_every=every)(results)(query, order, best_metric, lower)


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it
    render()
