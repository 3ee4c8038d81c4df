"""MLflow names Carnet provides beyond the core: images, tables, autolog, errors, tags."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import carnet
from carnet.exceptions import MlflowException


def test_log_image_and_table(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        carnet.log_image(np.zeros((4, 5, 3), dtype=np.uint8), "images/black.png")
        carnet.log_image(np.full((2, 2), 0.5), key="mask", step=3)
        carnet.log_table({"a": [1, 2], "b": ["x", "y"]}, "table.json")
        with pytest.raises(carnet.InvalidInputError, match="H×W"):
            carnet.log_image(np.zeros((2, 2, 5)), "bad.png")
        with pytest.raises(carnet.InvalidInputError, match=r"\[0, 1\]"):
            carnet.log_image(np.full((2, 2), 3.0), "bad.png")
        with pytest.raises(carnet.InvalidInputError, match="exactly one"):
            carnet.log_image(np.zeros((2, 2)))
        with pytest.raises(carnet.InvalidInputError, match="json"):
            carnet.log_table(pd.DataFrame({"a": [1]}), "table.csv")
    rid = run.info.run_id
    with Image.open(client.get_artifact_path(rid, "images/black.png")) as img:
        assert img.size == (5, 4)
    assert client.get_artifact_path(rid, "images/mask/step_3.png").is_file()
    table = json.loads(client.get_artifact_path(rid, "table.json").read_text())
    assert table == {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}


def test_errors_are_mlflow_exceptions_with_codes(tracking: str) -> None:
    carnet.create_experiment("dup")
    with pytest.raises(MlflowException) as info:
        carnet.create_experiment("dup")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(carnet.MlflowException) as missing:
        carnet.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_default_experiment_has_id_0(tracking: str) -> None:
    with carnet.start_run() as run:
        pass
    assert run.info.experiment_id == "0"
    assert carnet.get_experiment("0").name == "Default"


def test_run_name_tag_renames_the_run(tracking: str) -> None:
    with carnet.start_run(run_name="before") as run:
        carnet.set_tag("mlflow.runName", "after")
    assert carnet.get_run(run.info.run_id).info.run_name == "after"


def test_deleting_an_experiment_deletes_its_runs(tracking: str) -> None:
    exp = carnet.set_experiment("gone")
    with carnet.start_run() as run:
        pass
    carnet.delete_experiment(exp.experiment_id)
    assert carnet.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    carnet.restore_experiment(exp.experiment_id)
    assert carnet.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_experiment_tags_can_be_deleted(tracking: str) -> None:
    carnet.set_experiment("tagged")
    carnet.set_experiment_tags({"a": "1", "b": "2"})
    carnet.delete_experiment_tag("a")
    assert carnet.get_experiment_by_name("tagged").tags == {"b": "2"}  # type: ignore[union-attr]
    with pytest.raises(carnet.InvalidInputError, match="no tag"):
        carnet.delete_experiment_tag("a")


def test_buffered_log_returns_a_handle_that_waits(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        handle = carnet.log_metric("m", 1.0, synchronous=False)
        assert handle is not None
        handle.wait()
        assert [p.value for p in client.store.get_metric_history(run.info.run_id, "m")] == [1.0]
        assert carnet.log_metric("n", 1.0) is None


def test_metrics_refuse_unknown_models_and_dataset_links(tracking: str) -> None:
    with carnet.start_run() as run:
        with pytest.raises(carnet.LoggedModelNotFoundError, match="'m-' and 32 hex"):
            carnet.log_metric("m", 1.0, model_id="m-123")
        with pytest.raises(carnet.InvalidInputError, match="datasets"):
            carnet.log_metrics({"m": 1.0}, dataset=object())
    assert carnet.get_run(run.info.run_id).data.metrics == {}  # nothing written


def test_autolog_top_level_turns_on_sklearn(tracking: str) -> None:
    from sklearn.linear_model import LinearRegression

    carnet.autolog()
    try:
        with carnet.start_run() as run:
            LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    finally:
        carnet.autolog(disable=True)
    got = carnet.get_run(run.info.run_id)
    assert "fit_intercept" in got.data.params
    with pytest.raises(carnet.InvalidInputError, match="extra_tags"):
        carnet.autolog(extra_tags={"a": "b"})


def test_an_mlflow_store_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("CREATE TABLE latest_metrics (key TEXT)")
    before = db.read_bytes()
    with pytest.raises(carnet.CarnetError, match="import-mlflow"):
        carnet.Client(str(db))
    assert db.read_bytes() == before
    assert not Path(str(db) + "-wal").exists()


def test_registered_model_name_registers_a_version(tracking: str) -> None:
    from sklearn.linear_model import LinearRegression

    import carnet.sklearn

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, artifact_path="m", registered_model_name="Reg")
    assert info.artifact_path == "m" and info.model_uri == f"models:/{info.model_id}"
    assert info.registered_model_version == "1"
    version = carnet.MlflowClient().get_model_version("Reg", 1)
    assert (version.source, version.model_id) == (info.model_uri, info.model_id)


def test_run_status_helpers_and_to_dictionary(tracking: str) -> None:
    assert carnet.RunStatus.is_terminated("FINISHED") and not carnet.RunStatus.is_terminated(
        "RUNNING"
    )
    assert carnet.RunStatus.all_status() == ["FAILED", "FINISHED", "KILLED", "RUNNING", "SCHEDULED"]
    with carnet.start_run() as run:
        carnet.log_param("p", 1)
    as_dict = carnet.get_run(run.info.run_id).to_dictionary()
    assert as_dict["data"]["params"] == {"p": "1"}
    assert as_dict["info"]["run_id"] == run.info.run_id
    assert as_dict["outputs"] == {"model_outputs": []}
    json.dumps(as_dict)
