"""The classic MLflow tutorial loop (diabetes ElasticNet sweep), shared by Carnet and MLflow.

Imports only numpy and scikit-learn, so ``mlflow_runner.py`` can run the very
same loop inside MLflow's environment. ``tracker`` is a module with MLflow's
fluent API (``carnet`` or ``mlflow``), or None for the untracked baseline.
"""

from __future__ import annotations

import time
import warnings
from types import ModuleType
from typing import Any

EXPERIMENT = "ml_flow_Essai"


def load() -> tuple[Any, Any, Any, Any]:
    """The tutorial's data: diabetes, a fixed train/test split."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=42)
    return x_train, x_test, y_train, y_test


def grid(alphas: int = 30) -> list[tuple[float, float]]:
    """(l1_ratio, alpha) pairs: 0.1*i for i in range(11) x np.logspace(-5, 1, alphas)."""
    import numpy as np

    return [(0.1 * i, a) for i in range(11) for a in np.logspace(-5, 1, alphas)]


def fit(data: tuple[Any, Any, Any, Any], alpha: float, l1_ratio: float) -> tuple[float, float]:
    from sklearn.linear_model import ElasticNet
    from sklearn.metrics import mean_squared_error, r2_score

    x_train, x_test, y_train, y_test = data
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, max_iter=1000)
    model.fit(x_train, y_train)
    pred = model.predict(x_test)
    return float(mean_squared_error(y_test, pred)), float(r2_score(y_test, pred))


def sweep(
    data: tuple[Any, Any, Any, Any],
    points: list[tuple[float, float]],
    tracker: ModuleType | None,
) -> tuple[float, float]:
    """Run the loop; return (wall seconds, seconds spent inside tracking calls).

    The second figure is the same overhead measured from the inside: it is
    immune to the noise of the model fits that other jobs on the machine add.
    """
    warnings.simplefilter("ignore")
    clock = time.perf_counter
    start = clock()
    if tracker is None:
        for l1_ratio, alpha in points:
            fit(data, alpha, l1_ratio)
        return clock() - start, 0.0
    inside = 0.0
    tracker.set_experiment(EXPERIMENT)
    inside += clock() - start
    for l1_ratio, alpha in points:
        t = clock()
        with tracker.start_run(run_name="Elastic_net"):
            inside += clock() - t
            mse, r2 = fit(data, alpha, l1_ratio)
            t = clock()
            tracker.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
            tracker.log_metrics({"MSE": mse, "R2": r2})
        inside += clock() - t
    return clock() - start, inside


def paired(
    data: tuple[Any, Any, Any, Any], points: list[tuple[float, float]], tracker: ModuleType
) -> dict[str, float]:
    """Untracked, tracked, untracked again in one process: drift cancels in the difference."""
    fit(data, 1.0, 0.5)  # warm scikit-learn's code paths before any timing
    before, _ = sweep(data, points, None)
    tracked, inside = sweep(data, points, tracker)
    after, _ = sweep(data, points, None)
    untracked = (before + after) / 2
    n = len(points)
    return {
        "runs": n,
        "untracked_s": untracked,
        "tracked_s": tracked,
        "inside_s": inside,
        "overhead_per_run_s": (tracked - untracked) / n,
        "inside_per_run_s": inside / n,
        "untracked_per_run_s": untracked / n,
    }
