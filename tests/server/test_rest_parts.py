"""The REST store's parts on their own: retries and backoff against a small scripted HTTP
server (what is retried, what is not, ``Retry-After``, the give-up), MLflow's error answers
as Carnet's classes, credentials, log-batch splitting and idempotency keys, and the server's
batch-id memory."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.errors import (
    ConfigurationError,
    ExperimentNotFoundError,
    InvalidInputError,
    ParamOverwriteError,
    ReadOnlyError,
    RunNotFoundError,
    StoreError,
)
from carnet.server.batch_ids import BatchIds, already_written
from carnet.store.rest import RestStore, batches
from carnet.store.rest.session import (
    HttpSession,
    Retry,
    credentials,
    environment_proxy,
    read_json,
    retry_after,
)
from tests.server.served import free_port

Answer = tuple[int, dict[str, str], bytes] | str  # (status, headers, body), or "drop"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """What the stub answers, request by request (the last answer repeats)."""

    answers: list[Answer]
    seen: list[Seen] = field(default_factory=list)

    def next(self) -> Answer:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def ok(body: dict[str, Any] | None = None) -> Answer:
    return (200, {"Content-Type": "application/json"}, json.dumps(body or {}).encode())


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    body = json.dumps({"error_code": code, "message": message}).encode()
    return (status, {"Content-Type": "application/json", **headers}, body)


@pytest.fixture
def stub() -> Iterator[tuple[str, Script]]:
    """A scripted HTTP server on a free localhost port: (its address, its script)."""
    script = Script([ok()])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else b""
            script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            answer = script.next()
            if answer == "drop":  # the request arrived; no answer ever leaves
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            assert not isinstance(answer, str)
            status, headers, content = answer
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _short_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_HTTP_RETRY_TIMEOUT", "20")
    for name in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"CARNET_TRACKING_{name}", raising=False)
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)


def session(base: str) -> HttpSession:
    return HttpSession(base)


# -- proxies ---------------------------------------------------------------------------------


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_the_environments_proxy_is_used_unless_no_proxy_covers_the_host(
    stub: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server behind a proxy (``HTTP_PROXY``) is reached through it, as MLflow's client
    reaches it; the stub plays the proxy for a host name that does not even resolve."""
    proxy, script = stub
    _no_proxies(monkeypatch)
    far = "http://tracking.invalid:5000"
    assert environment_proxy(far) is None
    monkeypatch.setenv("HTTP_PROXY", proxy)
    assert environment_proxy(far) == proxy
    assert environment_proxy("https://tracking.invalid") is None  # no HTTPS_PROXY set
    monkeypatch.setenv("ALL_PROXY", "127.0.0.1:9")
    assert environment_proxy("https://tracking.invalid") == "http://127.0.0.1:9"
    script.answers = [ok({"experiment": {"experiment_id": "0"}})]
    found = session(far).send(
        "GET", "/api/2.0/mlflow/experiments/get", read_json, params={"experiment_id": "0"}
    )
    assert found == {"experiment": {"experiment_id": "0"}}
    assert script.seen[-1].path == f"{far}/api/2.0/mlflow/experiments/get?experiment_id=0"
    monkeypatch.setenv("NO_PROXY", "localhost,.invalid")
    assert environment_proxy(far) is None
    monkeypatch.setenv("CARNET_HTTP_RETRY_TIMEOUT", "0")
    with pytest.raises(StoreError, match="cannot reach the tracking server"):
        session(far).send("GET", "/api/2.0/mlflow/experiments/get", read_json)
    assert len(script.seen) == 1  # the direct attempt never reached the proxy


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_server_is_asked_again_after_the_pause_it_gives(
    stub: tuple[str, Script], status: int
) -> None:
    base, script = stub
    busy = error(status, "TEMPORARILY_UNAVAILABLE", "busy", **{"Retry-After": "0"})
    script.answers = [busy, busy, ok({"n": 1})]
    assert session(base).send("POST", "/x", read_json, retry=Retry.UNSENT) == {"n": 1}
    assert len(script.seen) == 3


def test_a_pause_longer_than_the_window_gives_up_at_once(stub: tuple[str, Script]) -> None:
    base, script = stub
    script.answers = [error(503, "TEMPORARILY_UNAVAILABLE", "come back", **{"Retry-After": "3600"})]
    with pytest.raises(StoreError, match="come back"):
        session(base).send("GET", "/x", read_json)
    assert len(script.seen) == 1


def test_a_lost_answer_is_asked_again_only_when_that_is_safe(stub: tuple[str, Script]) -> None:
    base, script = stub
    script.answers = ["drop", ok({"done": True})]
    answer = session(base).send(
        "POST", "/log", read_json, headers={"X-Id": "1"}, when_repeated={"X-Again": "1"}
    )
    assert answer == {"done": True}
    assert [s.headers.get("X-Again") for s in script.seen] == [None, "1"]
    script.answers, script.seen[:] = ["drop", ok()], []
    with pytest.raises(StoreError, match="may or may not have acted"):
        session(base).send("POST", "/create", read_json, retry=Retry.UNSENT)
    assert len(script.seen) == 1  # creating twice would make two runs


