"""Bad requests over raw HTTP: each gets MLflow's error JSON with the right status and
code, shows no traceback or server path, and leaves the store and the disk as they were."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.entities import ViewType
from tests.server.served import Server, assert_mlflow_error, call, carnet_server

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a 1 MB upload limit, so an oversized upload is cheap to send."""
    folder = tmp_path_factory.mktemp("bad-requests")
    with carnet_server(folder, args=("--max-upload-mb", "1")) as running:
        yield running


@pytest.fixture(scope="module")
def run(server: Server) -> dict[str, str]:
    """An experiment and a running run with one param, made over the API."""
    experiment = call(server, "POST", f"{API}/experiments/create", {"name": "bad"}).json()
    created = call(
        server,
        "POST",
        f"{API}/runs/create",
        {"experiment_id": experiment["experiment_id"], "run_name": "target"},
    ).json()
    run_id = created["run"]["info"]["run_id"]
    answer = call(
        server, "POST", f"{API}/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}
    )
    assert answer.status == 200, answer.body
    return {"experiment_id": experiment["experiment_id"], "run_id": run_id}


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if "server-" not in p.name}


@pytest.fixture
def unchanged(server: Server, run: dict[str, str]) -> Iterator[None]:
    """The store's content and the files around it are the same after the test.

    The content is compared, not the store's data version: the server beats the
    heartbeat of the runs MLflow's client created, which is a write of its own.
    """
    client = carnet.Client(server.uri, read_only=True)

    def content() -> tuple[Any, ...]:
        experiments = client.search_experiments(view_type=ViewType.ALL)
        ids = [e.experiment_id for e in experiments]
        runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000)
        return tuple(experiments), tuple(runs)

    before = content()
    before_run = client.get_run(run["run_id"])
    before_files = _files(server.folder.parent)
    yield
    assert content() == before
    assert client.get_run(run["run_id"]) == before_run
    assert _files(server.folder.parent) == before_files


def _ok(server: Server, method: str, path: str, body: Any = None) -> Any:
    answer = call(server, method, path, body)
    assert answer.status == 200, answer.body
    return answer.json()


# -- malformed bodies and fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "fragment"),
    [
        (b'{"name": ', "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b"\xff\xfe\x00garbage", "application/json", "not valid JSON"),
        (b"[" * 100_000, "application/json", "not valid JSON"),
        (b'{"name": "x"}', "text/plain", "Content-Type: application/json"),
        (b"name=x", "application/x-www-form-urlencoded", "Content-Type: application/json"),
    ],
)
def test_malformed_bodies(
    server: Server, unchanged: None, raw: bytes, content_type: str, fragment: str
) -> None:
    answer = call(server, "POST", f"{API}/experiments/create", raw=raw, content_type=content_type)
    assert fragment in assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("experiments/create", {}, "'name'"),
        ("experiments/create", {"name": 5}, "'name'"),
        ("experiments/create", {"name": "x", "tags": "team=a"}, "'tags'"),
        ("experiments/create", {"name": "x", "tags": [{"value": "a"}]}, "'tags[0].key'"),
        ("runs/create", {"experiment_id": "EXP", "start_time": "yesterday"}, "'start_time'"),
        ("runs/create", {"experiment_id": "EXP", "start_time": True}, "'start_time'"),
        ("runs/create", {"experiment_id": "EXP", "start_time": 2**64}, "'start_time'"),
        (
            "runs/log-metric",
            {"run_id": "RUN", "key": "m", "value": "high", "timestamp": 1},
            "'value'",
        ),
        ("runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1.0}, "'timestamp'"),
        ("runs/log-metric", {"run_id": "RUN", "key": "m", "value": [1], "timestamp": 1}, "'value'"),
        ("runs/log-batch", {"run_id": "RUN", "metrics": {"m": 1}}, "'metrics'"),
        (
            "runs/log-batch",
            {"run_id": "RUN", "metrics": [{"key": "m", "value": 1}]},
            "'metrics[0].timestamp'",
        ),
        (
            "runs/log-batch",
            {"run_id": "RUN", "params": [{"key": 3, "value": "a"}]},
            "'params[0].key'",
        ),
        ("runs/log-batch", {"metrics": []}, "'run_id'"),
        (
            "runs/log-batch",
            {"run_id": "RUN", "metrics": [{"key": "bad key!", "value": 1, "timestamp": 1}]},
            "bad key!",
        ),
        ("runs/log-parameter", {"run_id": "RUN", "key": "lr", "value": "0.2"}, "lr"),
        (
            "runs/search",
            {"experiment_ids": ["EXP"], "run_view_type": "SOMETIMES"},
            "'run_view_type'",
        ),
        ("runs/search", {"experiment_ids": ["EXP"], "max_results": 60000}, "'max_results'"),
        ("runs/search", {"experiment_ids": "EXP"}, "'experiment_ids'"),
        ("runs/search", {"experiment_ids": ["EXP"], "filter": "metrics.rmse <<< 3"}, "rmse"),
        ("runs/search", {"experiment_ids": ["EXP"], "page_token": "not-a-token"}, "token"),
        ("runs/update", {"run_id": "RUN", "status": "PAUSED"}, "'status'"),
        ("experiments/search", {"view_type": 7}, "'view_type'"),
    ],
)
def test_wrong_fields(
    server: Server,
    run: dict[str, str],
    unchanged: None,
    path: str,
    body: dict[str, Any],
    fragment: str,
) -> None:
    text = json.dumps(body).replace("EXP", run["experiment_id"]).replace("RUN", run["run_id"])
    answer = call(server, "POST", f"{API}/{path}", raw=text.encode())
    assert fragment in assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)


