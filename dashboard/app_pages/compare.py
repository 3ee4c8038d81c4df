"""Compare page: the selected runs (or every matching run) side by side in charts.

Tabs render lazily (only the open one runs), every choice is kept in the URL,
and dragging a rectangle on the scatter narrows the run list under it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import carnet
from dashboard import analysis, charts, data, frames, state, ui

TABS = ("Scatter", "Parallel coordinates", "Heat map", "Box plot", "Curves", "Importance")
MAX_CURVE_RUNS = 20
MAX_BOX_CATEGORIES = 30


def runs_to_compare(ctx: ui.Context, query: str) -> pd.DataFrame | None:
    """The selected runs, else the matching ones (capped); None after a filter error."""
    v = ctx.version
    order = tuple(frames.split_clauses(state.get("sort")))
    selected = tuple(state.get_list("sel"))
    try:
        if selected:
            frame = data.runs_by_id(ctx.uri, v, ctx.exp_ids, selected)
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"Comparing **{len(frame)}** selected runs.")
            right.button(
                "Compare all matching runs", on_click=state.clear_selection, type="tertiary"
            )
            return frame
        n = data.count(ctx.uri, v, ctx.exp_ids, query)
        frame = data.matching(ctx.uri, v, ctx.exp_ids, query, order)
    except carnet.FilterError as exc:
        ui.filter_error(exc)
        return None
    capped = f" (the first {len(frame):,} in sort order)" if n > len(frame) else ""
    st.markdown(
        f"Comparing all **{n:,}** matching runs{capped}. "
        "Select rows on the Runs page to compare only those."
    )
    return frame


def best_metric(keys: frames.Keys) -> tuple[str | None, bool]:
    """The metric the runs page ranks by (so both pages agree on "best")."""
    if not keys.metrics:
        return None, True
    metric = state.get("best")
    metric = metric if metric in keys.metrics else keys.metrics[0]
    direction = state.get("dir")
    lower = frames.lower_is_better(metric) if direction == "" else direction != "max"
    return metric, lower


def best_id(frame: pd.DataFrame, metric: str | None, lower: bool) -> str | None:
    col = "metrics." + metric if metric else ""
    if not col or col not in frame.columns or frame[col].isna().all():
        return None
    values = frame[col].to_numpy(dtype=float)
    position = int(np.nanargmin(values) if lower else np.nanargmax(values))
    return str(frame["run_id"].iloc[position])


def show(chart: charts.AnyChart, key: str | None = None) -> object:
    if key is None:
        return st.altair_chart(chart, width="stretch")
    return st.altair_chart(
        chart, width="stretch", key=key, on_select="rerun", selection_mode=[charts.BRUSH]
    )


def scatter_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    metric, lower = best_metric(keys)
    numeric_cols = keys.columns("params") + keys.columns("metrics")
    metric_cols = keys.columns("metrics")
    c = st.columns([3, 3, 3, 1, 1], vertical_alignment="bottom")
    with c[0]:
        x = ui.select("sx", "x", numeric_cols, numeric_cols[0], format_func=frames.label)
    with c[1]:
        y = ui.select(
            "sy",
            "y (metric)",
            metric_cols,
            "metrics." + metric if metric else metric_cols[0],
            format_func=frames.label,
        )
    with c[2]:
        color = ui.select(
            "sc",
            "colour by",
            ["", *numeric_cols],
            "",
            format_func=lambda v: frames.label(v) if v else "—",
        )
    x_values = frames.numeric(frame[x]) if x in frame.columns else None
    y_values = frames.numeric(frame[y]) if y in frame.columns else None
    with c[3]:
        log_x = ui.toggle("slx", "log x", x_values is not None and frames.spans_decades(x_values))
    with c[4]:
        log_y = ui.toggle("sly", "log y", y_values is not None and frames.spans_decades(y_values))
    chart = charts.scatter(
        frame,
        x,
        y,
        color=color or None,
        log_x=log_x,
        log_y=log_y,
        best_run_id=best_id(frame, metric, lower),
    )
    event = show(chart, key="compare.scatter")
    brushed = brushed_runs(frame, x, y, event)
    if brushed is None:
        st.caption(
            "Drag a rectangle on the chart to list the runs inside it. "
            "The red diamond is the best run."
        )
        return
    st.markdown(f"**{len(brushed)}** runs in the rectangle")
    cols = ["run_name", x, y] + ([color] if color else [])
    table = ui.display_frame(brushed, list(dict.fromkeys(cols)))
    st.dataframe(
        table, hide_index=True, column_config=ui.column_config(list(table.columns)), width="stretch"
    )
    if len(brushed):
        st.button(
            "Compare only these runs",
            on_click=state.put,
            args=("sel", brushed["run_id"].astype(str).tolist()),
        )


def brushed_runs(frame: pd.DataFrame, x: str, y: str, event: object) -> pd.DataFrame | None:
    """Runs inside the scatter's rectangle, or None when nothing is drawn."""
    selection = getattr(event, "selection", None)
    brush = selection.get(charts.BRUSH) if selection is not None else None
    if not brush:
        return None
    mask = pd.Series(True, index=frame.index)
    for field, column in (("x", x), ("y", y)):
        bounds = brush.get(field)
        if not bounds:
            continue
        values = frames.numeric(frame[column])
        if (
            values is not None
            and len(bounds) == 2
            and all(isinstance(b, (int, float)) for b in bounds)
        ):
            lo, hi = sorted(float(b) for b in bounds)
            mask &= values.between(lo, hi)
        else:
            mask &= frame[column].astype(str).isin([str(b) for b in bounds])
    return frame[mask]


