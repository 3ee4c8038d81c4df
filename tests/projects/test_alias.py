"""The mlflow stand-in: ``mlflow`` and its modules are Carnet's, one object each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from carnet.projects.alias import MODULES, write_shim

PROBE = """
import sys
import carnet, carnet.sklearn, carnet.model_signature, carnet.models
import mlflow, mlflow.sklearn, mlflow.pyfunc, mlflow.models, mlflow.tracking, mlflow.client
import mlflow.entities, mlflow.exceptions, mlflow.data
from mlflow.models import infer_signature
from mlflow.models.signature import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.entities import RunStatus

assert mlflow.start_run is carnet.start_run
assert mlflow.__version__ == carnet.__version__
assert mlflow.sklearn is carnet.sklearn and sys.modules["mlflow.sklearn"] is carnet.sklearn
assert mlflow.pyfunc.load_model is carnet.pyfunc.load_model
assert infer_signature is carnet.models.infer_signature
assert ModelSignature is carnet.model_signature.ModelSignature
assert MlflowClient is carnet.MlflowClient
assert mlflow.exceptions.MlflowException is carnet.CarnetError
import carnet.projects
assert mlflow.projects.run is carnet.projects.run
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
assert MLFLOW_RUN_NAME == "mlflow.runName"
print(sys.executable)
"""
LAZY = """
import mlflow, carnet
assert "mlflow.sklearn" not in __import__("sys").modules
assert mlflow.sklearn.log_model is carnet.sklearn.log_model  # no import mlflow.sklearn
"""


def test_mlflow_and_its_modules_are_carnets(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    write_shim(shim, Path(sys.executable), mlflow_alias=True)
    assert {p.stem for p in (shim / "mlflow").glob("*.py")} == {"__init__", *MODULES}
    env = {**os.environ, "PYTHONPATH": str(shim), "PATH": f"{shim / 'bin'}{os.pathsep}/usr/bin"}
    done = subprocess.run(
        ["python", "-c", PROBE], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == sys.executable  # bin/python runs the chosen interpreter
    lazy = subprocess.run(["python", "-c", LAZY], env=env, capture_output=True, text=True)
    assert lazy.returncode == 0, lazy.stderr


def test_without_the_stand_in_there_is_no_mlflow_package(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    write_shim(shim, Path(sys.executable), mlflow_alias=False)
    assert not (shim / "mlflow").exists()
    assert (shim / "carnet").resolve() == Path(__import__("carnet").__file__).resolve().parent
