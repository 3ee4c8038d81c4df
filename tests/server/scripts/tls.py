"""Run by MLflow's own interpreter against a Carnet server over HTTPS
(MLFLOW_TRACKING_SERVER_CERT_PATH names the certificate to trust): a run with a param and
an artifact, read back. Prints the run's id and what was read as one JSON line."""

from __future__ import annotations

import json

import mlflow

mlflow.set_experiment("tls")
with mlflow.start_run() as run:
    mlflow.log_param("secure", "yes")
    mlflow.log_text("over TLS", "note.txt")
text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/note.txt")
params = mlflow.get_run(run.info.run_id).data.params
print(json.dumps({"run_id": run.info.run_id, "text": text, "params": params}))
