"""What the demos share: the store flag, the tutorial's data split, a progress bar, links.

Kept free of Carnet-specific calls beyond MLflow's names, so each demo reads like the
tutorial code a data scientist already has.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEFAULT_URI = "sqlite:///carnet.db"
DEFAULT_DASHBOARD = "http://localhost:8501"


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every demo takes: where the store is and whether to start over."""
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="store URI or SQLite path (default: $CARNET_TRACKING_URI, else " + DEFAULT_URI + ")",
    )
    parser.add_argument(
        "--fresh",
        "--force",
        action="store_true",
        help="delete the experiment's earlier runs and log them again",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--dashboard-url",
        default=os.environ.get("CARNET_DASHBOARD_URL", DEFAULT_DASHBOARD),
        help="base URL printed in the link to the result (default: %(default)s)",
    )


def resolve_uri(flag: str | None) -> str:
    """The flag, else the environment, else the default: the order the SDK uses."""
    return flag or os.environ.get("CARNET_TRACKING_URI") or DEFAULT_URI


@dataclass(frozen=True)
class Split:
    """The tutorial's data after its normalisation, plus the constants it used."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray  # standardised
    y_test: np.ndarray  # raw: predictions are de-standardised before scoring
    x_mean: float
    x_std: float
    y_mean: float
    y_std: float

    def destandardise(self, y: np.ndarray) -> np.ndarray:
        """Model output back to disease-progression units."""
        return y * self.y_std + self.y_mean


def diabetes_split() -> Split:
    """Exactly the classic tutorial's preparation, so its published best run reproduces.

    X is scaled by one scalar mean and standard deviation of the whole training matrix
    (not per column), y is standardised, and the test target stays raw.
    """
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=123)
    x_mean, x_std = float(x_train.mean()), float(x_train.std())
    y_mean, y_std = float(y_train.mean()), float(y_train.std())
    return Split(
        x_train=(x_train - x_mean) / x_std,
        x_test=(x_test - x_mean) / x_std,
        y_train=(y_train - y_mean) / y_std,
        y_test=y_test,
        x_mean=x_mean,
        x_std=x_std,
        y_mean=y_mean,
        y_std=y_std,
    )


def clinical_split() -> tuple[Any, Any, Any, Any]:
    """The same train and test rows as :func:`diabetes_split`, in clinical units (age in
    years, BMI, blood pressure...), as a DataFrame with the dataset's column names."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=123)
    return x_train, x_test, y_train, y_test


class Progress:
    """A one-line progress bar on stderr; one line per quarter when stderr is not a terminal."""

    def __init__(self, total: int, label: str, enabled: bool = True, out: TextIO | None = None):
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.done = 0
        self.started = time.perf_counter()
        self._last_quarter = -1

    def step(self, n: int = 1) -> None:
        """Count ``n`` more items done and redraw."""
        self.done += n
        if not self.enabled:
            return
        frac = self.done / self.total
        if self.tty:
            width = 30
            bar = "#" * int(frac * width)
            self.out.write(
                f"\r{self.label} [{bar:<{width}}] {self.done}/{self.total} "
                f"{time.perf_counter() - self.started:5.1f}s"
            )
            if self.done >= self.total:
                self.out.write("\n")
            self.out.flush()
        elif int(frac * 4) != self._last_quarter:
            self._last_quarter = int(frac * 4)
            print(f"{self.label}: {self.done}/{self.total}", file=self.out, flush=True)


def finished_runs(experiment: str) -> pd.DataFrame | None:
    """The experiment's finished runs, or None when it does not exist yet."""
    import carnet

    if carnet.get_experiment_by_name(experiment) is None:
        return None
    runs = carnet.search_runs(experiment_names=[experiment])
    assert not isinstance(runs, list)
    return runs[runs["status"] == "FINISHED"] if len(runs) else runs


def delete_runs(experiment: str) -> int:
    """Soft-delete every run of the experiment (what --fresh does); returns how many."""
    import carnet

    if carnet.get_experiment_by_name(experiment) is None:
        return 0
    runs = carnet.search_runs(experiment_names=[experiment])
    assert not isinstance(runs, list)
    for run_id in runs["run_id"]:
        carnet.delete_run(run_id)
    return len(runs)


def dashboard_link(base: str, experiment: str, query: str, sort: str) -> str:
    """A dashboard URL opening the experiment with this query and sort order.

    Parameter names (docs/dashboard.md lists them all): ``experiments`` (an
    experiment's name works as well as its id), ``filter`` and ``sort`` (order_by).
    """
    params = {"experiments": experiment, "filter": query, "sort": sort}
    return f"{base.rstrip('/')}/?{urlencode(params, quote_via=quote)}"