def test_a_defect_or_a_refusal_is_not_retried(stub: tuple[str, Script]) -> None:
    base, script = stub
    script.answers = [error(500, "INTERNAL_ERROR", "the server failed")]
    with pytest.raises(StoreError, match="the server failed"):
        session(base).send("GET", "/x", read_json)
    script.answers, script.seen[:] = [error(400, "INVALID_PARAMETER_VALUE", "bad")], []
    with pytest.raises(InvalidInputError, match="bad"):
        session(base).send("GET", "/x", read_json)
    assert len(script.seen) == 1


def test_an_unreachable_server_is_retried_for_the_window_then_tried_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CARNET_HTTP_RETRY_TIMEOUT", "0.6")
    port = free_port()
    down = session(f"http://127.0.0.1:{port}")
    with (
        caplog.at_level(logging.WARNING, "carnet"),
        pytest.raises(StoreError, match=r"cannot reach .*gave up after \d+ tries"),
    ):
        down.send("GET", "/x", read_json)
    assert "requests now try once" in caplog.text
    with pytest.raises(StoreError, match="cannot reach") as once:
        down.send("GET", "/x", read_json)
    assert "gave up" not in str(once.value)


def test_retry_after_takes_seconds_and_dates() -> None:
    import httpx

    def answer(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    assert retry_after(answer("7")) == 7.0
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert retry_after(answer(past)) == 0.0
    future = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert 3000 < (retry_after(answer(future)) or 0) <= 3600
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(503)) is None


# -- errors ----------------------------------------------------------------------------------


def test_mlflow_errors_become_carnet_classes(stub: tuple[str, Script]) -> None:
    base, script = stub
    store = RestStore(base)
    script.answers = [
        error(
            400,
            "INVALID_PARAMETER_VALUE",
            "alpha is 1",
            **{"X-Carnet-Error": "ParamOverwriteError"},
        )
    ]
    with pytest.raises(ParamOverwriteError, match="alpha is 1"):
        store.log_batch("r" * 32, params=[("alpha", "2")])
    # a header naming a class of another code is not believed
    script.answers = [
        error(400, "INVALID_PARAMETER_VALUE", "no", **{"X-Carnet-Error": "ExperimentExistsError"})
    ]
    with pytest.raises(InvalidInputError) as caught:
        store.get_run("r" * 32)
    assert type(caught.value) is InvalidInputError
    script.answers = [error(404, "RESOURCE_DOES_NOT_EXIST", "no such run")]
    with pytest.raises(RunNotFoundError, match="no such run"):
        store.get_run("r" * 32)
    script.answers = [error(404, "RESOURCE_DOES_NOT_EXIST", "no such experiment")]
    with pytest.raises(ExperimentNotFoundError):
        store.get_experiment("7")
    script.answers = [error(403, "PERMISSION_DENIED", "read only")]
    with pytest.raises(ReadOnlyError, match="read only"):
        store.delete_run("r" * 32)
    script.answers = [error(401, "UNAUTHENTICATED", "who are you")]
    with pytest.raises(ConfigurationError, match="who are you"):
        store.get_run("r" * 32)
    script.answers = [(404, {"Content-Type": "text/html"}, b"<html>nope</html>")]
    with pytest.raises(RunNotFoundError, match="answered 404"):
        store.get_run("r" * 32)


def test_a_server_that_is_not_a_tracking_server_is_named(stub: tuple[str, Script]) -> None:
    base, script = stub
    script.answers = [(200, {"Content-Type": "text/html"}, b"<html>a dashboard</html>")]
    with pytest.raises(ConfigurationError, match="did not answer with MLflow's JSON"):
        RestStore(base).get_experiment("1")


# -- credentials -----------------------------------------------------------------------------


