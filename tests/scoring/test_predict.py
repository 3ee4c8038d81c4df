"""``carnet models predict`` reads a body from a file or stdin and writes predictions as
``mlflow models predict`` writes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from carnet.pyfunc import load_model
from tests.scoring.served import LoggedModel, child_env

MLFLOW_PYTHON = os.environ.get("CARNET_MLFLOW_PYTHON")


def carnet_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carnet.cli", "models", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )


def test_predict_json_and_csv(logged: LoggedModel, tmp_path: Path) -> None:
    rows = logged.frame.sample(30, random_state=5)
    want = load_model(logged.folder).predict(rows)
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
        )
    )
    out = tmp_path / "out.json"
    done = carnet_cli(
        "predict", "-m", logged.uri, "--db", logged.db, "-i", str(body), "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(out.read_text())["predictions"], want, rtol=1e-12)
    csv = tmp_path / "body.csv"
    rows.to_csv(csv, index=False)
    done = carnet_cli("predict", "-m", str(logged.folder), "-i", str(csv), "-t", "csv")
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(done.stdout)["predictions"], want, rtol=1e-12)
    done = carnet_cli("predict", "-m", str(logged.folder), stdin=body.read_text())
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(done.stdout)["predictions"], want, rtol=1e-12)


def test_predict_refuses_a_body_that_does_not_fit(logged: LoggedModel, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"dataframe_records": [{"age": 1.0}]}))
    out = tmp_path / "out.json"
    done = carnet_cli("predict", "-m", str(logged.folder), "-i", str(body), "-o", str(out))
    assert done.returncode == 1
    assert "lacks required column(s): sex (double)" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


@pytest.mark.skipif(not MLFLOW_PYTHON, reason="CARNET_MLFLOW_PYTHON is not set")
def test_output_is_mlflow_models_predicts(logged: LoggedModel, tmp_path: Path) -> None:
    assert MLFLOW_PYTHON
    rows = logged.frame.head(12)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"dataframe_records": rows.to_dict(orient="records")}))
    ours, theirs = tmp_path / "carnet.json", tmp_path / "mlflow.json"
    done = carnet_cli("predict", "-m", str(logged.folder), "-i", str(body), "-o", str(ours))
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    env.pop("PYTHONPATH", None)
    mlflow = Path(MLFLOW_PYTHON).with_name("mlflow")
    done = subprocess.run(
        [
            str(mlflow),
            "models",
            "predict",
            "-m",
            str(logged.folder),
            "-i",
            str(body),
            "-o",
            str(theirs),
            "-t",
            "json",
            "--env-manager",
            "local",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    mine, reference = json.loads(ours.read_text()), json.loads(theirs.read_text())
    assert list(mine) == list(reference) == ["predictions"]
    np.testing.assert_allclose(mine["predictions"], reference["predictions"], rtol=1e-12)
