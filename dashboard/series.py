"""Metric-history arithmetic for charts: smoothing and downsampling, vectorised.

A browser cannot draw a million points per line, and Altair refuses more than
5,000 rows by default, so every series is cut to about 1,000 points before it
reaches a chart. Min/max buckets keep every spike a user would look for
(unlike plain striding, which hides a divergence that lasted a few steps).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

DEFAULT_POINTS = 1_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def minmax_indices(values: FloatArray, max_points: int = DEFAULT_POINTS) -> IntArray:
    """Indices (sorted) of the first, last, minimum and maximum point of each bucket.

    The series is cut into ``max_points // 2`` buckets of equal length; each keeps
    its lowest and highest finite value, so at most ``max_points + 2`` indices
    come back. Non-finite values are never chosen as a bucket's extreme.
    """
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    buckets = max(1, max_points // 2)
    width = -(-n // buckets)  # ceil
    padded = np.full(buckets * width, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, width)
    finite = np.isfinite(grid)
    lows = np.where(finite, grid, np.inf).argmin(axis=1)
    highs = np.where(finite, grid, -np.inf).argmax(axis=1)
    has_value = finite.any(axis=1)
    base = np.arange(buckets, dtype=np.int64) * width
    chosen = np.concatenate(
        [base[has_value] + lows[has_value], base[has_value] + highs[has_value], [0, n - 1]]
    )
    return np.unique(chosen[chosen < n]).astype(np.int64)


def ema(values: FloatArray, weight: float) -> FloatArray:
    """TensorBoard-style exponential moving average (debiased), NaN-tolerant.

    ``weight`` is the smoothing slider in [0, 1): 0 returns the values unchanged.
    Runs in C through pandas, so a million points take milliseconds.
    """
    if weight <= 0 or len(values) == 0:
        return values
    weight = min(weight, 0.999)
    smoothed = pd.Series(values).ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean()
    return smoothed.to_numpy(dtype=np.float64)


def prepare_curve(
    steps: IntArray,
    timestamps: IntArray,
    values: FloatArray,
    *,
    smoothing: float = 0.0,
    max_points: int = DEFAULT_POINTS,
) -> pd.DataFrame:
    """One run's series ready to draw: smoothed, downsampled, with every x axis.

    Columns: step, time (UTC datetime), relative (seconds since the first point),
    value (smoothed when asked) and raw (the logged value).
    """
    values = np.asarray(values, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.int64)
    timestamps = np.asarray(timestamps, dtype=np.int64)
    finite = np.isfinite(values)
    if not finite.all():
        steps, timestamps, values = steps[finite], timestamps[finite], values[finite]
    smooth = ema(values, smoothing)
    keep = minmax_indices(smooth, max_points)
    start = timestamps[0] if len(timestamps) else 0
    return pd.DataFrame(
        {
            "step": steps[keep],
            "time": pd.to_datetime(timestamps[keep], unit="ms", utc=True),
            "relative": (timestamps[keep] - start) / 1000.0,
            "value": smooth[keep],
            "raw": values[keep],
        }
    )
