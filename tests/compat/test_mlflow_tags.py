"""``carnet.utils.mlflow_tags`` holds MLflow's tag names with MLflow's values."""

from __future__ import annotations

import json
import subprocess

import pytest

import carnet
from carnet.utils import mlflow_tags
from tests.compat.conftest import mlflow_python


def test_every_name_has_mlflows_value() -> None:
    python = mlflow_python()
    if python is None:
        pytest.skip("needs the MLflow venv (CARNET_MLFLOW_PYTHON) to read MLflow's tag names")
    names = list(mlflow_tags.__all__)
    script = (
        "import json, sys, mlflow.utils.mlflow_tags as t; "
        "print(json.dumps({n: getattr(t, n, None) for n in json.loads(sys.argv[1])}))"
    )
    done = subprocess.run(
        [python, "-c", script, json.dumps(names)], capture_output=True, text=True, check=True
    )
    theirs = json.loads(done.stdout)
    ours = {name: getattr(mlflow_tags, name) for name in names}
    assert ours == theirs
    # Reachable as MLflow code spells it after `import carnet as mlflow`.
    assert carnet.utils.mlflow_tags.MLFLOW_RUN_NAME == "mlflow.runName"
