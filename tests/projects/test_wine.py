"""The wine project (MLflow's ElasticNet example, see fixtures/wine/README.md) runs under
``carnet run`` with no change to its files: ``import mlflow`` means Carnet."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import carnet
import carnet.sklearn
from tests.projects.helpers import only_run

WINE = Path(__file__).parent / "fixtures" / "wine"


def _digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files)).hexdigest()


def _carnet_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carnet.cli", "run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_wine_example_runs_unmodified_and_lands_in_carnet(tmp_path: Path) -> None:
    before = _digest(WINE)
    uri = f"sqlite:///{tmp_path / 'carnet.db'}"
    done = _carnet_run(
        str(WINE), "--env-manager", "local", "-P", "alpha=0.42", "--db", uri, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Elasticnet model (alpha=0.420000, l1_ratio=0.100000)" in done.stdout
    run = only_run(uri)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.42", "l1_ratio": "0.1"}
    assert set(run.data.metrics) == {"rmse", "r2", "mae"}
    assert 0 < run.data.metrics["mae"] <= run.data.metrics["rmse"]
    assert run.data.tags["mlflow.source.type"] == "PROJECT"
    assert run.data.tags["mlflow.project.entryPoint"] == "main"
    # The model it logged with mlflow.sklearn loads with Carnet and predicts the data.
    model = carnet.sklearn.load_model(f"runs:/{run.info.run_id}/model", tracking_uri=uri)
    data = pd.read_csv(WINE / "wine-quality.csv").drop(columns=["quality"])
    predictions = model.predict(data.head(5))
    assert predictions.shape == (5,) and np.isfinite(predictions).all()
    assert _digest(WINE) == before  # nothing was written into the project


def test_without_the_stand_in_import_mlflow_is_the_real_one(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'carnet.db'}"
    done = _carnet_run(
        str(WINE), "--env-manager", "local", "--no-mlflow-alias", "--db", uri, cwd=tmp_path
    )
    # This interpreter has no mlflow package: the project fails, and so does its run.
    assert done.returncode == 1
    assert "No module named 'mlflow'" in done.stderr
    assert only_run(uri).info.status == "FAILED"
