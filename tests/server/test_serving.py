"""One port, two things: the dashboard at ``/`` (Streamlit's page, its health check and
static files) and the API routes, which come before Streamlit's catch-all. Concurrent
writers on SQLite all succeed, in full, with no "database is locked" anywhere."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import carnet
from tests.server.served import Server, assert_mlflow_error, call, carnet_server

API = "/api/2.0/mlflow"


def test_the_dashboard_is_served_at_the_root(server: Server) -> None:
    page = call(server, "GET", "/")
    assert page.status == 200
    assert page.headers.get("content-type", "").startswith("text/html")
    assert b"<html" in page.body.lower() and b"streamlit" in page.body.lower()
    assert call(server, "GET", "/_stcore/health").body == b"ok"


def test_api_routes_come_before_streamlits_catch_all(server: Server) -> None:
    health = call(server, "GET", "/health")
    assert (health.status, health.body) == (200, b"OK")
    # Streamlit answers unknown paths with its page; these are the API's own answers.
    assert_mlflow_error(
        call(server, "GET", f"{API}/nothing"), 501, "NOT_IMPLEMENTED", server=server
    )
    found = call(server, "POST", "/ajax-api/2.0/mlflow/experiments/search", {})
    assert found.status == 200 and found.headers["content-type"] == "application/json"
    assert [e["name"] for e in found.json()["experiments"]] == ["Default"]
    assert b"<html" in call(server, "GET", "/runs").body.lower()  # a dashboard page
    assert '"GET /health' not in server.log_text()  # no access log unless --access-log


@pytest.fixture
def experiment(server: Server) -> str:
    answer = call(server, "POST", f"{API}/experiments/create", {"name": "threads"})
    assert answer.status == 200, answer.body
    return str(answer.json()["experiment_id"])


def test_concurrent_writers_all_succeed(server: Server, experiment: str) -> None:
    threads, batches, per_batch = 12, 15, 20
    failures: list[Any] = []
    runs: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        created = call(server, "POST", f"{API}/runs/create", {"experiment_id": experiment})
        if created.status != 200:
            failures.append((n, created.status, created.body[:300]))
            return
        run_id = created.json()["run"]["info"]["run_id"]
        for b in range(batches):
            metrics = [
                {"key": "m", "value": b * per_batch + i, "timestamp": 1, "step": b * per_batch + i}
                for i in range(per_batch)
            ]
            body = {"run_id": run_id, "metrics": metrics, "tags": [{"key": f"t{b}", "value": "x"}]}
            for answer in (
                call(server, "POST", f"{API}/runs/log-batch", body),
                call(server, "GET", f"{API}/metrics/get-history?run_id={run_id}&metric_key=m"),
            ):
                if answer.status != 200:
                    failures.append((n, answer.status, answer.body[:300]))
        with lock:
            runs.append(run_id)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    store = carnet.Client(server.uri, read_only=True)
    assert len(runs) == threads
    for run_id in runs:
        values = [m.value for m in store.get_metric_history(run_id, "m")]
        assert values == [float(v) for v in range(batches * per_batch)]
        tags = store.get_run(run_id).data.tags
        assert set(tags) == {f"t{b}" for b in range(batches)} | {
            "mlflow.runName",
            "mlflow.carnet.heartbeat",
        }
    assert "locked" not in server.log_text().lower()


def test_several_workers_on_postgresql(pg_uri: str, tmp_path: Path) -> None:
    """With PostgreSQL the server is stateless: two worker processes share the store, and
    requests spread over both all land."""
    with carnet_server(tmp_path, uri=pg_uri, args=("--workers", "2")) as server:
        created = call(server, "POST", f"{API}/experiments/create", {"name": "pg"})
        assert created.status == 200, created.body
        experiment_id = created.json()["experiment_id"]
        failures: list[Any] = []
        run_ids: list[str] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            run = call(server, "POST", f"{API}/runs/create", {"experiment_id": experiment_id})
            if run.status != 200:
                failures.append(run.body[:300])
                return
            run_id = run.json()["run"]["info"]["run_id"]
            for step in range(20):
                body = {"run_id": run_id, "key": "m", "value": step, "timestamp": 1, "step": step}
                answer = call(server, "POST", f"{API}/runs/log-metric", body)
                if answer.status != 200:
                    failures.append(answer.body[:300])
            with lock:
                run_ids.append(run_id)

        workers = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert failures == []
        pids = {line.split("[")[1].split("]")[0] for line in server.log_text().splitlines()
                if "Started server process" in line}  # fmt: skip
        assert len(pids) == 2
        store = carnet.Client(pg_uri, read_only=True)
        for run_id in run_ids:
            history = store.get_metric_history(run_id, "m")
            assert [m.value for m in history] == [float(s) for s in range(20)]
        assert b"<html" in call(server, "GET", "/").body.lower()
