"""Reproduce the sweep's best run from its record, in a fresh environment, bit for bit.

    python -m demo.reproduce                      # into sqlite:///carnet.db
    python -m demo.reproduce --tracking-uri runs.db --env current

It finds the best run of the diabetes sweep that recorded its environment (running
the sweep first, as its own process, when there is none), prints what
``carnet reproduce`` will do, does it (the recorded commit and patch in a temporary
folder, a new environment with the recorded packages, the recorded command against
the same store), and shows both test MSEs with every bit of the float: the
reproduction must give exactly the original's number.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from demo._common import resolve_uri
from demo.diabetes_sweep import EXPERIMENT

HERE = Path(__file__).resolve().parent.parent  # the folder that holds demo/


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line flags; the grid flags are passed to the sweep when it runs here."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.reproduce",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tracking-uri", default=None, help="store URI or SQLite path")
    parser.add_argument("--experiment", default=EXPERIMENT, help="default: %(default)s")
    parser.add_argument(
        "--env",
        choices=("new", "current"),
        default="new",
        help="a fresh environment (default) or this Python",
    )
    parser.add_argument("--manager", choices=("auto", "uv", "pip"), default="auto")
    parser.add_argument(
        "--l1-ratios",
        nargs="+",
        default=None,
        help="passed to the sweep when it runs here (default: the tutorial's)",
    )
    parser.add_argument("--n-alphas", default=None, help="passed to the sweep when it runs here")
    return parser.parse_args(argv)  # fmt: skip


def recorded_best(experiment: str) -> str | None:
    """The best finished run by MSE among the ones that recorded their environment and
    are not reproductions themselves."""
    import carnet

    if carnet.get_experiment_by_name(experiment) is None:
        return None
    runs = carnet.search_runs(
        experiment_names=[experiment],
        filter_string="attributes.status = 'FINISHED'"
        " and tags.`mlflow.carnet.entry_point` IS NOT NULL"
        " and tags.`carnet.reproduces` IS NULL and metrics.MSE IS NOT NULL",
        order_by=["metrics.MSE ASC"],
        max_results=1,
    )
    assert not isinstance(runs, list)
    return str(runs.iloc[0]["run_id"]) if len(runs) else None


def sweep(uri: str, args: argparse.Namespace) -> None:
    """Run the sweep as its own process from the folder holding demo/, recording its
    environment, so its runs' record names ``python -m demo.diabetes_sweep``."""
    command = [sys.executable, "-m", "demo.diabetes_sweep", "--tracking-uri", uri, "--quiet"]
    command += ["--experiment", args.experiment, "--log-models", "none"]
    if args.l1_ratios:
        command += ["--l1-ratios", *args.l1_ratios]
    if args.n_alphas:
        command += ["--n-alphas", args.n_alphas]
    env = dict(os.environ, CARNET_CAPTURE="on")
    print("running the sweep:", " ".join(command[1:]))
    subprocess.run(command, cwd=HERE, env=env, check=True)


def main(argv: Sequence[str] | None = None) -> bool:
    """Reproduce the best run; True when its MSE is the original's, bit for bit."""
    args = parse_args(argv)
    if os.environ.get("CARNET_REPRODUCES"):
        raise SystemExit("demo.reproduce does not run inside a reproduction")
    import carnet
    from carnet.reproduce_plan import make_plan
    from carnet.reproduce_run import compare_metrics, format_comparison, reproduce

    uri = carnet.uri.normalize_uri(resolve_uri(args.tracking_uri))
    carnet.set_tracking_uri(uri)
    best = recorded_best(args.experiment)
    if best is None:
        if carnet.get_experiment_by_name(args.experiment) is not None:
            raise SystemExit(
                f"experiment {args.experiment!r} has runs, but none recorded its environment "
                "(they were logged with CARNET_CAPTURE=off or by an older Carnet): use "
                "--experiment with a new name"
            )
        sweep(uri, args)
        best = recorded_best(args.experiment)
        assert best is not None, "the sweep logged no run"
    client = carnet.Client(uri)
    plan = make_plan(client, best)
    print(plan.describe())
    new = reproduce(client, plan, env=args.env, manager=args.manager)
    original = client.get_run(best)
    print(format_comparison(compare_metrics(original, new), best, new.info.run_id))
    before, after = original.data.metrics["MSE"], new.data.metrics["MSE"]
    same = before.hex() == after.hex()
    print(f"original MSE     {before!r} ({before.hex()})")
    print(f"reproduction MSE {after!r} ({after.hex()})")
    print("bit for bit: " + ("the same" if same else "DIFFERENT"))
    return same


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) else 1)