def test_wrong_query_fields(server: Server, run: dict[str, str], unchanged: None) -> None:
    answer = call(server, "GET", f"{API}/metrics/get-history?run_id={run['run_id']}")
    assert "'metric_key'" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )
    answer = call(
        server,
        "GET",
        f"{API}/metrics/get-history-bulk-interval?run_ids={run['run_id']}&metric_key=m&start_step=5",
    )
    assert "both must be specified" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )
    many = "&".join(f"run_ids={i:032x}" for i in range(101))
    answer = call(server, "GET", f"{API}/metrics/get-history-bulk-interval?{many}&metric_key=m")
    assert "at most 100" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )


def test_a_second_experiment_of_the_same_name(server: Server, unchanged: None) -> None:
    answer = call(server, "POST", f"{API}/experiments/create", {"name": "bad"})
    assert "bad" in assert_mlflow_error(answer, 400, "RESOURCE_ALREADY_EXISTS", server=server)


# -- unknown ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{API}/runs/get?run_id={'ab' * 16}", None),
        ("GET", f"{API}/experiments/get?experiment_id=987654", None),
        ("GET", f"{API}/experiments/get-by-name?experiment_name=nothing-here", None),
        (
            "POST",
            f"{API}/runs/log-batch",
            {"run_id": "cd" * 16, "params": [{"key": "a", "value": "1"}]},
        ),
        ("POST", f"{API}/runs/update", {"run_id": "cd" * 16, "status": "FINISHED"}),
        ("POST", f"{API}/runs/delete", {"run_id": "cd" * 16}),
        ("POST", f"{API}/runs/create", {"experiment_id": "987654"}),
        ("GET", f"{API}/metrics/get-history?run_id={'ef' * 16}&metric_key=m", None),
        ("GET", f"{ARTIFACTS}?path=1/{'ab' * 16}/artifacts", None),
        ("GET", f"{ARTIFACTS}/1/{'ab' * 16}/artifacts/model.txt", None),
    ],
)
def test_unknown_ids_are_not_found(
    server: Server, unchanged: None, method: str, path: str, body: Any
) -> None:
    assert_mlflow_error(
        call(server, method, path, body), 404, "RESOURCE_DOES_NOT_EXIST", server=server
    )


# -- limits ---------------------------------------------------------------------------------


def test_batch_limits(server: Server, run: dict[str, str], unchanged: None) -> None:
    metric = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0}
    too_many = {"run_id": run["run_id"], "metrics": [metric] * 1001}
    answer = call(server, "POST", f"{API}/runs/log-batch", too_many)
    assert "at most 1000 metrics" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )
    params = [{"key": f"p{i}", "value": "1"} for i in range(101)]
    answer = call(
        server, "POST", f"{API}/runs/log-batch", {"run_id": run["run_id"], "params": params}
    )
    assert "at most 100 params" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )
    huge = {"run_id": run["run_id"], "tags": [{"key": "t", "value": "x" * 1_100_000}]}
    answer = call(server, "POST", f"{API}/runs/log-batch", huge)
    assert "at most 1000000 bytes" in assert_mlflow_error(
        answer, 400, "INVALID_PARAMETER_VALUE", server=server
    )


def test_an_upload_over_the_limit(server: Server, run: dict[str, str], unchanged: None) -> None:
    path = f"{ARTIFACTS}/{run['experiment_id']}/{run['run_id']}/artifacts/big.bin"
    answer = call(
        server,
        "PUT",
        path,
        raw=os.urandom(1024 * 1024 + 1),
        content_type="application/octet-stream",
    )
    assert "limit" in assert_mlflow_error(answer, 413, "INVALID_PARAMETER_VALUE", server=server)


# -- artifact paths -------------------------------------------------------------------------


TRAVERSALS = [
    "../../../escape.txt",
    "sub/../../../../escape.txt",
    "%2e%2e/%2e%2e/%2e%2e/escape.txt",
    "%252e%252e/%252e%252e/%252e%252e/escape.txt",
    "..%5c..%5c..%5cescape.txt",
    "%2e%2e%5c%2e%2e%5cescape.txt",
    "x/%00/escape.txt",
]