def parallel_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    metric, _ = best_metric(keys)
    options = keys.columns("params") + keys.columns("metrics")
    default = keys.columns("params")[:6] + (["metrics." + metric] if metric else [])
    c = st.columns([4, 2], vertical_alignment="bottom")
    with c[0]:
        dims = ui.multiselect("pc", "Axes", options, default, format_func=frames.label)
    with c[1]:
        color = ui.select(
            "pcc",
            "colour by",
            keys.columns("metrics") or [""],
            "metrics." + metric if metric else "",
            format_func=frames.label,
        )
    show(charts.parallel_coordinates(frame, dims, color or None))


def grid_params(frame: pd.DataFrame, keys: frames.Keys) -> list[str]:
    """Params ordered by how many distinct values they take (a sweep's axes first)."""
    cols = keys.columns("params")
    return sorted(cols, key=lambda c: -frame[c].nunique() if c in frame.columns else 0)


def heatmap_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    params = grid_params(frame, keys)
    metric, lower = best_metric(keys)
    if len(params) < 2 or not keys.metrics:
        st.info("A heat map needs two params and a metric.")
        return
    c = st.columns(3)
    with c[0]:
        x = ui.select("hx", "x", params, params[0], format_func=frames.label)
    with c[1]:
        y = ui.select(
            "hy",
            "y",
            [p for p in params if p != x],
            params[1] if params[1] != x else params[0],
            format_func=frames.label,
        )
    with c[2]:
        m = ui.select(
            "hm",
            "metric",
            keys.columns("metrics"),
            "metrics." + str(metric),
            format_func=frames.label,
        )
    low = frames.lower_is_better(frames.key_of(m)) if m != "metrics." + str(metric) else lower
    st.caption(
        f"Each cell shows the {'lowest' if low else 'highest'} value among its runs; "
        "the boxed cell is the best."
    )
    show(charts.heatmap(frame, x, y, m, lower_is_better=low))


def box_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    categorical = sorted(
        (
            c
            for c in keys.columns("params")
            if c in frame.columns and 1 < frame[c].nunique() <= MAX_BOX_CATEGORIES
        ),
        key=lambda c: (frame[c].nunique(), c),
    )
    metric, _ = best_metric(keys)
    if not categorical or not keys.metrics:
        st.info(f"A box plot needs a param with 2 to {MAX_BOX_CATEGORIES} distinct values.")
        return
    c = st.columns(2)
    with c[0]:
        cat = ui.select("bx", "group by", categorical, categorical[0], format_func=frames.label)
    with c[1]:
        m = ui.select(
            "bm",
            "metric",
            keys.columns("metrics"),
            "metrics." + str(metric),
            format_func=frames.label,
        )
    show(charts.box(frame, cat, m))


