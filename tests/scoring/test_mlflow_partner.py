"""MLflow as the partner: the bodies MLflow's client side writes are accepted, and Carnet's
server answers a model as MLflow's scoring server answers it (same status, same
predictions, same error code), for a model logged by Carnet and one logged by MLflow."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.scoring.served import LoggedModel, serving

MLFLOW_PYTHON = os.environ.get("CARNET_MLFLOW_PYTHON")
HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(not MLFLOW_PYTHON, reason="CARNET_MLFLOW_PYTHON is not set")


def run_mlflow(args: list[str], cwd: Path) -> str:
    assert MLFLOW_PYTHON
    env = {
        **os.environ,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "DO_NOT_TRACK": "true",
    }
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [MLFLOW_PYTHON, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def cases(rows: pd.DataFrame) -> list[dict[str, str]]:
    """Bodies both servers get: each format, CSV, and bodies that do not fit."""
    split = {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    records = rows.to_dict(orient="records")
    short = rows.drop(columns=["bmi"])
    text = rows.assign(bmi="high")
    bodies: list[tuple[str, object]] = [
        ("application/json", {"dataframe_split": split}),
        ("application/json", {"dataframe_records": records}),
        ("application/json", {"instances": records}),
        ("application/json", {"inputs": records}),
        ("application/json", {"inputs": {c: rows[c].tolist() for c in rows.columns}}),
        (
            "application/json",
            {
                "dataframe_split": {
                    **split,
                    "columns": split["columns"][::-1],
                    "data": [r[::-1] for r in split["data"]],
                }
            },
        ),
        ("application/json", {"dataframe_records": rows.assign(extra=1.0).to_dict("records")}),
        ("text/csv", rows.to_csv(index=False)),
        (
            "application/json",
            {
                "dataframe_split": {
                    "columns": list(short.columns),
                    "data": short.to_numpy().tolist(),
                }
            },
        ),
        ("application/json", {"dataframe_records": text.to_dict("records")}),
        ("application/json", {"data": split}),
        ("application/json", "{not json"),
    ]
    return [
        {"content_type": t, "body": b if isinstance(b, str) else json.dumps(b)} for t, b in bodies
    ]


def differential(base: str, folder: Path, rows: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "cases.json").write_text(json.dumps(cases(rows)))
    (tmp_path / "rows.json").write_text(
        json.dumps({"columns": list(rows.columns), "data": rows.to_numpy().tolist()})
    )
    out = run_mlflow(
        [str(HERE / "mlflow_scoring.py"), str(folder), "cases.json", "rows.json"], tmp_path
    )
    report = json.loads(out.splitlines()[-1])
    first = report["cases"][0]
    assert json.loads(first["body"]) == {
        "dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
    }
    for case in report["cases"]:
        answer = httpx.post(
            f"{base}/invocations",
            content=case["body"],
            headers={"Content-Type": case["content_type"]},
            timeout=30,
        )
        what = f"{case['content_type']} {case['body'][:120]}"
        assert answer.status_code == case["status"], (what, answer.text, case["answer"])
        theirs = json.loads(case["answer"])
        if answer.status_code == 200:
            ours = answer.json()
            assert list(ours) == list(theirs) == ["predictions"], what
            np.testing.assert_allclose(
                ours["predictions"], theirs["predictions"], rtol=1e-12, err_msg=what
            )
            np.testing.assert_allclose(ours["predictions"], report["pyfunc"], rtol=1e-12)
        else:
            assert answer.json()["error_code"] == theirs["error_code"], (what, answer.text)


def test_carnet_model_answers_as_mlflows_server(
    base: str, logged: LoggedModel, tmp_path: Path
) -> None:
    differential(base, logged.folder, logged.frame.sample(50, random_state=7), tmp_path)


LOG_WITH_MLFLOW = """
import json, sys
import mlflow, mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
x, y = load_diabetes(return_X_y=True, as_frame=True)
model = RandomForestRegressor(n_estimators=20, max_depth=5, random_state=0).fit(x, y)
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run():
    info = mlflow.sklearn.log_model(model, name="model", input_example=x.head(3),
                                    serialization_format="cloudpickle",
                                    signature=infer_signature(x, model.predict(x)))
print(json.dumps({"folder": mlflow.artifacts.download_artifacts(info.model_uri)}))
"""


def test_mlflow_model_served_by_carnet(tmp_path: Path) -> None:
    store = (tmp_path / "mlruns").as_uri()
    out = run_mlflow(["-c", LOG_WITH_MLFLOW, store], tmp_path)
    folder = Path(json.loads(out.splitlines()[-1])["folder"])
    assert (folder / "MLmodel").is_file()
    from sklearn.datasets import load_diabetes

    x, _ = load_diabetes(return_X_y=True, as_frame=True)
    with serving(str(folder), None, tmp_path / "serve.log") as base:
        differential(base, folder, x.sample(40, random_state=2), tmp_path)
