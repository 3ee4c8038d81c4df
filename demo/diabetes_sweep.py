"""The classic MLflow tutorial sweep, logged into Carnet: 11 l1_ratios x 30 alphas.

An ElasticNet on scikit-learn's diabetes data (shipped with scikit-learn: no download),
prepared exactly as the tutorial does, so its published answer reproduces: the best run
has l1_ratio 1.0, alpha ~ 0.0204336 and a test MSE of ~ 2921.77.

    python -m demo.diabetes_sweep                     # into sqlite:///carnet.db
    python -m demo.diabetes_sweep --tracking-uri runs.db --fresh

Running it again does nothing when the experiment already has its runs (an interrupted
sweep resumes where it stopped); ``--fresh`` deletes them and sweeps again. Run by
``carnet reproduce`` (see ``python -m demo.reproduce``), it sweeps the whole grid again
beside the runs it reproduces and deletes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python demo/<name>.py`: make `demo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo._common import (
    Progress,
    Split,
    add_store_arguments,
    clinical_split,
    dashboard_link,
    delete_runs,
    diabetes_split,
    finished_runs,
    resolve_uri,
)

EXPERIMENT = "diabetes-elasticnet"
MODEL_PATH = "model"
HAS_MODEL_TAG = "has_model"
#: The registered model the best run's model becomes a version of, and the alias it gets.
REGISTERED_MODEL = "diabetes"
CHAMPION = "champion"


@dataclass(frozen=True)
class Best:
    """The winning run, as read back from the store."""

    run_id: str
    l1_ratio: float
    l1_ratio_text: str  # as stored, for an exact-match query
    alpha: float
    mse: float
    r2: float


def l1_ratios(steps: int = 11) -> list[float]:
    """The tutorial's grid, float noise included (0.1*3 is 0.30000000000000004)."""
    return [0.1 * i for i in range(steps)]


def alphas(count: int = 30) -> list[float]:
    """The tutorial's alphas: 30 points from 1e-5 to 10 on a log scale."""
    import numpy as np

    return [float(a) for a in np.logspace(-5, 1, count)]


def fit(split: Split, alpha: float, l1_ratio: float) -> tuple[object, float, float]:
    """One tutorial fit: returns the model, test MSE and R2 in disease-progression units."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet
    from sklearn.metrics import mean_squared_error, r2_score

    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, max_iter=1000)
    with warnings.catch_warnings():
        # Small alphas do not converge in 1000 iterations; the tutorial accepts that.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(split.x_train, split.y_train)
    predicted = split.destandardise(model.predict(split.x_test))
    return (
        model,
        float(mean_squared_error(split.y_test, predicted)),
        float(r2_score(split.y_test, predicted)),
    )


def clinical_model(alpha: float, l1_ratio: float) -> object:
    """The tutorial's Elastic-Net with these hyper-parameters as a model a clinic can call:
    it takes the patient's measurements in clinical units (named columns) and answers in
    disease-progression units, standardising inputs and target itself."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, _, y_train, _ = clinical_split()
    model = TransformedTargetRegressor(
        regressor=make_pipeline(
            StandardScaler(),
            ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, max_iter=1000),
        ),
        transformer=StandardScaler(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return model


def log_model(alpha: float, l1_ratio: float) -> None:
    """Log the run's model in clinical units into the active run, with its signature and an
    input example (inferred from three training rows)."""
    import carnet
    import carnet.sklearn

    x_train, _, _, _ = clinical_split()
    carnet.sklearn.log_model(
        clinical_model(alpha, l1_ratio), name=MODEL_PATH, input_example=x_train.head(3)
    )
    carnet.set_tag(HAS_MODEL_TAG, "true")


def crown(run_id: str) -> str:
    """Make the run's model the ``champion`` of the registered model ``diabetes`` (a new
    version, unless the champion is already that run's); returns the champion's version."""
    import carnet

    client = carnet.MlflowClient()
    try:
        current = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
        if current.run_id == run_id:
            return str(current.version)
    except carnet.NotFoundError:
        pass
    version = carnet.register_model(f"runs:/{run_id}/{MODEL_PATH}", REGISTERED_MODEL)
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, version.version)
    return str(version.version)


