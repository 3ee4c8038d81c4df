"""Compare page: the selected runs (or every matching run) side by side in charts.

Tabs render lazily (only the open one runs), every choice is kept in the URL,
and dragging a rectangle on the scatter narrows the run list under it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import carnet
from dashboard import analysis, charts, data, frames, shared_keys, state, ui
from dashboard.shared_keys import BEST_BY, BEST_IS, CURVE_X, SELECTED, SMOOTHING, SORT
from dashboard.state import UrlKey

TABS = ("Scatter", "Parallel coordinates", "Heat map", "Box plot", "Curves", "Importance")
MAX_CURVE_RUNS = 20
MAX_BOX_CATEGORIES = 30

# This page's URL keys (the short names in aliases are what older links carry). Chart
# choices hold column names (``params.alpha``, ``metrics.MSE``); their defaults come
# from the runs shown, so they are declared empty here.
#: The open tab, by its title.
TAB = UrlKey("tab", TABS[0], str)
SCATTER_X = UrlKey("scatter_x", "", str, aliases=("sx",))
SCATTER_Y = UrlKey("scatter_y", "", str, aliases=("sy",))
SCATTER_COLOR = UrlKey("scatter_color", "", str, aliases=("sc",))
SCATTER_LOG_X = UrlKey("scatter_log_x", False, state.flag, aliases=("slx",))
SCATTER_LOG_Y = UrlKey("scatter_log_y", False, state.flag, aliases=("sly",))
PARALLEL_AXES = UrlKey[tuple[str, ...]](
    "parallel_axes", (), state.words, aliases=("pc",), many=True
)
PARALLEL_COLOR = UrlKey("parallel_color", "", str, aliases=("pcc",))
HEATMAP_X = UrlKey("heatmap_x", "", str, aliases=("hx",))
HEATMAP_Y = UrlKey("heatmap_y", "", str, aliases=("hy",))
HEATMAP_METRIC = UrlKey("heatmap_metric", "", str, aliases=("hm",))
#: The categorical param whose values make the boxes.
BOX_BY = UrlKey("box_by", "", str, aliases=("bx",))
BOX_METRIC = UrlKey("box_metric", "", str, aliases=("bm",))
#: A metric key (``loss``, without ``metrics.``).
CURVE_METRIC = UrlKey("curve_metric", "", str, aliases=("cm",))
CURVE_LOG_Y = UrlKey("curve_log_y", False, state.flag, aliases=("clog",))
#: A metric key (``MSE``, without ``metrics.``).
IMPORTANCE_METRIC = UrlKey("importance_metric", "", str, aliases=("im",))
URL_KEYS = (
    *shared_keys.EVERY_PAGE,
    TAB,
    SCATTER_X,
    SCATTER_Y,
    SCATTER_COLOR,
    SCATTER_LOG_X,
    SCATTER_LOG_Y,
    PARALLEL_AXES,
    PARALLEL_COLOR,
    HEATMAP_X,
    HEATMAP_Y,
    HEATMAP_METRIC,
    BOX_BY,
    BOX_METRIC,
    CURVE_METRIC,
    CURVE_X,
    SMOOTHING,
    CURVE_LOG_Y,
    IMPORTANCE_METRIC,
    BEST_BY,
    BEST_IS,
)


def runs_to_compare(ctx: ui.Context, query: str) -> pd.DataFrame | None:
    """The selected runs, else the matching ones (capped); None after a filter error."""
    v = ctx.version
    order = tuple(frames.split_clauses(SORT.read()))
    selected = SELECTED.read()
    try:
        if selected:
            frame = data.runs_by_id(ctx.uri, v, ctx.exp_ids, selected)
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.markdown(f"Comparing **{len(frame)}** selected runs.")
            right.button(
                "Compare all matching runs", on_click=shared_keys.clear_selection, type="tertiary"
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
    metric = BEST_BY.read()
    metric = metric if metric in keys.metrics else keys.metrics[0]
    direction = BEST_IS.read()
    lower = frames.lower_is_better(metric) if direction == "" else direction != "max"
    return metric, lower


def best_id(frame: pd.DataFrame, metric: str | None, lower: bool) -> str | None:
    """The run to mark on the scatter: best by ``metric`` among the runs compared."""
    col = "metrics." + metric if metric else ""
    if not col or col not in frame.columns or frame[col].isna().all():
        return None
    values = frame[col].to_numpy(dtype=float)
    position = int(np.nanargmin(values) if lower else np.nanargmax(values))
    return str(frame["run_id"].iloc[position])


def show(chart: charts.AnyChart, key: str | None = None) -> object:
    """Draw a chart full width; with ``key``, rerun on a rectangle drawn on it."""
    if key is None:
        return st.altair_chart(chart, width="stretch")
    return st.altair_chart(
        chart, width="stretch", key=key, on_select="rerun", selection_mode=[charts.BRUSH]
    )


def scatter_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    """Any key against a metric, coloured by a third; the rectangle lists its runs."""
    metric, lower = best_metric(keys)
    numeric_cols = keys.columns("params") + keys.columns("metrics")
    metric_cols = keys.columns("metrics")
    c = st.columns([3, 3, 3, 1, 1], vertical_alignment="bottom")
    with c[0]:
        x = ui.select(SCATTER_X.name, "x", numeric_cols, numeric_cols[0], format_func=frames.label)
    with c[1]:
        y = ui.select(
            SCATTER_Y.name,
            "y (metric)",
            metric_cols,
            "metrics." + metric if metric else metric_cols[0],
            format_func=frames.label,
        )
    with c[2]:
        color = ui.select(
            SCATTER_COLOR.name,
            "colour by",
            ["", *numeric_cols, *grouping_columns(frame)],
            "",
            format_func=lambda v: frames.label(v) if v else "—",
        )
    x_values = frames.numeric(frame[x]) if x in frame.columns else None
    y_values = frames.numeric(frame[y]) if y in frame.columns else None
    with c[3]:
        wide_x = x_values is not None and frames.spans_decades(x_values)
        log_x = ui.toggle(SCATTER_LOG_X.name, "log x", wide_x)
    with c[4]:
        wide_y = y_values is not None and frames.spans_decades(y_values)
        log_y = ui.toggle(SCATTER_LOG_Y.name, "log y", wide_y)
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
            args=(SELECTED.name, brushed["run_id"].astype(str).tolist()),
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
    """One line per run across chosen params and a metric."""
    metric, _ = best_metric(keys)
    options = keys.columns("params") + keys.columns("metrics")
    default = keys.columns("params")[:6] + (["metrics." + metric] if metric else [])
    c = st.columns([4, 2], vertical_alignment="bottom")
    with c[0]:
        dims = ui.multiselect(
            PARALLEL_AXES.name, "Axes", options, default, format_func=frames.label
        )
    with c[1]:
        color = ui.select(
            PARALLEL_COLOR.name,
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
    """The best value of a metric in each cell of two params (a sweep's grid)."""
    params = grid_params(frame, keys)
    metric, lower = best_metric(keys)
    if len(params) < 2 or not keys.metrics:
        st.info("A heat map needs two params and a metric.")
        return
    c = st.columns(3)
    with c[0]:
        x = ui.select(HEATMAP_X.name, "x", params, params[0], format_func=frames.label)
    with c[1]:
        y = ui.select(
            HEATMAP_Y.name,
            "y",
            [p for p in params if p != x],
            params[1] if params[1] != x else params[0],
            format_func=frames.label,
        )
    with c[2]:
        m = ui.select(
            HEATMAP_METRIC.name,
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


def grouping_columns(frame: pd.DataFrame) -> list[str]:
    """Derived categories runs can be grouped by besides params: the datasets they used."""
    return [frames.DATASET_COLUMN] if frames.DATASET_COLUMN in frame.columns else []


def box_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    """A metric's spread for each value of a categorical param, or of the dataset used."""
    categorical = sorted(
        (
            c
            for c in [*keys.columns("params"), *grouping_columns(frame)]
            if c in frame.columns and 1 < frame[c].nunique() <= MAX_BOX_CATEGORIES
        ),
        key=lambda c: (frame[c].nunique(), c),
    )
    metric, _ = best_metric(keys)
    if not categorical or not keys.metrics:
        st.info(
            f"A box plot needs a param (or datasets) with 2 to {MAX_BOX_CATEGORIES} "
            "distinct values."
        )
        return
    c = st.columns(2)
    with c[0]:
        cat = ui.select(
            BOX_BY.name, "group by", categorical, categorical[0], format_func=frames.label
        )
    with c[1]:
        m = ui.select(
            BOX_METRIC.name,
            "metric",
            keys.columns("metrics"),
            "metrics." + str(metric),
            format_func=frames.label,
        )
    show(charts.box(frame, cat, m))


def curves_tab(frame: pd.DataFrame, keys: frames.Keys) -> None:
    """Metric histories of the first runs, refreshed alone on live refresh."""
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
            CURVE_METRIC.name,
            "metric",
            options,
            stepped[0] if stepped else metric,
            format_func=lambda k: k if k in stepped else f"{k} (one value per run)",
        )
    with c[1]:
        x = ui.select(
            CURVE_X.name,
            "x axis",
            list(charts.X_AXES),
            CURVE_X.default,
            format_func=lambda a: charts.X_AXES[a][1],
        )
    with c[2]:
        smoothing = ui.slider(
            SMOOTHING.name,
            "smoothing",
            0.0,
            0.99,
            SMOOTHING.default,
            0.01,
            help="Exponential moving average, as in TensorBoard.",
        )
    with c[3]:
        log_y = ui.toggle(CURVE_LOG_Y.name, "log y")
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
    """Which params matter for a metric: rank correlation and a small forest."""
    metric, _ = best_metric(keys)
    if not keys.metrics or not keys.params:
        st.info("Parameter importance needs params and a metric.")
        return
    m = ui.select(IMPORTANCE_METRIC.name, "metric", list(keys.metrics), metric)
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
    """Importance fitted once per set of runs (the forest takes a moment)."""
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
    """The page: the filter, the runs compared, and the open tab's chart."""
    state.use(URL_KEYS)
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
    frame = frames.with_datasets(
        frame, data.inputs(ctx.uri, ctx.version, tuple(frame["run_id"].astype(str)))
    )
    keys = frames.keys_of(frame)
    tab = TAB.read()
    containers = st.tabs(
        list(TABS), key=state.seed(TAB.name, tab if tab in TABS else TAB.default), on_change="rerun"
    )
    for name, container in zip(TABS, containers, strict=True):
        if container.open:
            with container:
                RENDERERS[name](frame, keys)
            TAB.write(name)


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it
    render()
