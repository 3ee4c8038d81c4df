"""A model trained epoch by epoch, so the dashboard has real loss curves to draw.

``SGDRegressor.partial_fit`` on the sweep's data and split, one pass over the shuffled
training set per epoch, for several learning rates x seeds. Each epoch logs the train and
validation loss (mean squared error in disease-progression units, comparable with the
sweep's MSE) with ``log_metric(..., step=epoch)``. Small learning rates give smooth, slow
curves; large ones noisy curves worth smoothing; seeds give groups to compare.

    python -m demo.stepwise                          # experiment diabetes-sgd
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python demo/<name>.py`: make `demo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo._common import (
    Progress,
    Split,
    add_store_arguments,
    dashboard_link,
    delete_runs,
    diabetes_split,
    finished_runs,
    resolve_uri,
)

EXPERIMENT = "diabetes-sgd"
LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
SEEDS = (0, 1, 2)


def train(split: Split, learning_rate: float, seed: int, epochs: int) -> None:
    """Train one model inside the active run, logging both losses after every epoch."""
    import numpy as np
    from sklearn.linear_model import SGDRegressor

    import carnet

    model = SGDRegressor(
        learning_rate="constant", eta0=learning_rate, fit_intercept=False, random_state=seed
    )
    rng = np.random.default_rng(seed)
    y_train_raw = split.destandardise(split.y_train)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(split.y_train))
        model.partial_fit(split.x_train[order], split.y_train[order])
        train_loss = np.mean((split.destandardise(model.predict(split.x_train)) - y_train_raw) ** 2)
        val_loss = np.mean((split.destandardise(model.predict(split.x_test)) - split.y_test) ** 2)
        carnet.log_metric("train_loss", float(train_loss), step=epoch)
        carnet.log_metric("val_loss", float(val_loss), step=epoch)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; the size flags exist so tests can run a small grid."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.stepwise",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_store_arguments(parser)
    parser.add_argument("--experiment", default=EXPERIMENT, help="default: %(default)s")
    parser.add_argument("--epochs", type=int, default=60, help="default: %(default)s")
    parser.add_argument(
        "--learning-rates", type=float, nargs="+", default=list(LEARNING_RATES), metavar="LR"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), metavar="SEED")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Train what is missing of the grid; returns how many runs it logged."""
    args = parse_args(argv)
    import carnet

    carnet.set_tracking_uri(resolve_uri(args.tracking_uri))
    grid = [(lr, seed) for lr in args.learning_rates for seed in args.seeds]
    if args.fresh:
        deleted = delete_runs(args.experiment)
        if deleted:
            print(f"--fresh: deleted {deleted} earlier runs of {args.experiment!r}")
    done = finished_runs(args.experiment)
    seen: set[tuple[float, int]] = set()
    if done is not None and len(done):
        seen = {
            (float(lr), int(seed))
            for lr, seed in zip(done["params.learning_rate"], done["params.seed"], strict=True)
        }
    todo = [(lr, seed) for lr, seed in grid if (lr, seed) not in seen]
    if not todo:
        print(f"{args.experiment!r} already has its {len(grid)} runs; --fresh to train again")
        return 0

    carnet.set_experiment(args.experiment)
    split = diabetes_split()
    progress = Progress(len(todo), "training", enabled=not args.quiet)
    started = time.perf_counter()
    for learning_rate, seed in todo:
        with carnet.start_run(run_name=f"sgd-lr{learning_rate:g}-s{seed}"):
            carnet.log_params(
                {
                    "learning_rate": learning_rate,
                    "seed": seed,
                    "epochs": args.epochs,
                    "model": "SGDRegressor",
                }
            )
            train(split, learning_rate, seed, args.epochs)
        progress.step()
    elapsed = time.perf_counter() - started
    print(f"trained {len(todo)} runs x {args.epochs} epochs in {elapsed:.2f} s")
    link = dashboard_link(args.dashboard_url, args.experiment, "", "metrics.val_loss ASC")
    print(f"see the curves: {link}")
    return len(todo)


if __name__ == "__main__":
    main(sys.argv[1:])
