"""MLflow 3's logged models through ``carnet server``, driven by the real MLflow client.

``mlflow.sklearn.log_model`` creates the model, uploads its files to the model's
location and finalises it; ``models:/<model_id>`` loads back with MLflow's sklearn
and pyfunc loaders; get, search and tags go through the logged-model endpoints;
MLflow's sklearn autolog logs its models the same way. Carnet's SDK, on the same
store, sees the same models. Once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

import carnet
from tests.server.served import Server, call, run_mlflow


@pytest.fixture(scope="module")
def seen(any_server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result: dict[str, Any] = run_mlflow(
        any_server, "logged_models.py", tmp_path_factory.mktemp("mlflow")
    )
    return result


def test_log_model_and_load_it_back(seen: dict[str, Any]) -> None:
    assert seen["model_id"].startswith("m-") and len(seen["model_id"]) == 34
    assert seen["model_uri"] == f"models:/{seen['model_id']}"
    assert seen["sklearn_ok"] and seen["pyfunc_ok"] and seen["runs_uri_ok"]
    assert seen["signature_inputs"] == ["age", "bmi", "bp"]


def test_get_logged_model_as_mlflow_shapes_it(seen: dict[str, Any]) -> None:
    got = seen["got"]
    assert got["name"] == "model" and got["status"] == "READY"
    assert got["source_run_id"] == seen["run_id"]
    assert got["params"] == {"fit_intercept": "True"}  # the run's params, as MLflow copies
    assert got["metrics"] == {"r2": 0.75}  # the run's metrics at step 0, linked
    assert got["artifact_location"].endswith(f"/models/{seen['model_id']}/artifacts")
    assert got["artifact_location"].startswith("mlflow-artifacts:/")


def test_tags_search_and_outputs(seen: dict[str, Any]) -> None:
    user_tags = {k: v for k, v in seen["tags"].items() if not k.startswith("mlflow.")}
    assert user_tags == {"stage": "candidate"}
    assert seen["tags"]["mlflow.source.type"] == "LOCAL"  # MLflow's context tags, kept
    assert seen["search_candidate"] == [seen["model_id"]]
    assert seen["search_frame_names"] == ["double", "model"]
    assert seen["search_metric"] == ["model"]
    assert seen["run_outputs"] == [seen["model_id"]]
    assert seen["missing_error"] == "RESOURCE_DOES_NOT_EXIST"
    assert seen["bad_filter_error"] == "INVALID_PARAMETER_VALUE"


def test_sklearn_autolog_logs_its_models(seen: dict[str, Any]) -> None:
    assert seen["autolog_models"] == ["best_estimator", "model"]
    assert seen["autolog_status"] == ["READY", "READY"]
    assert seen["autolog_predict_ok"]
    assert "training_score" in seen["autolog_run_metrics"]


def test_carnet_reads_what_mlflow_logged(seen: dict[str, Any], any_server: Server) -> None:
    client = carnet.Client(any_server.base)
    model = client.get_logged_model(seen["model_id"])
    assert (model.name, model.status, model.tags["stage"]) == ("model", "READY", "candidate")
    # MLflow saved it with skops (not installed here), so read its descriptor, not the model
    descriptor = carnet.models.get_model_info(model.model_uri, tracking_uri=any_server.base)
    assert descriptor["model_id"] == seen["model_id"] and "sklearn" in descriptor["flavors"]
    files = {f.path for f in client.list_logged_model_artifacts(seen["model_id"])}
    assert {"MLmodel", "model.skops", "input_example.json"} <= files
    assert client.get_run(seen["run_id"]).outputs.model_outputs[0].model_id == seen["model_id"]


def test_carnet_sdk_over_http_logs_a_model(any_server: Server) -> None:
    from sklearn.linear_model import LinearRegression

    carnet.set_tracking_uri(any_server.base)  # reset after the test by tests/conftest.py
    carnet.set_experiment("sdk-over-http")
    with carnet.start_run() as run:
        carnet.log_metric("r2", 0.5)
        fitted = LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0])
        info = carnet.sklearn.log_model(fitted, name="tiny")
    model = carnet.get_logged_model(info.model_id)
    assert model.status == "READY" and model.source_run_id == run.info.run_id
    assert [(m.key, m.value) for m in model.metrics] == [("r2", 0.5)]
    assert carnet.sklearn.load_model(info.model_uri).predict([[3.0]])[0] == pytest.approx(3.0)
    assert carnet.sklearn.load_model(f"runs:/{run.info.run_id}/tiny").coef_[0] == pytest.approx(1)
    history = carnet.Client(any_server.base).get_metric_history(run.info.run_id, "r2")
    assert len(history) == 1  # linking the point to the model did not log it twice


def test_bad_requests_get_mlflow_errors(seen: dict[str, Any], any_server: Server) -> None:
    base = "/api/2.0/mlflow/logged-models"
    answer = call(any_server, "GET", f"{base}/not-an-id")
    assert answer.status == 404 and answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    answer = call(any_server, "PATCH", f"{base}/{seen['model_id']}", {"status": "SHINY"})
    assert answer.status == 400
    answer = call(
        any_server, "POST", f"{base}/search", {"experiment_ids": ["0"], "max_results": 10**9}
    )
    assert answer.status == 400
    sneaky = f"/api/2.0/mlflow-artifacts/artifacts/0/models/{seen['model_id']}/artifacts/..%2f.."
    assert call(any_server, "GET", sneaky).status in (400, 404)
    assert call(any_server, "GET", f"{base}/search").status == 405


def test_a_batch_linking_an_unknown_model_writes_nothing(any_server: Server) -> None:
    client = carnet.Client(any_server.base)
    run_id = client.create_run("0").info.run_id  # RUNNING: the batch could be written
    point = {"key": "late", "value": 1.0, "timestamp": 5, "step": 0, "model_id": "m-" + "0" * 32}
    body = {"run_id": run_id, "metrics": [point], "params": [{"key": "p", "value": "1"}]}
    answer = call(any_server, "POST", "/api/2.0/mlflow/runs/log-batch", body)
    assert answer.status == 404 and answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    run = client.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {}
    good = {**body, "metrics": [{**point, "model_id": None}]}
    assert call(any_server, "POST", "/api/2.0/mlflow/runs/log-batch", good).status == 200
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_a_model_logged_to_a_finished_run_over_http(any_server: Server) -> None:
    from sklearn.linear_model import LinearRegression

    client = carnet.Client(any_server.base)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "r2", 0.5)
    client.set_terminated(run_id)
    carnet.set_tracking_uri(any_server.base)  # reset after the test by tests/conftest.py
    fitted = LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0])
    info = carnet.sklearn.log_model(fitted, name="late", run_id=run_id)
    model = carnet.get_logged_model(info.model_id)
    assert model.status == "READY"  # the finished run's points are linked, as on MLflow
    assert [(m.key, m.value) for m in model.metrics] == [("r2", 0.5)]
    assert carnet.sklearn.load_model(info.model_uri).predict([[3.0]])[0] == pytest.approx(3.0)
