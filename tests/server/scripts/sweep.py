"""Run by MLflow's own interpreter against a Carnet server (MLFLOW_TRACKING_URI): ordinary
MLflow tracking code, the tutorial's sweep and more. Prints what it saw as one JSON line;
the test checks it, and reads the same store through Carnet's SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

import matplotlib.pyplot as plt  # the runner sets MPLBACKEND=Agg: no display needed
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

BIG_FILE_BYTES = 9 * 1024 * 1024  # above the server's in-memory download size
out: dict[str, object] = {}
client = MlflowClient()
work = Path(tempfile.mkdtemp(prefix="sweep-"))

# -- the tutorial's sweep -------------------------------------------------------------------
experiment = mlflow.set_experiment("sweep")
out["experiment_id"] = experiment.experiment_id
out["experiment_artifact_location"] = experiment.artifact_location
sweep: dict[str, dict[str, float]] = {}
for alpha in (0.1, 0.5, 1.0):
    for l1 in (0.0, 0.5):
        with mlflow.start_run(run_name=f"alpha={alpha},l1={l1}") as run:
            mlflow.log_param("alpha", alpha)
            mlflow.log_params({"l1_ratio": l1, "solver": "saga"})
            for step in range(10):
                mlflow.log_metric("loss", (1 - alpha / 2) ** step + l1, step=step)
            mlflow.log_metrics({"rmse": alpha + l1, "r2": 1 - alpha})
            mlflow.set_tag("team", "vision")
            mlflow.set_tags({"stage": "sweep"})
        sweep[run.info.run_id] = {"alpha": alpha, "l1": l1}
out["sweep"] = sweep
out["sweep_status"] = [client.get_run(r).info.status for r in sweep]
out["run_artifact_uri"] = client.get_run(next(iter(sweep))).info.artifact_uri

# -- nested runs ----------------------------------------------------------------------------
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("folds", 2)
    for i in range(2):
        with mlflow.start_run(run_name=f"fold-{i}", nested=True):
            mlflow.log_metric("fold_score", 0.5 + i)
out["parent"] = parent.info.run_id
children = client.search_runs(
    [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
)
out["children"] = sorted(r.info.run_id for r in children)

# -- searches -------------------------------------------------------------------------------
found = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="params.solver = 'saga' and metrics.rmse < 1.2",
    order_by=["metrics.rmse ASC"],
)
out["filtered"] = list(found["run_id"])
out["filtered_rmse"] = [float(v) for v in found["metrics.rmse"]]
pages: list[list[str]] = []
token = None
while True:
    page = client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.stage = 'sweep'",
        order_by=["params.alpha DESC"],
        max_results=2,
        page_token=token,
    )
    pages.append([r.info.run_id for r in page])
    token = page.token
    if not token:
        break
out["pages"] = pages
out["page_alphas"] = [float(client.get_run(r).data.params["alpha"]) for p in pages for r in p]
mlflow.create_experiment("swap-2", tags={"owner": "ana"})
out["experiments_like"] = sorted(
    e.name for e in client.search_experiments(filter_string="name LIKE 'sw%'")
)
out["all_experiments"] = sorted(e.name for e in mlflow.search_experiments())
out["experiment_tags"] = mlflow.get_experiment_by_name("swap-2").tags

# -- histories, special values, the Default experiment ----------------------------------------
first = next(iter(sweep))
out["history"] = [[m.step, m.value] for m in client.get_metric_history(first, "loss")]
with mlflow.start_run(experiment_id="0", run_name="special") as special:
    for step, value in enumerate([float("nan"), float("inf"), float("-inf"), 1e-300, 2.5]):
        mlflow.log_metric("weird", value, step=step)
    special_data = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), source="/data/x.csv")
    mlflow.log_input(special_data, context="training")
out["special"] = special.info.run_id
out["special_dataset"] = special_data._to_mlflow_entity().to_dictionary()
out["special_inputs"] = [
    [i.dataset.name, i.dataset.digest, {t.key: t.value for t in i.tags}]
    for i in client.get_run(special.info.run_id).inputs.dataset_inputs
]
out["special_history"] = [
    repr(m.value) for m in client.get_metric_history(special.info.run_id, "weird")
]

# -- experiment and run housekeeping --------------------------------------------------------
scratch = client.create_experiment("scratch", tags={"a": "1"})
client.set_experiment_tag(scratch, "b", "2")
client.delete_experiment_tag(scratch, "a")
client.rename_experiment(scratch, "scratch-renamed")
client.delete_experiment(scratch)
out["scratch_deleted"] = client.get_experiment(scratch).lifecycle_stage
out["active_names"] = sorted(e.name for e in client.search_experiments())
client.restore_experiment(scratch)
restored = client.get_experiment(scratch)
out["scratch"] = [restored.name, restored.lifecycle_stage, restored.tags]
chore = client.create_run(scratch, run_name="chore", tags={"temp": "x", "keep": "y"})
client.delete_tag(chore.info.run_id, "temp")
client.update_run(chore.info.run_id, name="chore-renamed")
client.set_terminated(chore.info.run_id, status="KILLED")
chore_after = client.get_run(chore.info.run_id)
out["chore"] = [
    chore_after.info.run_name,
    chore_after.info.status,
    chore_after.info.end_time is not None,
    sorted(k for k in chore_after.data.tags if not k.startswith("mlflow.")),
]

# -- delete and restore ---------------------------------------------------------------------
victim = first
client.delete_run(victim)
active = [r.info.run_id for r in client.search_runs([experiment.experiment_id], max_results=100)]
deleted = client.search_runs([experiment.experiment_id], run_view_type=ViewType.DELETED_ONLY)
out["victim"] = victim
out["deleted_hidden"] = victim not in active
out["deleted_only"] = [r.info.run_id for r in deleted]
out["deleted_stage"] = client.get_run(victim).info.lifecycle_stage
client.restore_run(victim)
out["restored_stage"] = client.get_run(victim).info.lifecycle_stage

# -- artifacts ------------------------------------------------------------------------------
model = work / "model.txt"
model.write_text("weights: 1 2 3\n")
big = work / "big.bin"
big.write_bytes(os.urandom(BIG_FILE_BYTES))
with mlflow.start_run(run_name="artifacts") as art:
    mlflow.log_artifact(str(model))
    mlflow.log_artifact(str(model), artifact_path="sub/dir")
    mlflow.log_artifact(str(big), artifact_path="data")
    mlflow.log_text("hello carnet\n", "notes/hello.txt")
    mlflow.log_dict({"lr": 0.1, "layers": [64, 32]}, "config.json")
    mlflow.log_dict({"lr": 0.1}, "config.yaml")
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3], [3, 1, 2])
    mlflow.log_figure(figure, "plots/curve.png")
art_id = art.info.run_id
out["artifact_run"] = art_id
out["big_sha256"] = hashlib.sha256(big.read_bytes()).hexdigest()
out["root_listing"] = [[f.path, f.is_dir, f.file_size] for f in client.list_artifacts(art_id)]
out["sub_listing"] = [[f.path, f.is_dir] for f in client.list_artifacts(art_id, "sub/dir")]
destination = Path(client.download_artifacts(art_id, "", str(work / "all")))
out["downloaded"] = {
    str(p.relative_to(destination)): hashlib.sha256(p.read_bytes()).hexdigest()
    for p in sorted(destination.rglob("*"))
    if p.is_file()
}
out["text"] = mlflow.artifacts.load_text(f"runs:/{art_id}/notes/hello.txt")
out["dict"] = mlflow.artifacts.load_dict(f"runs:/{art_id}/config.json")
single = mlflow.artifacts.download_artifacts(
    artifact_uri=f"runs:/{art_id}/data/big.bin", dst_path=str(work / "one")
)
out["single_sha256"] = hashlib.sha256(Path(single).read_bytes()).hexdigest()

# -- errors come back as MLflow's exceptions ------------------------------------------------
errors = {}
open_run = client.create_run(experiment.experiment_id).info.run_id
deleted_run = client.create_run(experiment.experiment_id).info.run_id
client.delete_run(deleted_run)
for label, attempt in {
    "missing_run": lambda: client.get_run("0" * 32),
    "missing_experiment": lambda: client.get_experiment("987654"),
    "duplicate_experiment": lambda: client.create_experiment("sweep"),
    "param_overwrite": lambda: (
        client.log_param(open_run, "p", "x") and client.log_param(open_run, "p", "y")
    ),
    "finished_run": lambda: client.log_param(art_id, "late", "1"),  # taken, as on MLflow
    "deleted_run": lambda: client.log_param(deleted_run, "late", "1"),
}.items():
    try:
        attempt()
        errors[label] = "no error"
    except MlflowException as exc:
        errors[label] = exc.error_code
out["errors"] = errors
out["late_param"] = client.get_run(art_id).data.params.get("late")
out["missing_by_name"] = mlflow.get_experiment_by_name("no such experiment") is None

# -- many threads at once, through the real client -----------------------------------------
concurrent_ids: list[str] = []
failures: list[str] = []
lock = threading.Lock()


def worker(n: int) -> None:
    try:
        run = client.create_run(experiment.experiment_id, run_name=f"thread-{n}")
        for step in range(25):
            client.log_metric(run.info.run_id, "m", float(step), step=step)
        client.log_batch(run.info.run_id, params=[mlflow.entities.Param("thread", str(n))], tags=[])
        client.set_terminated(run.info.run_id)
        with lock:
            concurrent_ids.append(run.info.run_id)
    except Exception as exc:  # reported, and the test fails on it
        with lock:
            failures.append(f"{type(exc).__name__}: {exc}")


threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
out["concurrent_runs"] = sorted(concurrent_ids)
out["concurrent_failures"] = failures

sys.stdout.write("\n" + json.dumps(out) + "\n")
