"""Run by MLflow's own interpreter against a Carnet server with a tokens file: the same calls
with a write token, a read token, a user and password, a wrong token and none at all.

argv[1] is JSON: {"write": token, "read": token, "user": name, "password": password}.
Prints, for each credential, what each call did ("ok" or MLflow's error code).
"""

from __future__ import annotations

import json
import os
import sys

import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

secrets = json.loads(sys.argv[1])
CREDENTIALS = {
    "write_token": {"MLFLOW_TRACKING_TOKEN": secrets["write"]},
    "read_token": {"MLFLOW_TRACKING_TOKEN": secrets["read"]},
    "user": {
        "MLFLOW_TRACKING_USERNAME": secrets["user"],
        "MLFLOW_TRACKING_PASSWORD": secrets["password"],
    },
    "wrong_password": {
        "MLFLOW_TRACKING_USERNAME": secrets["user"],
        "MLFLOW_TRACKING_PASSWORD": secrets["password"] + "x",
    },
    "wrong_token": {"MLFLOW_TRACKING_TOKEN": secrets["write"][:-1] + "?"},
    "none": {},
}
VARIABLES = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


def use(credential: str) -> None:
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(CREDENTIALS[credential])


def attempt(call: object) -> str:
    try:
        call()  # type: ignore[operator]
        return "ok"
    except MlflowException as exc:
        return exc.error_code
    except requests.HTTPError as exc:  # the artifact repository raises these
        return f"HTTP {exc.response.status_code}"


client = MlflowClient()
use("write_token")
experiment_id = client.create_experiment("guarded")
run_id = client.create_run(experiment_id).info.run_id
client.log_param(run_id, "lr", "0.1")
client.log_text(run_id, "secret notes", "notes.txt")


def calls(credential: str) -> dict[str, str]:
    use(credential)
    return {
        "get_run": attempt(lambda: client.get_run(run_id)),
        "search_runs": attempt(lambda: client.search_runs([experiment_id])),
        "list_artifacts": attempt(lambda: client.list_artifacts(run_id)),
        "log_metric": attempt(lambda: client.log_metric(run_id, f"m_{credential}", 1.0)),
        "create_experiment": attempt(lambda: client.create_experiment(f"new-{credential}")),
    }


out = {credential: calls(credential) for credential in CREDENTIALS}
print(json.dumps({"run_id": run_id, "experiment_id": experiment_id, "results": out}))