def best_run(experiment: str) -> Best:
    """The best finished run by test MSE, found by query as a user would."""
    import carnet

    runs = carnet.search_runs(
        experiment_names=[experiment],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["metrics.MSE ASC"],
        max_results=1,
    )
    assert not isinstance(runs, list)
    if not len(runs):
        raise SystemExit(f"experiment {experiment!r} has no finished runs")
    row = runs.iloc[0]
    return Best(
        run_id=str(row["run_id"]),
        l1_ratio=float(row["params.l1_ratio"]),
        l1_ratio_text=str(row["params.l1_ratio"]),
        alpha=float(row["params.alpha"]),
        mse=float(row["metrics.MSE"]),
        r2=float(row["metrics.R2"]),
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; the size flags exist so tests can run a small grid."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.diabetes_sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_arguments(parser)
    parser.add_argument("--experiment", default=EXPERIMENT, help="default: %(default)s")
    parser.add_argument(
        "--log-models",
        choices=("best", "all", "none"),
        default="best",
        help="log the best run's model (default), every run's, or none",
    )
    parser.add_argument(
        "--l1-ratios",
        type=float,
        nargs="+",
        default=None,
        help="l1_ratio values (default: the tutorial's 0.1*i for i in 0..10)",
    )
    parser.add_argument("--n-alphas", type=int, default=30, help="alphas in logspace(-5, 1)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Best:
    """Run the sweep (or what is missing of it), log the best model, print the result."""
    args = parse_args(argv)
    import carnet

    carnet.set_tracking_uri(resolve_uri(args.tracking_uri))
    grid = [(r, a) for r in (args.l1_ratios or l1_ratios()) for a in alphas(args.n_alphas)]

    if os.environ.get("CARNET_REPRODUCES"):
        # `carnet reproduce` runs this again beside the runs it reproduces: every point is
        # fitted again (nothing skipped as done) and nothing is deleted.
        args.fresh = False
    if args.fresh:
        deleted = delete_runs(args.experiment)
        if deleted:
            print(f"--fresh: deleted {deleted} earlier runs of {args.experiment!r}")
    done = None if os.environ.get("CARNET_REPRODUCES") else finished_runs(args.experiment)
    seen: set[tuple[float, float]] = set()
    if done is not None and len(done):
        seen = {
            (float(r), float(a))
            for r, a in zip(done["params.l1_ratio"], done["params.alpha"], strict=True)
        }
    todo = [(r, a) for r, a in grid if (r, a) not in seen]

    carnet.set_experiment(args.experiment)
    split = diabetes_split()
    if not todo:
        print(f"{args.experiment!r} already has its {len(grid)} runs; --fresh to sweep again")
    else:
        if seen:
            print(f"resuming: {len(grid) - len(todo)} of {len(grid)} runs are already there")
        progress = Progress(len(todo), "sweep", enabled=not args.quiet)
        started = time.perf_counter()
        for l1_ratio, alpha in todo:
            with carnet.start_run(run_name="Elastic_net"):
                _, mse, r2 = fit(split, alpha, l1_ratio)
                carnet.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
                carnet.log_metrics({"MSE": mse, "R2": r2})
                if args.log_models == "all":
                    log_model(alpha, l1_ratio)
            progress.step()
        elapsed = time.perf_counter() - started
        print(
            f"logged {len(todo)} runs in {elapsed:.2f} s ({elapsed / len(todo) * 1e3:.1f} ms/run)"
        )

    best = best_run(args.experiment)
    if args.log_models == "best":
        run = carnet.get_run(best.run_id)
        if run.data.tags.get(HAS_MODEL_TAG) != "true":
            # Carnet takes no data into a finished run, so resume it (as MLflow users do).
            with carnet.start_run(run_id=best.run_id):
                log_model(best.alpha, best.l1_ratio)
    champion = None
    if args.log_models != "none":
        champion = crown(best.run_id)

    query = f"params.l1_ratio = '{best.l1_ratio_text}'"
    print(
        f"best run {best.run_id}: l1_ratio={best.l1_ratio_text} alpha={best.alpha:.7g} "
        f"MSE={best.mse:.2f} R2={best.r2:.4f}"
    )
    if champion is not None:
        uri = f"models:/{REGISTERED_MODEL}"
        print(f"registered: {uri}/{champion}, the champion: {uri}@{CHAMPION}")
    print(
        f"see it: {dashboard_link(args.dashboard_url, args.experiment, query, 'metrics.MSE ASC')}"
    )
    return best


if __name__ == "__main__":
    main(sys.argv[1:])
