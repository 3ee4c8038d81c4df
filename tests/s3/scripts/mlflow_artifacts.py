"""Run by MLflow's own interpreter against a Carnet server whose artifacts are in a bucket:
ordinary MLflow artifact code, with no S3 endpoint or credentials of its own. Prints what it
saw as one JSON line."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

BIG_FILE_BYTES = 9 * 1024 * 1024  # above the server's in-memory download size
S3_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "MLFLOW_S3_ENDPOINT_URL",
)
out: dict[str, object] = {"s3_variables": sorted(k for k in S3_VARIABLES if k in os.environ)}
client = MlflowClient()
work = Path(tempfile.mkdtemp(prefix="s3-artifacts-"))

model = work / "model.txt"
model.write_text("weights: 1 2 3\n")
big = work / "big.bin"
big.write_bytes(os.urandom(BIG_FILE_BYTES))
tree = work / "tree"
(tree / "sub").mkdir(parents=True)
(tree / "a.txt").write_text("alpha")
(tree / "sub" / "b.txt").write_text("beta")

experiment = mlflow.set_experiment("s3-artifacts")
out["experiment_id"] = experiment.experiment_id
with mlflow.start_run() as run:
    mlflow.log_artifact(str(model))
    mlflow.log_artifact(str(big), artifact_path="data")
    mlflow.log_artifacts(str(tree), artifact_path="tree")
    mlflow.log_text("hello carnet\n", "notes/hello.txt")
    mlflow.log_dict({"alpha": 0.1}, "config.json")
run_id = run.info.run_id
out["run_id"] = run_id
out["artifact_uri"] = run.info.artifact_uri
out["root_listing"] = sorted([f.path, f.is_dir] for f in client.list_artifacts(run_id))
out["tree_listing"] = sorted([f.path, f.is_dir] for f in client.list_artifacts(run_id, "tree"))
down = Path(client.download_artifacts(run_id, "", str(work / "down")))
out["downloaded"] = {
    p.relative_to(down).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
    for p in sorted(down.rglob("*"))
    if p.is_file()
}
out["big_sha256"] = hashlib.sha256(big.read_bytes()).hexdigest()
out["text"] = mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt")
out["dict"] = mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json")
print(json.dumps(out))
