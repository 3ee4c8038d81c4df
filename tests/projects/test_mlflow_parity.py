"""The real ``mlflow run`` (the reference partner in CARNET_MLFLOW_PYTHON) and ``carnet
run`` on the same project: the same command and the same project tags and params."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from carnet import settings
from carnet.projects import run_project
from tests.conftest import require_service
from tests.projects.helpers import only_run, write_project

MLPROJECT = """
name: parity
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      name: {type: string, default: "a b; echo pwned"}
    command: "true {alpha} {name}"
"""
READ_RUN = """
import json, mlflow
run = mlflow.search_runs(search_all_experiments=True, output_format="list")[0]
print(json.dumps({"tags": run.data.tags, "params": run.data.params, "status": run.info.status}))
"""


@pytest.mark.slow
def test_mlflow_run_and_carnet_run_agree(tmp_path: Path, uri: str) -> None:
    mlflow_python = settings.MLFLOW_PYTHON.get()
    require_service(mlflow_python is not None, "CARNET_MLFLOW_PYTHON is not set (no mlflow)")
    assert mlflow_python is not None
    project = write_project(tmp_path / "proj", {"MLproject": MLPROJECT})
    for args in (["init", "--quiet", "--initial-branch=main"], ["add", "."]):
        subprocess.run(["git", *args], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one"],
        cwd=project,
        check=True,
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("PYTHONPATH", None)
    theirs = subprocess.run(
        [mlflow_python, "-m", "mlflow", "run", str(project), "-P", "alpha=0.3",
         "-P", "extra=1", "--env-manager", "local"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    found = re.search(r"Running command '(.*)' in run with ID", theirs.stderr)
    assert found is not None, theirs.stderr
    recorded = subprocess.run(
        [mlflow_python, "-c", READ_RUN], env=env, capture_output=True, text=True, check=True
    )
    mlflow_run = json.loads(recorded.stdout.strip().splitlines()[-1])

    outcome = run_project(str(project), parameters={"alpha": "0.3", "extra": "1"}, tracking_uri=uri)
    ours = only_run(uri)
    assert outcome.command == found.group(1) == "true 0.3 'a b; echo pwned' --extra 1"
    assert ours.info.status == mlflow_run["status"] == "FINISHED"
    for key, value in mlflow_run["tags"].items():
        if key != "mlflow.runName":  # a generated name on both sides
            assert ours.data.tags.get(key) == value, key
    # Params: the same, except that MLflow logs a string value shell-quoted.
    theirs_params = mlflow_run["params"]
    assert set(theirs_params) == set(ours.data.params) == {"alpha", "name", "extra"}
    assert theirs_params["alpha"] == ours.data.params["alpha"] == "0.3"
    assert theirs_params["extra"] == ours.data.params["extra"] == "1"
    assert theirs_params["name"] == shlex.quote(ours.data.params["name"])