@pytest.mark.parametrize("tail", TRAVERSALS)
def test_traversing_artifact_paths_are_refused(
    server: Server, run: dict[str, str], unchanged: None, tail: str
) -> None:
    base = f"{ARTIFACTS}/{run['experiment_id']}/{run['run_id']}/artifacts/"
    put = call(server, "PUT", base + tail, raw=b"owned", content_type="application/octet-stream")
    assert_mlflow_error(put, 400, "INVALID_PARAMETER_VALUE", server=server)
    get = call(server, "GET", base + tail)
    assert_mlflow_error(get, 400, "INVALID_PARAMETER_VALUE", server=server)
    listing = call(
        server, "GET", f"{ARTIFACTS}?path={run['experiment_id']}/{run['run_id']}/artifacts/{tail}"
    )
    assert_mlflow_error(listing, 400, "INVALID_PARAMETER_VALUE", server=server)
    listed = call(server, "GET", f"{API}/artifacts/list?run_id={run['run_id']}&path={tail}")
    assert_mlflow_error(listed, 400, "INVALID_PARAMETER_VALUE", server=server)


@pytest.mark.parametrize("path", [f"{ARTIFACTS}//etc/passwd", f"{ARTIFACTS}/%2Fetc%2Fpasswd"])
def test_absolute_artifact_paths_are_refused(server: Server, unchanged: None, path: str) -> None:
    assert_mlflow_error(call(server, "GET", path), 400, "INVALID_PARAMETER_VALUE", server=server)


def test_paths_outside_any_run_are_not_served(
    server: Server, run: dict[str, str], unchanged: None
) -> None:
    for path in (
        f"{ARTIFACTS}/{run['experiment_id']}",
        f"{ARTIFACTS}/{run['experiment_id']}/x/y/z",
    ):
        assert_mlflow_error(
            call(server, "GET", path), 404, "RESOURCE_DOES_NOT_EXIST", server=server
        )
    other = f"{ARTIFACTS}/0/{run['run_id']}/artifacts/a.txt"  # the run, under the wrong experiment
    put = call(server, "PUT", other, raw=b"x", content_type="application/octet-stream")
    assert_mlflow_error(put, 404, "RESOURCE_DOES_NOT_EXIST", server=server)


# -- endpoints and methods ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{API}/model-versions/transition-stage"),
        ("POST", f"{API}/logged-models"),
        ("GET", f"{API}/traces"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/1/x/artifacts/f"),
        ("GET", "/ajax-api/2.0/mlflow/registered-models/get-deployment-job"),
        ("DELETE", f"{ARTIFACTS}/1/x/artifacts/f"),
        ("GET", "/api/2.0/no-such-thing"),
    ],
)
def test_unserved_endpoints_answer_501(
    server: Server, unchanged: None, method: str, path: str
) -> None:
    message = assert_mlflow_error(call(server, method, path), 501, "NOT_IMPLEMENTED", server=server)
    assert message.endswith("is not served by Carnet")


def test_a_wrong_method_is_405(server: Server, unchanged: None) -> None:
    answer = call(server, "GET", f"{API}/runs/create")
    assert "POST" in assert_mlflow_error(answer, 405, "BAD_REQUEST", server=server)
    assert answer.headers.get("allow") == "POST"


# -- what still works after all that --------------------------------------------------------


def test_good_requests_still_succeed(server: Server, run: dict[str, str]) -> None:
    metric = {"key": "m", "value": "NaN", "timestamp": 5, "step": 3}
    _ok(server, "POST", f"{API}/runs/log-batch", {"run_id": run["run_id"], "metrics": [metric]})
    history = _ok(server, "GET", f"{API}/metrics/get-history?run_id={run['run_id']}&metric_key=m")
    assert history == {"metrics": [{"key": "m", "value": "NaN", "timestamp": 5, "step": 3}]}
    points = [{"key": "s", "value": v, "timestamp": 1, "step": v} for v in range(10)]
    _ok(server, "POST", f"{API}/runs/log-batch", {"run_id": run["run_id"], "metrics": points})
    sampled = _ok(
        server,
        "GET",
        f"{API}/metrics/get-history-bulk-interval?run_ids={run['run_id']}&metric_key=s&max_results=3",
    )
    assert [m["step"] for m in sampled["metrics"]] == [0, 3, 6, 9]
    assert {m["run_id"] for m in sampled["metrics"]} == {run["run_id"]}
    page = _ok(
        server,
        "GET",
        f"{API}/metrics/get-history?run_id={run['run_id']}&metric_key=s&max_results=4",
    )
    assert [m["step"] for m in page["metrics"]] == [0, 1, 2, 3]
    token = page["next_page_token"]
    rest = _ok(
        server,
        "GET",
        f"{API}/metrics/get-history?run_id={run['run_id']}&metric_key=s&max_results=8&page_token={token}",
    )
    assert [m["step"] for m in rest["metrics"]] == [
        4,
        5,
        6,
        7,
        8,
        9,
    ] and "next_page_token" not in rest
    found = _ok(server, "POST", f"{API}/runs/search", {"experiment_ids": [run["experiment_id"]]})
    assert [r["info"]["run_id"] for r in found["runs"]] == [run["run_id"]]
    assert found["runs"][0]["data"]["params"] == [{"key": "lr", "value": "0.1"}]
