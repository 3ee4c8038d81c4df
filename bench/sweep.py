"""(a) Tracking overhead per run on the tutorial's diabetes ElasticNet sweep.

Each process runs the loop untracked, tracked, and untracked again; the
overhead is (tracked - mean untracked) / runs. Store creation happens before
the clock starts, for Carnet and MLflow alike; ``set_experiment`` is timed.
"""

from __future__ import annotations

import tempfile
from typing import Any

from bench import mlflow_env
from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

TARGET_MS = 1.0


def plan(cfg: Config) -> Plan:
    args = {"alphas": cfg.sweep_alphas, "tmp": str(cfg.tmp_dir())}
    runs = 11 * cfg.sweep_alphas
    variants = [Variant("carnet", lambda: run_worker("sweep", "carnet", args))]
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("sweep", args)))

    def summarize(s: Samples) -> list[Row]:
        def ms(variant: str, key: str) -> float | None:
            v = median(s, variant, key)
            return None if v is None else v * 1000

        return [
            Row(
                "a",
                f"overhead per run, {runs}-run sweep (tracked − untracked)",
                "ms",
                ms("carnet", "overhead_per_run_s"),
                baseline=ms("carnet", "untracked_per_run_s"),
                baseline_name="untracked run",
                mlflow=ms("mlflow", "overhead_per_run_s"),
                target=TARGET_MS,
                target_text="≤ 1 ms",
            ),
            Row(
                "a",
                "time inside tracking calls per run",
                "ms",
                ms("carnet", "inside_per_run_s"),
                mlflow=ms("mlflow", "inside_per_run_s"),
                target=TARGET_MS,
                target_text="≤ 1 ms",
            ),
        ]

    return Plan(
        variants,
        summarize,
        notes=[
            "each process: untracked, tracked, untracked again; overhead uses the mean of the "
            "two untracked loops; the second row sums time inside the tracking calls only"
        ],
    )


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    import carnet
    from bench import tutorial

    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        uri = f"sqlite:///{tmp}/carnet.db"
        carnet.set_tracking_uri(uri)
        carnet.Client(uri)  # creates the schema before any timing, as for MLflow
        data = tutorial.load()
        points = tutorial.grid(args["alphas"])
        result = tutorial.paired(data, points, carnet)
        found = carnet.search_runs(
            experiment_names=[tutorial.EXPERIMENT], order_by=["metrics.MSE ASC"]
        )
        if len(found) != len(points):
            raise RuntimeError(f"expected {len(points)} runs, the store has {len(found)}")
        mse = list(found["metrics.MSE"])
        if mse != sorted(mse):
            raise RuntimeError("search_runs did not return the best run first")
        result["found"] = len(found)
    return result
