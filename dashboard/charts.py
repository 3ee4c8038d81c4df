"""Pure Altair chart builders: a runs frame (or a history frame) in, a chart out.

No ``st.*`` here: every builder is unit-tested through ``chart.to_dict()``.
Frames use Carnet's column names (``metrics.MSE``, ``params.alpha``); a builder
copies the few columns it needs under plain aliases (``x``, ``y``, ...) because
Vega-Lite reads dots in field names as nested access, and puts the real name in
titles and tooltips. Params arrive as text and are plotted as numbers when every
value is one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeAlias

import altair as alt
import numpy as np
import pandas as pd

from dashboard import frames
from dashboard.frames import label

BRUSH = "brush"  # the interval selection a scatter exposes to the page
MAX_CATEGORIES = 40  # grid axes with more distinct values than this are binned
HEAT_BINS = 16
BEST_COLOR = "#d62728"

AnyChart: TypeAlias = alt.Chart | alt.LayerChart | alt.FacetChart
"""What the builders return: all of it goes straight into ``st.altair_chart``."""


def _scale(values: pd.Series, log: bool) -> alt.Scale:
    """A log scale when asked; symlog when some values are zero or negative."""
    if not log:
        return alt.Scale(zero=False)
    v = values.dropna()
    return alt.Scale(type="log") if len(v) and (v > 0).all() else alt.Scale(type="symlog")


def _axis_data(frame: pd.DataFrame, column: str) -> tuple[pd.Series, bool]:
    """The column as numbers when possible (True), else as text categories (False)."""
    as_number = frames.numeric(frame[column])
    if as_number is not None:
        return as_number, True
    text = frame[column].astype(object).where(frame[column].notna(), None)
    return text.map(lambda v: None if v is None else str(v)), False


def _base(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": frame["run_id"].astype(str).to_numpy(),
            "run": frames.run_labels(frame).to_numpy(),
        }
    )


def empty(message: str) -> AnyChart:
    """A blank chart that says why it is blank (better than an exception in the page)."""
    chart: AnyChart = (
        alt.Chart(pd.DataFrame({"text": [message]}))
        .mark_text(fontSize=14, color="gray")
        .encode(text="text:N")
        .properties(height=80)
    )
    return chart


def scatter(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    best_run_id: str | None = None,
) -> AnyChart:
    """Each run as a point: any param or metric against a metric, coloured by a third key.

    Drag a rectangle to select runs (the ``brush`` selection); the best run is a red star.
    """
    data = _base(frame)
    xs, x_numeric = _axis_data(frame, x)
    ys, y_numeric = _axis_data(frame, y)
    data["x"], data["y"] = xs.to_numpy(), ys.to_numpy()
    data = data[data["x"].notna() & data["y"].notna()]
    if data.empty:
        return empty(f"No run has both {label(x)} and {label(y)}.")
    x_enc = (
        alt.X("x:Q", title=label(x), scale=_scale(data["x"], log_x))
        if x_numeric
        else alt.X("x:N", title=label(x), sort=frames.sort_categories(data["x"].tolist()))
    )
    y_enc = (
        alt.Y("y:Q", title=label(y), scale=_scale(data["y"], log_y))
        if y_numeric
        else alt.Y("y:N", title=label(y), sort=frames.sort_categories(data["y"].tolist()))
    )
    tooltip: list[alt.Tooltip] = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip("x:Q" if x_numeric else "x:N", title=label(x), format=".6g")
        if x_numeric
        else alt.Tooltip("x:N", title=label(x)),
        alt.Tooltip("y:Q", title=label(y), format=".6g")
        if y_numeric
        else alt.Tooltip("y:N", title=label(y)),
    ]
    encodings: dict[str, Any] = {"x": x_enc, "y": y_enc}
    if color is not None and color in frame.columns:
        cs, c_numeric = _axis_data(frame.loc[data.index], color)
        data["color"] = cs.to_numpy()
        encodings["color"] = (
            alt.Color("color:Q", title=label(color), scale=alt.Scale(scheme="viridis"))
            if c_numeric
            else alt.Color(
                "color:N", title=label(color), sort=frames.sort_categories(data["color"].tolist())
            )
        )
        tooltip.append(alt.Tooltip("color:Q" if c_numeric else "color:N", title=label(color)))
    brush = alt.selection_interval(name=BRUSH, encodings=["x", "y"])
    points: AnyChart = (
        alt.Chart(data)
        .mark_circle(size=60, opacity=0.8)
        .encode(**encodings, tooltip=tooltip)
        .add_params(brush)
    )
    if best_run_id is None or best_run_id not in set(data["run_id"]):
        return points
    star = (
        alt.Chart(data[data["run_id"] == best_run_id])
        .mark_point(shape="diamond", size=260, filled=True, color=BEST_COLOR)
        .encode(x=x_enc, y=y_enc, tooltip=tooltip)
    )
    return alt.layer(points, star)


def parallel_coordinates(
    frame: pd.DataFrame, dimensions: Sequence[str], color: str | None = None
) -> AnyChart:
    """One line per run across several params and metrics, each axis scaled to [0, 1].

    Numbers that span decades are placed on a log axis; text params are spread
    evenly in sorted order. Axis ends are labelled with their real values. The
    data stays one row per run (folded by Vega-Lite), so 5,000 runs fit Altair's limit.
    """
    dims = [d for d in dimensions if d in frame.columns]
    if len(dims) < 2:
        return empty("Pick at least two params or metrics.")
    data = _base(frame)
    ends: list[tuple[str, float, str]] = []
    names: dict[str, str] = {}
    tooltip: list[alt.Tooltip] = [alt.Tooltip("run:N", title="run")]
    for i, dim in enumerate(dims):
        values, is_number = _axis_data(frame, dim)
        key, name = f"n{i}", label(dim)
        if is_number:
            log = frames.spans_decades(values)
            scaled = np.log10(values.where(values > 0)) if log else values
            lo, hi = scaled.min(), scaled.max()
            norm = (scaled - lo) / (hi - lo) if hi > lo else scaled * 0 + 0.5
            name = f"{name} (log)" if log else name
            ends += [
                (key, 0.0, frames.format_value(values.min())),
                (key, 1.0, frames.format_value(values.max())),
            ]
        else:
            cats = frames.sort_categories(values.tolist())
            pos = {c: (j / (len(cats) - 1) if len(cats) > 1 else 0.5) for j, c in enumerate(cats)}
            norm = values.map(lambda v, pos=pos: pos.get(v) if v is not None else None)
            shown = cats if len(cats) <= 12 else [cats[0], cats[-1]]
            ends += [(key, pos[c], c) for c in shown]
        names[key] = name
        data[key] = pd.to_numeric(norm, errors="coerce").to_numpy()
        data[f"t{i}"] = values.map(frames.format_value).to_numpy()
        tooltip.append(alt.Tooltip(f"t{i}:N", title=name))
    label_expr = f"{json.dumps(names)}[datum.value]"
    x = alt.X(
        "axis:N",
        sort=list(names),
        title=None,
        axis=alt.Axis(labelAngle=0, orient="top", labelExpr=label_expr, labelLimit=160),
    )
    y = alt.Y("norm:Q", axis=None, scale=alt.Scale(domain=[0, 1]))
    color_enc: Any = alt.value("steelblue")
    if color is not None and color in frame.columns:
        cvals, c_numeric = _axis_data(frame, color)
        data["color"] = cvals.to_numpy()
        color_enc = (
            alt.Color("color:Q", title=label(color), scale=alt.Scale(scheme="viridis"))
            if c_numeric
            else alt.Color("color:N", title=label(color))
        )
    lines = (
        alt.Chart(data)
        .transform_fold(list(names), as_=["axis", "norm"])
        .mark_line(opacity=0.45, strokeWidth=1.2)
        .encode(x=x, y=y, detail="run_id:N", color=color_enc, tooltip=tooltip)
    )
    axes = pd.DataFrame(ends, columns=["axis", "norm", "text"])
    rules = alt.Chart(axes).mark_rule(color="#888").encode(x=x)
    ticks = (
        alt.Chart(axes)
        .mark_text(align="left", dx=4, fontSize=10, color="#444")
        .encode(x=x, y=y, text="text:N")
    )
    layered: AnyChart = alt.layer(rules, lines, ticks).properties(width="container", height=380)
    return layered


def _grid_axis(values: pd.Series, is_number: bool) -> tuple[pd.Series, list[str], bool]:
    """Grid cells along one heat-map axis: (cell label per run, label order, binned-on-log).

    Few distinct values (a sweep's grid) become one cell each, in numeric order, so a
    log-spaced grid of alphas is evenly spaced. Many distinct numbers (a random
    search) are binned, on log-spaced edges when they span decades.
    """
    if not is_number:
        cats = frames.sort_categories(values.tolist())
        return values, cats, False
    present = values.dropna()
    if present.nunique() <= MAX_CATEGORIES:
        order_vals = sorted(present.unique())
        names = {v: frames.format_value(v) for v in order_vals}
        return (
            values.map(lambda v: names.get(v) if pd.notna(v) else None),
            list(dict.fromkeys(names[v] for v in order_vals)),
            False,
        )
    log = frames.spans_decades(present)
    lo, hi = float(present.min()), float(present.max())
    edges = (
        np.logspace(np.log10(lo), np.log10(hi), HEAT_BINS + 1)
        if log
        else np.linspace(lo, hi, HEAT_BINS + 1)
    )
    idx = np.clip(
        np.searchsorted(edges, values.to_numpy(dtype=float), side="right") - 1, 0, HEAT_BINS - 1
    )
    names_by_bin = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(HEAT_BINS)]
    cells = pd.Series([names_by_bin[i] for i in idx], index=values.index).where(values.notna())
    return cells, names_by_bin, log


def heatmap(
    frame: pd.DataFrame, x: str, y: str, metric: str, *, lower_is_better: bool = True
) -> AnyChart:
    """The best value of a metric in each (x, y) cell of two params; the best cell boxed.

    This is the tutorial's alpha x l1_ratio view: where is the sweep's sweet spot.
    """
    xs, x_num = _axis_data(frame, x)
    ys, y_num = _axis_data(frame, y)
    ms = frames.numeric(frame[metric])
    if ms is None:
        return empty(f"{label(metric)} is not numeric.")
    xcell, xorder, xlog = _grid_axis(xs, x_num)
    ycell, yorder, ylog = _grid_axis(ys, y_num)
    data = pd.DataFrame(
        {
            "x": xcell.to_numpy(),
            "y": ycell.to_numpy(),
            "m": ms.to_numpy(),
            "run": frames.run_labels(frame).to_numpy(),
        }
    ).dropna(subset=["x", "y", "m"])
    data = data[np.isfinite(data["m"])]
    if data.empty:
        return empty(f"No run has {label(x)}, {label(y)} and {label(metric)}.")
    best_idx = (
        data.groupby(["x", "y"])["m"].idxmin()
        if lower_is_better
        else data.groupby(["x", "y"])["m"].idxmax()
    )
    cells = data.loc[best_idx.to_numpy()].copy()
    counts = data.groupby(["x", "y"]).size().rename("n").reset_index()
    cells = cells.merge(counts, on=["x", "y"])
    word = "min" if lower_is_better else "max"
    x_title = label(x) + (" (log bins)" if xlog else "")
    y_title = label(y) + (" (log bins)" if ylog else "")
    x_enc = alt.X("x:O", sort=xorder, title=x_title, axis=alt.Axis(labelAngle=-45))
    y_enc = alt.Y("y:O", sort=list(reversed(yorder)), title=y_title)
    rects = (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=x_enc,
            y=y_enc,
            color=alt.Color(
                "m:Q",
                title=f"{label(metric)} ({word})",
                scale=alt.Scale(
                    scheme="viridis",
                    reverse=lower_is_better,
                    type="log" if frames.spans_decades(cells["m"]) else "linear",
                ),
            ),
            tooltip=[
                alt.Tooltip("x:O", title=label(x)),
                alt.Tooltip("y:O", title=label(y)),
                alt.Tooltip("m:Q", title=f"{word} {label(metric)}", format=".6g"),
                alt.Tooltip("run:N", title="best run here"),
                alt.Tooltip("n:Q", title="runs in cell"),
            ],
        )
    )
    best = cells.loc[[cells["m"].idxmin() if lower_is_better else cells["m"].idxmax()]]
    mark = (
        alt.Chart(best)
        .mark_rect(fill=None, stroke=BEST_COLOR, strokeWidth=3)
        .encode(x=x_enc, y=y_enc)
    )
    star = alt.Chart(best).mark_text(text="★", color="white", fontSize=14).encode(x=x_enc, y=y_enc)
    # Streamlit fits the whole chart (axes included) into this height.
    height = max(320, 26 * len(yorder) + 140)
    layered: AnyChart = alt.layer(rects, mark, star).properties(height=height)
    return layered


def box(frame: pd.DataFrame, category: str, metric: str) -> AnyChart:
    """Spread of a metric for each value of a categorical param, runs as dots on top."""
    cats, _ = _axis_data(frame, category)
    ms = frames.numeric(frame[metric])
    if ms is None:
        return empty(f"{label(metric)} is not numeric.")
    data = pd.DataFrame(
        {
            "c": cats.map(
                lambda v: None if v is None or v != v else frames.format_value(v)
            ).to_numpy(),
            "m": ms.to_numpy(),
            "run": frames.run_labels(frame).to_numpy(),
        }
    ).dropna(subset=["c", "m"])
    data = data[np.isfinite(data["m"])]
    if data.empty:
        return empty(f"No run has both {label(category)} and {label(metric)}.")
    order = frames.sort_categories(data["c"].tolist())
    x = alt.X("c:N", sort=order, title=label(category), axis=alt.Axis(labelAngle=-45))
    y = alt.Y("m:Q", title=label(metric), scale=alt.Scale(zero=False))
    boxes = alt.Chart(data).mark_boxplot(extent="min-max", opacity=0.6).encode(x=x, y=y)
    dots = (
        alt.Chart(data)
        .mark_circle(size=25, color="black", opacity=0.5)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("run:N", title="run"),
                alt.Tooltip("c:N", title=label(category)),
                alt.Tooltip("m:Q", title=label(metric), format=".6g"),
            ],
        )
    )
    return alt.layer(boxes, dots)


X_AXES = {
    "step": ("step:Q", "step"),
    "time": ("time:T", "wall time"),
    "relative": ("relative:Q", "seconds since start"),
}


def curves(
    history: pd.DataFrame,
    metric: str,
    *,
    x: str = "step",
    log_y: bool = False,
    smoothed: bool = False,
) -> AnyChart:
    """Metric history per run (already downsampled): ``run``, ``step``, ``time``,
    ``relative``, ``value`` and ``raw`` columns. With smoothing, the raw curve stays
    faint behind the smoothed one."""
    if history.empty:
        return empty(f"No history logged for {metric}.")
    field, title = X_AXES.get(x, X_AXES["step"])
    x_enc = alt.X(field, title=title)
    y_scale = _scale(history["value"], log_y)
    color = alt.Color(
        "run:N", title="run", legend=alt.Legend(orient="right", labelLimit=220, symbolLimit=50)
    )
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip(field, title=title),
        alt.Tooltip("value:Q", title=metric, format=".6g"),
    ]
    sparse = history.groupby("run_id").size().max() <= 50  # few points: show them
    line = (
        alt.Chart(history)
        .mark_line(strokeWidth=1.6, point=bool(sparse))
        .encode(
            x=x_enc,
            y=alt.Y("value:Q", title=metric, scale=y_scale),
            color=color,
            detail="run_id:N",
            tooltip=tooltip,
        )
    )
    if not smoothed:
        chart: AnyChart = line.properties(height=380)
        return chart
    raw = (
        alt.Chart(history)
        .mark_line(strokeWidth=1, opacity=0.25)
        .encode(
            x=x_enc,
            y=alt.Y("raw:Q", title=metric, scale=y_scale),
            color=alt.Color("run:N", legend=None),
            detail="run_id:N",
        )
    )
    layered: AnyChart = alt.layer(raw, line).properties(height=380)
    return layered


def importance(table: pd.DataFrame, metric: str) -> AnyChart:
    """Bars per param: |Spearman correlation| with the metric and random-forest importance.

    ``table`` has columns ``param``, ``correlation`` (signed), ``forest`` (0..1).
    """
    if table.empty:
        return empty("Not enough runs with numeric values to rank params.")
    long = table.melt(
        id_vars=["param", "correlation"],
        value_vars=["abs_correlation", "forest"],
        var_name="measure",
        value_name="score",
    )
    long["measure"] = long["measure"].map(
        {"abs_correlation": "|Spearman correlation|", "forest": "random-forest importance"}
    )
    order = table.sort_values("forest", ascending=False)["param"].tolist()
    chart: AnyChart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("param:N", sort=order, title=None),
            x=alt.X("score:Q", title=f"importance for {metric}", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom")),
            yOffset="measure:N",
            tooltip=[
                alt.Tooltip("param:N"),
                alt.Tooltip("measure:N"),
                alt.Tooltip("score:Q", format=".3f"),
                alt.Tooltip("correlation:Q", title="signed correlation", format=".3f"),
            ],
        )
        .properties(height=max(200, 90 + 56 * len(order)))
    )
    return chart