def test_credentials_are_sent_as_mlflow_sends_them(
    stub: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, script = stub
    assert credentials() == {}
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-password")
    session(base).send("GET", "/x", read_json)
    assert script.seen[-1].headers["Authorization"] == "Basic YWxpY2U6czNjcmV0LXBhc3N3b3Jk"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-token")
    monkeypatch.setenv("CARNET_TRACKING_TOKEN", "carnet-token")
    session(base).send("GET", "/x", read_json)
    assert script.seen[-1].headers["Authorization"] == "Bearer carnet-token"
    for name in ("CARNET_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name)
    sent = len(script.seen)
    with pytest.raises(ConfigurationError, match="without a password"):
        session(base).send("GET", "/x", read_json)
    assert len(script.seen) == sent  # refused before anything was sent


# -- log-batch -------------------------------------------------------------------------------


def test_a_large_batch_is_cut_to_mlflow_limits_in_order() -> None:
    metrics = [("m", float(i), 1, i) for i in range(2500)]
    params = [(f"p{i}", "v" * 6000) for i in range(150)]
    tags = [(f"t{i}", "x") for i in range(30)]
    bodies = batches.split("r1", metrics, params, tags)
    decoded = [json.loads(b) for b in bodies]
    assert all(len(b) <= batches.MAX_BODY_BYTES for b in bodies)
    for d in decoded:
        assert d["run_id"] == "r1"
        assert len(d["metrics"]) <= 1000 and len(d["params"]) <= 100 and len(d["tags"]) <= 100
        assert len(d["metrics"]) + len(d["params"]) + len(d["tags"]) <= 1000
    assert [p["key"] for d in decoded for p in d["params"]] == [k for k, _ in params]
    assert [t["key"] for d in decoded for t in d["tags"]] == [k for k, _ in tags]
    assert [m["step"] for d in decoded for m in d["metrics"]] == list(range(2500))
    assert not decoded[-1]["params"]  # params and tags go first
    special = json.loads(batches.split("r", [("x", float("nan"), 1, 0)], [], [])[0])
    assert special["metrics"][0]["value"] == "NaN"
    assert batches.fingerprint("r1", bodies) == batches.fingerprint("r1", list(bodies))
    assert batches.fingerprint("r1", bodies) != batches.fingerprint("r2", bodies)


def test_a_failed_batch_call_made_again_reuses_its_ids_and_skips_what_was_written(
    stub: tuple[str, Script],
) -> None:
    base, script = stub
    store = RestStore(base)
    points = [("m", float(i), 1, i) for i in range(1500)]  # two requests
    script.answers = [ok(), error(400, "INVALID_STATE", "paused")]
    with pytest.raises(carnet.CarnetError, match="paused"):
        store.log_batch("r" * 32, metrics=points)
    first, second = script.seen
    script.answers, script.seen[:] = [ok()], []
    store.log_batch("r" * 32, metrics=points)
    (again,) = script.seen  # the request that was written is not sent again
    assert again.body == second.body
    assert again.headers["X-Carnet-Batch-Id"] == second.headers["X-Carnet-Batch-Id"]
    assert again.headers["X-Carnet-Batch-Retry"] == "1"
    assert "X-Carnet-Batch-Retry" not in first.headers
    script.seen[:] = []
    store.log_batch("r" * 32, metrics=points)  # after success, the same content is new data
    ids = {s.headers["X-Carnet-Batch-Id"] for s in script.seen}
    assert len(script.seen) == 2 and not ids & {first.headers["X-Carnet-Batch-Id"]}


# -- the server's memory of batch ids --------------------------------------------------------


def test_batch_ids_write_once_and_forget_failures() -> None:
    ids = BatchIds(max_runs=2, max_ids=2)
    writes: list[str] = []
    assert ids.write_once("r", "b1", lambda: writes.append("b1")) is True
    assert ids.write_once("r", "b1", lambda: writes.append("again")) is False

    def broken() -> None:
        raise StoreError("disk full")

    with pytest.raises(StoreError):
        ids.write_once("r", "b2", broken)
    assert ids.write_once("r", "b2", lambda: writes.append("b2")) is True
    assert ids.write_once("r", "b3", lambda: writes.append("b3")) is True
    assert ids.write_once("r", "b1", lambda: writes.append("b1 forgotten")) is True  # bounded
    assert ids.write_once("r", "b9", lambda: writes.append("x"), written=lambda: True) is False
    assert writes == ["b1", "b2", "b3", "b1 forgotten"]


def test_the_same_batch_id_at_once_is_written_once() -> None:
    ids = BatchIds()
    writes: list[int] = []
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(10)
        writes.append(1)

    first = threading.Thread(target=ids.write_once, args=("r", "same", slow))
    first.start()
    started.wait(10)
    results: list[bool] = []
    second = threading.Thread(
        target=lambda: results.append(ids.write_once("r", "same", lambda: writes.append(2)))
    )
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert writes == [1] and results == [False]


def test_a_batch_counts_as_written_when_all_its_points_are_there(tmp_path: Path) -> None:
    client = carnet.Client(str(tmp_path / "c.db"))
    rid = client.create_run(client.create_experiment("e")).info.run_id
    batch = [carnet.Metric("m", 1.0, 5, 0), carnet.Metric("m", float("nan"), 5, 1)]
    assert already_written(client, rid, batch) is False
    client.log_batch(rid, batch)
    assert already_written(client, rid, batch) is True
    assert already_written(client, rid, [*batch, batch[0]]) is False  # twice is not there
    assert already_written(client, rid, []) is False  # params and tags: write them again
