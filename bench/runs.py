"""(f) Creating runs with 5 params, 5 metrics and 3 tags, through the fluent API.

Each run is what tracking code does: ``start_run(run_name=, tags=)`` as a
context manager, ``log_params``, ``log_metrics``, and the run ends FINISHED.
MLflow creates fewer runs (it is slow); the rates compare.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from bench import mlflow_env
from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, rate, run_worker

TARGET = 2_000


def plan(cfg: Config) -> Plan:
    args = {"runs": cfg.runs, "tmp": str(cfg.tmp_dir())}
    variants = [Variant("carnet", lambda: run_worker("runs", "carnet", args))]
    ml_args = dict(args, runs=cfg.mlflow_runs)
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("runs", ml_args)))

    def summarize(s: Samples) -> list[Row]:
        return [
            Row(
                "f",
                f"runs created ({cfg.runs:,}, 5 params, 5 metrics, 3 tags each)",
                "/s",
                rate(s, "carnet", "runs", "seconds"),
                higher=True,
                mlflow=rate(s, "mlflow", "runs", "seconds"),
                mlflow_note=f"{cfg.mlflow_runs:,} runs",
                target=TARGET,
                target_text="≥ 2,000 runs/s",
            )
        ]

    return Plan(variants, summarize)


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    import carnet

    n = args["runs"]
    clock = time.perf_counter
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        carnet.set_tracking_uri(f"sqlite:///{tmp}/carnet.db")
        carnet.Client()  # schema created before timing, as for MLflow
        carnet.set_experiment("runs")
        start_run, log_params, log_metrics = carnet.start_run, carnet.log_params, carnet.log_metrics
        t = clock()
        for i in range(n):
            tags = {"team": "vision", "stage": "dev", "seed": str(i % 7)}
            with start_run(run_name=f"run-{i}", tags=tags):
                log_params({f"p{k}": i * 0.001 + k for k in range(5)})
                log_metrics({f"m{k}": i * 0.01 + k for k in range(5)})
        seconds = clock() - t
        found = carnet.search_runs(experiment_names=["runs"], filter_string="metrics.m4 >= 0")
        if len(found) != n:
            raise RuntimeError(f"created {n} runs but search finds {len(found)}")
    return {"runs": n, "seconds": seconds}
