"""Run by MLflow's own interpreter ($CARNET_MLFLOW_PYTHON) against the server in a container.

    python mlflow_client.py log EXPERIMENT   # log a run, then read it back
    python mlflow_client.py check RUN_ID     # read a run logged earlier back

MLFLOW_TRACKING_URI names the server (and MLFLOW_TRACKING_TOKEN the token when it asks for
one). ``log`` logs params, a metric history, a text file, a local file and a dict through
the API, then does what ``check`` does: reads every one of them back through a fresh
client, downloads the artifacts and compares them byte for byte. The last line of output is
JSON: the run's id, its experiment's id and what was read back.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

PARAMS = {"alpha": "0.02", "l1_ratio": "1.0", "model": "elastic-net"}
LOSS = [1.0, 0.5, 0.25, 0.125]
NOTES = "Logged through carnet server in a container.\nSecond line: é, 漢字.\n"
DATA = bytes(range(256)) * 16  # every byte value, so nothing is decoded on the way
CONFIG = {"layers": [64, 32], "dropout": 0.1}


def log(experiment: str) -> str:
    """Log one run through the fluent API, as training code does; returns its id."""
    mlflow.set_experiment(experiment)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "weights.bin"
        data.write_bytes(DATA)
        with mlflow.start_run(run_name="container-check") as run:
            mlflow.log_params(PARAMS)
            for step, value in enumerate(LOSS):
                mlflow.log_metric("loss", value, step=step)
            mlflow.log_metrics({"MSE": 2921.77, "R2": 0.47})
            mlflow.set_tag("team", "vision")
            mlflow.log_text(NOTES, "notes/readme.txt")
            mlflow.log_artifact(str(data), "blobs")
            mlflow.log_dict(CONFIG, "config.json")
    return run.info.run_id


def check(run_id: str) -> dict[str, object]:
    """Read the run back through the API and compare it with what ``log`` sent."""
    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED", run.info.status
    assert run.info.run_name == "container-check", run.info.run_name
    assert run.data.params == PARAMS, run.data.params
    assert run.data.metrics == {"loss": 0.125, "MSE": 2921.77, "R2": 0.47}, run.data.metrics
    assert run.data.tags["team"] == "vision", run.data.tags
    history = [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")]
    assert sorted(history) == list(enumerate(LOSS)), history
    found = client.search_runs(
        [run.info.experiment_id], filter_string="params.alpha < 0.05 and metrics.MSE < 3000"
    )
    assert [r.info.run_id for r in found] == [run_id], found
    top = sorted((a.path, a.is_dir) for a in client.list_artifacts(run_id))
    assert top == [("blobs", True), ("config.json", False), ("notes", True)], top
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(client.download_artifacts(run_id, "", scratch))
        assert (folder / "notes" / "readme.txt").read_text(encoding="utf-8") == NOTES
        assert (folder / "blobs" / "weights.bin").read_bytes() == DATA
        assert json.loads((folder / "config.json").read_text()) == CONFIG
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt") == NOTES
    return {
        "run_id": run_id,
        "experiment_id": run.info.experiment_id,
        "artifact_uri": run.info.artifact_uri,
        "params": len(run.data.params),
        "history": len(history),
        "artifacts": [path for path, _ in top],
    }


def main(argv: list[str]) -> int:
    """``log EXPERIMENT`` or ``check RUN_ID``; prints the summary as JSON."""
    if len(argv) != 2 or argv[0] not in ("log", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    run_id = log(argv[1]) if argv[0] == "log" else argv[1]
    print(json.dumps(check(run_id)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
