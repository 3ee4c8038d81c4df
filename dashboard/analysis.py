"""Which params matter for a metric: rank correlation and a small random forest.

Two views on purpose: Spearman's correlation is instant and signed (does a
larger alpha help or hurt?), while a forest also catches non-monotonic effects
and interactions. Pure functions over a runs frame; the page caches them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard import frames

MAX_ROWS = 2_000
MIN_ROWS = 5


def encoded_params(frame: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """Params as numbers: numeric text parsed, categories as their sorted rank."""
    out = {}
    for col in params:
        if col not in frame.columns:
            continue
        as_number = frames.numeric(frame[col])
        if as_number is None:
            cats = frames.sort_categories(frame[col].tolist())
            rank = {c: float(i) for i, c in enumerate(cats)}
            as_number = (
                frame[col]
                .map(lambda v, rank=rank: rank.get(str(v), np.nan) if v is not None else np.nan)
                .astype("float64")
            )
        if as_number.nunique(dropna=True) > 1:
            out[col] = as_number
    return pd.DataFrame(out, index=frame.index)


def param_importance(
    frame: pd.DataFrame, params: Sequence[str], metric: str, *, seed: int = 0
) -> pd.DataFrame:
    """One row per varying param: ``param`` (label), ``correlation`` (signed Spearman),
    ``abs_correlation`` and ``forest`` (random-forest importance, summing to 1).

    Empty when fewer than five runs have the metric or no param varies.
    """
    columns = ["param", "correlation", "abs_correlation", "forest"]
    y = frames.numeric(frame[metric]) if metric in frame.columns else None
    if y is None:
        return pd.DataFrame(columns=columns)
    keep = np.isfinite(y.to_numpy(dtype=float))
    x = encoded_params(frame.loc[keep], params)
    y = y[keep]
    if len(y) < MIN_ROWS or x.empty:
        return pd.DataFrame(columns=columns)
    if len(y) > MAX_ROWS:
        sample = y.sample(MAX_ROWS, random_state=seed).index
        x, y = x.loc[sample], y.loc[sample]
    correlation = x.apply(lambda col: col.corr(y, method="spearman")).fillna(0.0)

    from sklearn.ensemble import RandomForestRegressor

    filled = x.fillna(x.min() - 1.0)
    forest = RandomForestRegressor(
        n_estimators=50,
        min_samples_leaf=3,
        max_depth=10,
        max_features=1.0,
        random_state=seed,
        n_jobs=1,
    )
    forest.fit(filled.to_numpy(), y.to_numpy())
    return pd.DataFrame(
        {
            "param": [frames.label(c) for c in x.columns],
            "correlation": correlation.to_numpy(),
            "abs_correlation": correlation.abs().to_numpy(),
            "forest": forest.feature_importances_,
        }
    ).sort_values("forest", ascending=False, ignore_index=True)