def curves_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    if not keys.metrics:
        st.info("These runs have no metrics.")
        return
    ctx = ui.context()
    runs = frame.head(MAX_CURVE_RUNS)
    stepped = data.stepped_metrics(ctx.uri, ctx.version, tuple(runs["run_id"].astype(str)))
    options = stepped + [k for k in keys.metrics if k not in stepped]
    metric, _ = best_metric(keys)
    c = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
    with c[0]:
        key = ui.select(
            "cm",
            "metric",
            options,
            stepped[0] if stepped else metric,
            format_func=lambda k: k if k in stepped else f"{k} (one value per run)",
        )
    with c[1]:
        x = ui.select(
            "cx", "x axis", list(charts.X_AXES), "step", format_func=lambda a: charts.X_AXES[a][1]
        )
    with c[2]:
        smoothing = ui.slider(
            "csm",
            "smoothing",
            0.0,
            0.99,
            0.0,
            0.01,
            help="Exponential moving average, as in TensorBoard.",
        )
    with c[3]:
        log_y = ui.toggle("clog", "log y")
    if len(frame) > MAX_CURVE_RUNS:
        st.caption(f"The first {MAX_CURVE_RUNS} runs (select runs on the Runs page to choose).")
    every = 3 if ctx.live else None

    def draw() -> None:
        v = ctx.version
        summaries = data.summaries(ctx.uri, v, tuple(runs["run_id"].astype(str)), key)
        history = data.curves(ctx.uri, runs, key, smoothing, summaries)
        points = sum(n for n, _ in summaries.values())
        st.caption(
            f"{len(summaries)} runs, {points:,} logged points, "
            f"{len(history):,} drawn (each series cut to about 1,000 points)."
        )
        if key not in stepped:
            st.info(
                f"{ui.escape_md(key)} was logged once per run, so each run is a single "
                "point. Log it at several steps (log_metric(..., step=epoch)) for curves."
            )
        show(charts.curves(history, key, x=x, log_y=log_y, smoothed=smoothing > 0))

    st.fragment(run_every=every)(draw)()


def importance_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    metric, _ = best_metric(keys)
    if not keys.metrics or not keys.params:
        st.info("Parameter importance needs params and a metric.")
        return
    m = ui.select("im", "metric", list(keys.metrics), metric)
    table = cached_importance(frame, tuple(keys.columns("params")), "metrics." + m)
    show(charts.importance(table, m))
    if not table.empty:
        st.caption(
            "Spearman's correlation is signed: positive means larger values of the "
            "param go with larger values of the metric. The forest importance also "
            "catches non-monotonic effects."
        )
        st.dataframe(
            table.drop(columns=["abs_correlation"]),
            hide_index=True,
            column_config={
                "correlation": st.column_config.NumberColumn(format="%.3f"),
                "forest": st.column_config.NumberColumn(format="%.3f"),
            },
        )


@st.cache_data(show_spinner="Fitting a small random forest…", max_entries=32)
def cached_importance(frame: pd.DataFrame, params: tuple[str, ...], metric: str) -> pd.DataFrame:
    return analysis.param_importance(frame, list(params), metric)


RENDERERS = {
    "Scatter": scatter_tab,
    "Parallel coordinates": parallel_tab,
    "Heat map": heatmap_tab,
    "Box plot": box_tab,
    "Curves": curves_tab,
    "Importance": importance_tab,
}


def render() -> None:
    ctx = ui.context()
    if not ctx.exp_ids:
        st.info("Choose one or more experiments in the sidebar.")
        return
    st.title("Compare")
    keys_all = data.keys(ctx.uri, ctx.version, ctx.exp_ids)
    query = ui.query_bar(keys_all)
    frame = runs_to_compare(ctx, query)
    if frame is None:
        return
    if frame.empty:
        st.info("No runs to compare.")
        ui.explain_empty(query, keys_all)
        return
    keys = frames.keys_of(frame)
    tab = state.get("tab", TABS[0])
    state.seed("tab", tab if tab in TABS else TABS[0])
    containers = st.tabs(list(TABS), key=state.widget_key("tab"), on_change="rerun")
    for name, container in zip(TABS, containers, strict=True):
        if container.open:
            with container:
                RENDERERS[name](frame, keys)
            state.put("tab", name, default=TABS[0])


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it
    render()
