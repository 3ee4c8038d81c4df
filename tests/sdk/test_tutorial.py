"""The classic MLflow tutorial runs unchanged but for its import line."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import carnet as mlflow
import carnet.sklearn


@pytest.mark.slow
def test_tutorial_sweep(tracking: str) -> None:
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=123)
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    y_mean, y_std = y_train.mean(), y_train.std()
    y_train_n = (y_train - y_mean) / y_std

    mlflow.set_experiment("ml_flow_Essai")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(11):
            r = 0.1 * i
            for a in np.logspace(-5, 1, 30):
                with mlflow.start_run(run_name="Elastic_net"):
                    model = ElasticNet(alpha=a, l1_ratio=r, fit_intercept=False, max_iter=1000)
                    model.fit(x_train, y_train_n)
                    pred = model.predict(x_test) * y_std + y_mean
                    mlflow.log_params({"alpha": a, "l1_ratio": r})
                    mlflow.log_metrics(
                        {"MSE": mean_squared_error(y_test, pred), "R2": r2_score(y_test, pred)}
                    )

    runs = mlflow.search_runs(experiment_names=["ml_flow_Essai"], order_by=["metrics.MSE ASC"])
    assert len(runs) == 330
    assert runs["metrics.MSE"].is_monotonic_increasing
    best = runs.iloc[0]
    assert best["params.l1_ratio"] == "1.0"
    assert float(best["params.alpha"]) == pytest.approx(0.0204336, rel=1e-4)
    assert best["metrics.MSE"] == pytest.approx(2921.77, abs=0.01)
    assert set(runs["status"]) == {"FINISHED"}
    assert set(runs["tags.mlflow.runName"]) == {"Elastic_net"}
    # numpy float64 params keep Python's repr, e.g. 0.30000000000000004
    assert "0.30000000000000004" in set(runs["params.l1_ratio"])
