"""The run page lists the models a run logged, with their signatures, as text."""

from __future__ import annotations

import json

import pandas as pd
from sklearn.linear_model import LinearRegression

import carnet
from carnet.entities import LoggedModel, LoggedModelStatus
from dashboard.model_frames import logged_model_rows, schema_text

from .conftest import MakeApp, no_exceptions
from .store_data import StoreInfo


def test_run_page_lists_logged_models_with_their_signature(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    run = client.create_run(store.experiment_id)
    frame = pd.DataFrame({"<b>age</b>": [30.0, 41.0, 52.0], "visits": [1, 4, 2]})
    carnet.set_tracking_uri(store.uri)
    fitted = LinearRegression().fit(frame, [1.0, 2.0, 3.0])
    info = carnet.sklearn.log_model(fitted, name="reg", input_example=frame, run_id=run.info.run_id)
    client.set_terminated(run.info.run_id)
    at = app("run", run=run.info.run_id)
    no_exceptions(at)
    assert "Logged models" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "model_id" in d.value.columns)
    row = table.iloc[0].to_dict()
    assert (row["name"], row["model_id"], row["status"]) == ("reg", info.model_id, "READY")
    assert row["inputs"] == "<b>age</b>: double, visits: long"
    assert row["outputs"] == "float64 [-1]"  # a NumPy prediction: a tensor, as MLflow infers
    assert row["flavors"] == "python_function, sklearn"
    assert not at.get("html")


def test_a_run_without_models_shows_no_section(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    run = client.create_run(store.experiment_id)
    at = app("run", run=run.info.run_id)
    no_exceptions(at)
    assert "Logged models" not in [h.value for h in at.subheader]


def test_signature_text_for_columns_tensors_and_damage() -> None:
    columns = json.dumps([{"name": "a", "type": "double", "required": False}, {"type": "long"}])
    assert schema_text(columns) == "a: double (optional), long"
    tensors = [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]
    assert schema_text(json.dumps(tensors)) == "float64 [-1, 3]"
    assert schema_text("not json") == "not json" and schema_text(None) == ""
    model = LoggedModel("m-" + "0" * 32, "1", "x", "file:///a", 0, 0, LoggedModelStatus.FAILED)
    rows = logged_model_rows([model], {model.model_id: None})  # files unreadable
    assert rows.iloc[0].to_dict() == {
        "name": "x", "model_id": model.model_id, "status": "FAILED",
        "created": "1970-01-01 00:00:00", "flavors": "", "inputs": "", "outputs": "",
    }  # fmt: skip
