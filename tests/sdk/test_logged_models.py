"""MLflow 3's logged models in Carnet's store and API, on SQLite and on PostgreSQL.

A model is a record of its own: created PENDING, finalised READY or FAILED,
tagged, searched with MLflow's logged-model filter grammar (bound parameters only),
linked to its run (``run.outputs``) and to the run's metrics, with its files in
its own folder inside the artifact root.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sqlalchemy import create_engine, text

import carnet
from carnet.entities import LoggedModelOutput, LoggedModelStatus, Metric
from carnet.errors import (
    ArtifactLocationError,
    DeletedError,
    FilterError,
    InvalidInputError,
    InvalidValueError,
    LoggedModelNotFoundError,
)


def fitted() -> LinearRegression:
    return LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])


def test_a_model_lives_pending_then_ready(client: carnet.Client) -> None:
    exp = client.create_experiment("models")
    run = client.create_run(exp)
    model = client.create_logged_model(
        exp, "net", run.info.run_id, tags={"team": "a"}, params={"lr": 0.1}, model_type="agent"
    )
    assert model.status == LoggedModelStatus.PENDING and model.model_uri.startswith("models:/m-")
    assert (model.tags, model.params, model.model_type) == ({"team": "a"}, {"lr": "0.1"}, "agent")
    assert model.artifact_location.endswith(f"/{exp}/models/{model.model_id}/artifacts")
    ready = client.finalize_logged_model(model.model_id, "READY")
    assert ready.status == "READY" and ready.last_updated_timestamp >= model.creation_timestamp
    client.set_logged_model_tags(model.model_id, {"team": "b", "stage": "prod"})
    client.delete_logged_model_tag(model.model_id, "team")
    client.log_model_params(model.model_id, {"layers": 3})
    client.log_model_metrics(model.model_id, [Metric("acc", math.nan, 5, 1)], run.info.run_id)
    got = client.get_logged_model(model.model_id)
    assert got.tags == {"stage": "prod"} and got.params == {"layers": "3", "lr": "0.1"}
    assert got.metrics[0].key == "acc" and math.isnan(got.metrics[0].value)
    client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 2)])
    client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 2)])  # a repeat
    assert client.get_run(run.info.run_id).outputs.model_outputs == [
        LoggedModelOutput(model.model_id, 2)
    ]
    as_dict = client.get_run(run.info.run_id).to_dictionary()  # MLflow's shape
    assert as_dict["outputs"] == {"model_outputs": [{"model_id": model.model_id, "step": 2}]}
    client.delete_logged_model(model.model_id)
    with pytest.raises(LoggedModelNotFoundError):
        client.get_logged_model(model.model_id)
    assert client.get_logged_model(model.model_id, allow_deleted=True).name == "net"
    assert client.search_logged_models([exp]) == []


def test_refusals_write_nothing(client: carnet.Client) -> None:
    exp = client.create_experiment("refusals")
    with pytest.raises(LoggedModelNotFoundError, match="'m-' and 32 hex"):
        client.get_logged_model("models:/x")
    with pytest.raises(LoggedModelNotFoundError, match="no logged model"):
        client.get_logged_model("m-" + "f" * 32)
    model = client.create_logged_model(exp, "m")
    with pytest.raises(InvalidInputError, match="unknown logged model status"):
        client.finalize_logged_model(model.model_id, "SHINY")
    with pytest.raises(InvalidInputError, match="has no tag"):
        client.delete_logged_model_tag(model.model_id, "nothing")
    with pytest.raises(InvalidInputError, match="keys may contain only"):
        client.set_logged_model_tags(model.model_id, {"bad\x00key": "v"})
    with pytest.raises(carnet.NotFoundError):
        client.create_logged_model(exp, "m", source_run_id="f" * 32)
    client.delete_experiment(exp)
    with pytest.raises(DeletedError):
        client.create_logged_model(exp, "late")
    assert [m.model_id for m in client.search_logged_models([exp])] == [model.model_id]
    assert client.get_logged_model(model.model_id).status == "PENDING"


def test_search_grammar_order_and_pages(client: carnet.Client) -> None:
    exp = client.create_experiment("search")
    run = client.create_run(exp)
    rid = run.info.run_id
    ids = {}
    for i, name in enumerate(["alpha", "beta", "gamma", "it's"]):
        m = client.create_logged_model(exp, name, rid if i % 2 else None, {"i": str(i)},
                                       {"p": f"v{i}"})  # fmt: skip
        client.log_model_metrics(m.model_id, [Metric("acc", i / 10, 1, 0)], rid)
        ids[name] = m.model_id
    client.finalize_logged_model(ids["gamma"], "READY")

    def names(filter_string: str | None = None, **kw: object) -> list[str]:
        return [m.name for m in client.search_logged_models([exp], filter_string, **kw)]

    assert names() == ["it's", "gamma", "beta", "alpha"]  # newest first
    assert names("name = 'it''s'") == ["it's"]  # a quote is text, never SQL
    assert names("name LIKE '%a' AND status = 'PENDING'") == ["beta", "alpha"]
    assert names(f"source_run_id = '{rid}'") == ["it's", "beta"]
    assert names("source_run_id IS NULL") == ["gamma", "alpha"]
    assert names("metrics.acc >= 0.2 OR tags.i = '0'") == ["it's", "gamma", "alpha"]
    assert names("NOT (params.p IN ('v1', 'v2'))") == ["it's", "alpha"]
    assert names(f"model_id = '{ids['beta']}'") == ["beta"]
    assert names(order_by=["metrics.acc DESC"]) == ["it's", "gamma", "beta", "alpha"]
    assert names(order_by=[{"field_name": "name", "ascending": True}]) == [
        "alpha", "beta", "gamma", "it's",
    ]  # fmt: skip
    first = client.search_logged_models([exp], max_results=3, order_by=["name"])
    assert [m.name for m in first] == ["alpha", "beta", "gamma"] and first.token
    rest = client.search_logged_models([exp], max_results=3, order_by=["name"],
                                       page_token=first.token)  # fmt: skip
    assert [m.name for m in rest] == ["it's"] and rest.token is None
    for bad, match in [
        ("metrics.acc.min < 1", "no .min"),
        ("params.p > 1", "quoted values"),
        ("colour = 'red'", "unknown logged model attribute"),
        ("name = ", "filter"),
    ]:
        with pytest.raises(FilterError, match=match):
            names(bad)
    with pytest.raises(InvalidValueError, match="datasets"):
        client.search_logged_models([exp], datasets=[{"dataset_name": "d"}])


def test_log_model_records_the_model_and_its_links(tracking: str) -> None:
    with carnet.start_run() as run:
        carnet.log_params({"alpha": 0.5})
        carnet.log_metric("rmse", 0.25, step=0)
        carnet.log_metric("rmse", 0.5, step=3)  # not the step the model is logged at
        info = carnet.sklearn.log_model(fitted(), name="reg")
    model = carnet.get_logged_model(info.model_id)
    assert model.status == "READY" and model.source_run_id == run.info.run_id
    assert model.params == {"alpha": "0.5"}
    assert [(m.key, m.value, m.step) for m in model.metrics] == [("rmse", 0.25, 0)]
    assert carnet.last_logged_model() == model
    assert carnet.get_run(run.info.run_id).outputs.model_outputs == [
        LoggedModelOutput(info.model_id, 0)
    ]
    frame = carnet.search_logged_models(filter_string="name = 'reg'")
    assert isinstance(frame, pd.DataFrame) and frame["model_id"].tolist() == [info.model_id]
    files = {f.path for f in carnet.Client().list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "model.pkl", "requirements.txt"} <= files
    assert carnet.Client().list_artifacts(run.info.run_id) == []  # the run's folder is not used


def test_initialize_then_files_then_finalize(tracking: str, tmp_path: Path) -> None:
    with carnet.start_run() as run:
        model = carnet.initialize_logged_model("manual", params={"k": 1})
    assert model.source_run_id == run.info.run_id and model.status == "PENDING"
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "w.bin").write_bytes(b"\x00\x01")
    client = carnet.Client()
    client.log_model_artifacts(model.model_id, tmp_path / "weights", "data")
    assert client.read_logged_model_artifact(model.model_id, "data/w.bin") == b"\x00\x01"
    assert carnet.finalize_logged_model(model.model_id, "READY").status == "READY"
    external = carnet.create_external_model("served-elsewhere", tags={"url": "http://x"})
    assert external.status == "READY" and external.tags["mlflow.model.isExternal"] == "true"
    carnet.log_model_params({"threshold": 0.3})  # the model logged last: the external one
    assert carnet.get_logged_model(external.model_id).params == {"threshold": "0.3"}


def test_a_moved_model_folder_is_refused(tracking: str, tmp_path: Path) -> None:
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted(), name="m")
    engine = create_engine(tracking)
    with engine.begin() as conn:  # someone with write access to the database points it away
        conn.execute(
            text("UPDATE logged_models SET artifact_location = :loc WHERE model_id = :id"),
            {"loc": (tmp_path / "elsewhere").as_uri(), "id": info.model_id},
        )
    engine.dispose()
    with pytest.raises(ArtifactLocationError, match="outside the allowed artifact roots"):
        carnet.Client().list_logged_model_artifacts(info.model_id)
    with pytest.raises(carnet.CarnetError):
        carnet.sklearn.load_model(info.model_uri)


def test_safe_mode_covers_the_tag_and_param_writes() -> None:
    for name in ("set_logged_model_tags", "delete_logged_model_tag", "log_model_params"):
        assert getattr(getattr(carnet, name), "__carnet_safe__", False), name
    for name in ("get_logged_model", "search_logged_models", "initialize_logged_model"):
        assert not getattr(getattr(carnet, name), "__carnet_safe__", False), name


def test_fluent_metrics_with_a_model_id_are_linked(tracking: str) -> None:
    with carnet.start_run() as run:
        info = carnet.sklearn.log_model(fitted(), name="m")
        carnet.log_metric("test_acc", 0.8, step=2, model_id=info.model_id)
        carnet.log_metrics({"test_f1": 0.7}, step=2, timestamp=7, model_id=info.model_id)
    model = carnet.get_logged_model(info.model_id)
    assert [(m.key, m.value, m.step) for m in model.metrics] == [
        ("test_acc", 0.8, 2), ("test_f1", 0.7, 2),
    ]  # fmt: skip
    assert carnet.get_run(run.info.run_id).data.metrics == {"test_acc": 0.8, "test_f1": 0.7}
    with pytest.raises(InvalidValueError, match="datasets"):
        carnet.log_metric("x", 1.0, dataset=object(), run_id=run.info.run_id)
