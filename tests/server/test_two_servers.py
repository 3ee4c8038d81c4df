"""Several servers on one PostgreSQL store: the server keeps no state of its own, so two
``carnet server`` processes (or one with ``--workers 2``) serve the same runs to clients
writing through either. MLflow's own client and Carnet's REST store write at once; every
point lands exactly once, a search on either server sees every run, and every run's status
and end time read the same through both."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.entities import Metric
from tests.server.served import Server, call, carnet_server, mlflow_python, run_mlflow

pytestmark = pytest.mark.postgres

API = "/api/2.0/mlflow"
EXPERIMENT = "shared"
MLFLOW_RUNS = 4
REST_THREADS = 4
REST_BATCHES = 8
REST_BATCH = 500


def _rest_writer(
    servers: list[Server], n: int, results: dict[str, Any], failures: list[str]
) -> None:
    """Carnet's SDK over HTTP: a run created through one server, written through every
    server in turn, ended through the last one."""
    try:
        clients = [carnet.Client(s.base) for s in servers]
        first = clients[n % len(clients)]
        experiment_id = first.get_experiment_by_name(EXPERIMENT).experiment_id  # type: ignore[union-attr]
        run_id = first.create_run(experiment_id, run_name=f"rest-{n}").info.run_id
        first.log_param(run_id, "label", f"rest-{n}")
        now = int(time.time() * 1000)
        for b in range(REST_BATCHES):
            client = clients[(n + b) % len(clients)]
            points = [
                Metric("loss", s * 0.25, now, s)
                for s in range(b * REST_BATCH, (b + 1) * REST_BATCH)
            ]
            client.log_batch(run_id, points, synchronous=True)
        last = clients[(n + REST_BATCHES) % len(clients)]
        status = "KILLED" if n == 0 else "FINISHED"
        last.set_terminated(run_id, status)
        results[run_id] = {"loss": REST_BATCHES * REST_BATCH, "status": status}
    except Exception as exc:  # reported by the test, with the others
        failures.append(f"rest-{n}: {exc!r}")


def _drive(servers: list[Server], tmp_path: Path) -> dict[str, Any]:
    """MLflow's client (one process per server) and Carnet's REST store (threads spread over
    the servers) writing at once; what each run should hold, by run id."""
    mlflow_python()
    created = call(servers[0], "POST", f"{API}/experiments/create", {"name": EXPERIMENT})
    assert created.status == 200, created.body
    expected: dict[str, Any] = {}
    failures: list[str] = []

    def mlflow_writer(i: int) -> None:
        server = servers[i % len(servers)]
        try:
            got = run_mlflow(server, "shared_writer.py", tmp_path / f"mlflow-{i}",
                             EXPERIMENT, f"mlflow-{i}", str(MLFLOW_RUNS))  # fmt: skip
            expected.update(got)
        except Exception as exc:
            failures.append(f"mlflow-{i}: {exc}")

    threads = [threading.Thread(target=mlflow_writer, args=(i,)) for i in range(2)]
    threads += [
        threading.Thread(target=_rest_writer, args=(servers, n, expected, failures))
        for n in range(REST_THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert failures == [], failures
    assert len(expected) == 2 * MLFLOW_RUNS + REST_THREADS
    return {"experiment_id": created.json()["experiment_id"], "runs": expected}


def _check(servers: list[Server], uri: str, driven: dict[str, Any]) -> None:
    expected: dict[str, Any] = driven["runs"]
    store = carnet.Client(uri, read_only=True)
    for run_id, want in expected.items():
        steps = [m.step for m in store.get_metric_history(run_id, "loss")]
        assert steps == list(range(want["loss"])), (run_id, len(steps))  # once each, in order
        if "acc" in want:
            assert len(store.get_metric_history(run_id, "acc")) == want["acc"]
    seen = []
    for server in servers:
        query = {"experiment_ids": [driven["experiment_id"]], "max_results": 1000}
        found = call(server, "POST", f"{API}/runs/search", query)
        assert found.status == 200, found.body
        runs = {r["info"]["run_id"]: r["info"] for r in found.json()["runs"]}
        assert set(runs) == set(expected), server.base
        for run_id, want in expected.items():
            info = runs[run_id]
            assert info["status"] == want["status"], (run_id, info)
            assert int(info["end_time"]) >= int(info["start_time"]) > 0, info
        seen.append({r: (i["status"], i["end_time"]) for r, i in runs.items()})
    assert all(s == seen[0] for s in seen)  # every server tells the same story
    for run_id, want in expected.items():
        run = store.get_run(run_id)
        assert run.info.status == want["status"] and run.info.end_time is not None


@contextlib.contextmanager
def _two_servers(tmp_path: Path, uri: str) -> Iterator[list[Server]]:
    with carnet_server(tmp_path / "a", uri=uri) as a, carnet_server(tmp_path / "b", uri=uri) as b:
        yield [a, b]


def test_two_servers_on_one_postgresql(pg_uri: str, tmp_path: Path) -> None:
    with _two_servers(tmp_path, pg_uri) as servers:
        driven = _drive(servers, tmp_path)
        _check(servers, pg_uri, driven)
        for server in servers:
            assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


def test_two_workers_on_postgresql_with_both_clients(pg_uri: str, tmp_path: Path) -> None:
    with carnet_server(tmp_path / "w", uri=pg_uri, args=("--workers", "2")) as server:
        driven = _drive([server, server], tmp_path)
        _check([server], pg_uri, driven)
        assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
