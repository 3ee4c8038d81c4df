"""Run by MLflow's own interpreter against one of several Carnet servers sharing a store:
``shared_writer.py EXPERIMENT LABEL RUNS``. Logs RUNS runs into EXPERIMENT (which exists)
with params, tags, batched and single metric points, ends them (every third FAILED), and
prints their ids and what each should hold as one JSON line."""

from __future__ import annotations

import json
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

experiment, label, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = MlflowClient()
exp = client.get_experiment_by_name(experiment)
assert exp is not None, experiment
out: dict[str, dict[str, object]] = {}
for n in range(runs):
    with mlflow.start_run(experiment_id=exp.experiment_id, run_name=f"{label}-{n}") as run:
        run_id = run.info.run_id
        mlflow.log_params({"label": label, "n": n})
        mlflow.set_tag("writer", label)
        now = int(time.time() * 1000)
        for b in range(4):
            client.log_batch(
                run_id,
                metrics=[Metric("loss", s * 0.5, now, s) for s in range(b * 250, b * 250 + 250)],
            )
        for s in range(20):
            mlflow.log_metric("acc", s / 20, step=s)
        status = "FAILED" if n % 3 == 2 else "FINISHED"
        if status == "FAILED":
            mlflow.end_run("FAILED")
    out[run_id] = {"loss": 1000, "acc": 20, "status": status, "label": label}
print(json.dumps(out))
