"""Every chart builder on its own, through ``chart.to_dict()`` (no Streamlit involved)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dashboard import charts, series

SCRIPT = "<script>alert(1)</script>"


def runs_frame(n_alpha: int = 6, n_l1: int = 3) -> pd.DataFrame:
    """A sweep as search_runs returns it: params as text, metrics as floats."""
    rows = []
    for i, alpha in enumerate(np.logspace(-4, 1, n_alpha)):
        for j, l1 in enumerate(np.linspace(0, 1, n_l1)):
            rows.append(
                {
                    "run_id": f"{i:02d}{j:02d}" + "0" * 28,
                    "run_name": SCRIPT if (i, j) == (0, 0) else f"run-{i}-{j}",
                    "params.alpha": str(alpha),
                    "params.l1_ratio": str(l1),
                    "params.solver": "cd" if j else "lbfgs",
                    "metrics.MSE": 3000 + 100 * abs(np.log10(alpha) + 2) + 50 * (1 - l1),
                    "metrics.r2": 0.5 - i * 0.01,
                }
            )
    return pd.DataFrame(rows)


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("layer", [spec]))


def data_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    name = layer.get("data", spec.get("data", {})).get("name")
    return list(spec["datasets"][name])


def test_scatter_plots_text_params_as_numbers_with_a_brush() -> None:
    spec = charts.scatter(runs_frame(), "params.alpha", "metrics.MSE", log_x=True).to_dict()
    enc = spec["encoding"]
    assert enc["x"]["type"] == "quantitative" and enc["x"]["title"] == "alpha"
    assert enc["x"]["scale"]["type"] == "log"
    assert enc["y"]["field"] == "y" and enc["y"]["title"] == "MSE"
    assert spec["params"][0]["name"] == charts.BRUSH
    assert {t["title"] for t in enc["tooltip"]} == {"run", "alpha", "MSE"}


def test_scatter_marks_the_best_run_and_colours_by_a_category() -> None:
    frame = runs_frame()
    best = frame.loc[frame["metrics.MSE"].idxmin(), "run_id"]
    spec = charts.scatter(
        frame, "params.l1_ratio", "metrics.MSE", color="params.solver", best_run_id=best
    ).to_dict()
    points, star = layers(spec)
    assert points["encoding"]["color"]["type"] == "nominal"
    assert [row["run_id"] for row in data_of(spec, star)] == [best]


def test_scatter_symlog_when_values_are_not_positive() -> None:
    frame = runs_frame()
    frame["metrics.delta"] = np.linspace(-1, 1, len(frame))
    spec = charts.scatter(frame, "params.alpha", "metrics.delta", log_y=True).to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "symlog"


def test_scatter_keeps_run_names_as_data_not_markup() -> None:
    spec = charts.scatter(runs_frame(), "params.alpha", "metrics.MSE").to_dict()
    names = [row["run"] for row in data_of(spec, spec)]
    assert SCRIPT in names


def test_scatter_without_common_values_says_so() -> None:
    frame = runs_frame()
    frame["metrics.empty"] = np.nan
    spec = charts.scatter(frame, "params.alpha", "metrics.empty").to_dict()
    assert spec["mark"]["type"] == "text"


def test_keys_with_dots_and_spaces_are_aliased() -> None:
    frame = runs_frame().rename(columns={"metrics.MSE": "metrics.val loss.mse"})
    spec = charts.scatter(frame, "params.alpha", "metrics.val loss.mse").to_dict()
    assert spec["encoding"]["y"]["field"] == "y"
    assert spec["encoding"]["y"]["title"] == "val loss.mse"


def test_parallel_coordinates_one_row_per_run_folded_by_vega() -> None:
    frame = runs_frame()
    chart = charts.parallel_coordinates(
        frame, ["params.alpha", "params.solver", "metrics.MSE"], "metrics.MSE"
    )
    spec = chart.to_dict()
    _, lines, ticks = layers(spec)
    assert lines["transform"][0]["fold"] == ["n0", "n1", "n2"]
    assert len(data_of(spec, lines)) == len(frame)
    assert "alpha (log)" in lines["encoding"]["x"]["axis"]["labelExpr"]
    rows = data_of(spec, lines)
    assert all(0.0 <= r["n0"] <= 1.0 for r in rows)
    assert {r["text"] for r in data_of(spec, ticks)} >= {"cd", "lbfgs"}


def test_parallel_coordinates_needs_two_axes() -> None:
    spec = charts.parallel_coordinates(runs_frame(), ["params.alpha"]).to_dict()
    assert spec["mark"]["type"] == "text"


def test_parallel_coordinates_stays_under_altair_row_limit() -> None:
    frame = pd.concat([runs_frame(50, 100)], ignore_index=True)  # 5,000 runs
    frame["run_id"] = [f"{i:032d}" for i in range(len(frame))]
    spec = charts.parallel_coordinates(
        frame, ["params.alpha", "params.l1_ratio", "metrics.MSE", "metrics.r2"]
    ).to_dict()
    assert len(data_of(spec, layers(spec)[1])) == 5000


def test_heatmap_best_cell_on_a_grid() -> None:
    frame = runs_frame()
    spec = charts.heatmap(frame, "params.alpha", "params.l1_ratio", "metrics.MSE").to_dict()
    rects, boxed, _ = layers(spec)
    cells = data_of(spec, rects)
    assert len(cells) == 6 * 3
    x_order = rects["encoding"]["x"]["sort"]
    assert [float(v) for v in x_order] == sorted(float(v) for v in x_order)
    best = data_of(spec, boxed)[0]
    assert best["m"] == min(c["m"] for c in cells)
    assert rects["encoding"]["color"]["scale"]["reverse"] is True


def test_heatmap_bins_continuous_params_on_log_edges() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "run_id": [f"{i:032d}" for i in range(300)],
            "run_name": [f"r{i}" for i in range(300)],
            "params.lr": (10 ** rng.uniform(-5, -1, 300)).astype(str),
            "params.wd": rng.uniform(0.2, 1, 300).astype(str),
            "metrics.acc": rng.uniform(0, 1, 300),
        }
    )
    spec = charts.heatmap(
        frame, "params.lr", "params.wd", "metrics.acc", lower_is_better=False
    ).to_dict()
    rects = layers(spec)[0]
    assert rects["encoding"]["x"]["title"] == "lr (log bins)"
    assert rects["encoding"]["y"]["title"] == "wd"
    assert len(rects["encoding"]["x"]["sort"]) == charts.HEAT_BINS
    best = data_of(spec, layers(spec)[1])[0]
    assert best["m"] == max(c["m"] for c in data_of(spec, rects))


def test_box_plot_groups_in_numeric_order() -> None:
    spec = charts.box(runs_frame(), "params.l1_ratio", "metrics.MSE").to_dict()
    boxes, dots = layers(spec)
    assert boxes["mark"]["type"] == "boxplot"
    assert boxes["encoding"]["x"]["sort"] == ["0", "0.5", "1"]
    assert len(data_of(spec, dots)) == 18


def test_curves_x_axes_and_smoothing() -> None:
    steps = np.arange(500)
    curve = series.prepare_curve(
        steps, 1_700_000_000_000 + steps * 1000, np.exp(-steps / 100), smoothing=0.6
    )
    curve["run_id"], curve["run"] = "a" * 32, SCRIPT
    plain = charts.curves(curve, "loss", x="time").to_dict()
    assert plain["encoding"]["x"]["type"] == "temporal"
    assert plain["mark"]["type"] == "line"
    smoothed = charts.curves(curve, "loss", x="relative", smoothed=True, log_y=True).to_dict()
    raw, line = layers(smoothed)
    assert raw["encoding"]["y"]["field"] == "raw" and line["encoding"]["y"]["field"] == "value"
    assert line["encoding"]["y"]["scale"]["type"] == "log"
    assert line["encoding"]["x"]["title"] == "seconds since start"


def test_a_million_points_chart_without_max_rows_error() -> None:
    n = 1_000_000
    steps = np.arange(n)
    values = np.sin(steps / 5000) + np.random.default_rng(1).normal(0, 0.1, n)
    values[123_456] = 50.0  # one spike that must survive downsampling
    curve = series.prepare_curve(steps, 1_700_000_000_000 + steps, values, smoothing=0.0)
    curve["run_id"], curve["run"] = "b" * 32, "long"
    assert len(curve) <= series.DEFAULT_POINTS + 2
    spec = charts.curves(curve, "loss").to_dict()  # raises MaxRowsError above 5,000 rows
    rows = data_of(spec, spec)
    assert max(r["value"] for r in rows) == 50.0


def test_importance_bars() -> None:
    table = pd.DataFrame(
        {
            "param": ["alpha", "l1_ratio"],
            "correlation": [-0.9, 0.1],
            "abs_correlation": [0.9, 0.1],
            "forest": [0.8, 0.2],
        }
    )
    spec = charts.importance(table, "MSE").to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["sort"] == ["alpha", "l1_ratio"]
    assert len(data_of(spec, spec)) == 4
    assert charts.importance(table.iloc[0:0], "MSE").to_dict()["mark"]["type"] == "text"


@pytest.mark.parametrize("builder", ["scatter", "heatmap", "box"])
def test_non_numeric_metric_is_explained(builder: str) -> None:
    frame = runs_frame()
    frame["metrics.MSE"] = np.nan
    if builder == "scatter":
        chart = charts.scatter(frame, "params.alpha", "metrics.MSE")
    elif builder == "heatmap":
        chart = charts.heatmap(frame, "params.alpha", "params.l1_ratio", "metrics.MSE")
    else:
        chart = charts.box(frame, "params.solver", "metrics.MSE")
    assert chart.to_dict()["mark"]["type"] == "text"
