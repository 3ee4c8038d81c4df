"""What the REST store does when answers are lost and the server goes away: a log-batch
repeated with its id is written once (also by a server that restarted meanwhile), a server
killed mid-load and restarted on the same store and port loses and duplicates nothing of
what Carnet's SDK logged synchronously, and points buffered while the server is down are
spooled and written back by ``carnet replay --db http://...``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import carnet
from carnet.store.spool import read_spool
from tests.server.served import Server, carnet_server, free_port, kill

API = "/api/2.0/mlflow"
BATCH = "/api/2.0/mlflow/runs/log-batch"


def new_run(base: str) -> str:
    """A run created as MLflow's client creates one (raw requests)."""
    with httpx.Client(base_url=base, timeout=60) as http:
        name = f"outage-{uuid.uuid4().hex[:8]}"
        created = http.post(f"{API}/experiments/create", json={"name": name})
        experiment_id = created.json()["experiment_id"]
        run = http.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
        return str(run.json()["run"]["info"]["run_id"])


def points(run_id: str, key: str, steps: range) -> dict[str, Any]:
    metrics = [{"key": key, "value": s / 2, "timestamp": 1000 + s, "step": s} for s in steps]
    return {"run_id": run_id, "metrics": metrics, "tags": [{"key": "t", "value": key}]}


def steps_of(server: Server, run_id: str, key: str) -> list[int]:
    return [m.step for m in carnet.Client(server.uri).get_metric_history(run_id, key)]


def test_a_batch_sent_again_with_its_id_is_written_once(server: Server) -> None:
    run_id = new_run(server.base)
    with httpx.Client(base_url=server.base, timeout=60) as http:
        once = {"X-Carnet-Batch-Id": uuid.uuid4().hex}
        for _ in range(3):  # the first answer was lost: the client sends it again
            assert http.post(
                BATCH, json=points(run_id, "with_id", range(5)), headers=once
            ).is_success
        for _ in range(2):  # MLflow's client sends no id: each request is written
            assert http.post(BATCH, json=points(run_id, "without_id", range(2))).is_success
        bad = http.post(
            BATCH, json=points(run_id, "bad", range(1)), headers={"X-Carnet-Batch-Id": "!"}
        )
        assert bad.status_code == 400 and "X-Carnet-Batch-Id" in bad.json()["message"]
    assert steps_of(server, run_id, "with_id") == [0, 1, 2, 3, 4]
    assert steps_of(server, run_id, "without_id") == [0, 0, 1, 1]
    assert steps_of(server, run_id, "bad") == []


def test_the_same_batch_id_sent_at_once_is_written_once(server: Server) -> None:
    run_id = new_run(server.base)
    body, headers = points(run_id, "racing", range(50)), {"X-Carnet-Batch-Id": uuid.uuid4().hex}
    statuses: list[int] = []

    def send() -> None:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            statuses.append(http.post(BATCH, json=body, headers=headers).status_code)

    senders = [threading.Thread(target=send) for _ in range(6)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert statuses == [200] * 6
    assert steps_of(server, run_id, "racing") == list(range(50))


def test_a_restarted_server_takes_a_repeated_batch_it_forgot_as_written(tmp_path: Path) -> None:
    folder, port = tmp_path / "server", free_port()
    batch_id = uuid.uuid4().hex
    with carnet_server(folder, port=port) as first:
        run_id = new_run(first.base)
        with httpx.Client(base_url=first.base, timeout=60) as http:
            body = points(run_id, "m", range(10))
            assert http.post(BATCH, json=body, headers={"X-Carnet-Batch-Id": batch_id}).is_success
        kill(first)  # committed, and the answer (say) never left
    with carnet_server(folder, port=port) as second:
        again = {"X-Carnet-Batch-Id": batch_id, "X-Carnet-Batch-Retry": "1"}
        fresh = {"X-Carnet-Batch-Id": uuid.uuid4().hex, "X-Carnet-Batch-Retry": "1"}
        with httpx.Client(base_url=second.base, timeout=60) as http:
            assert http.post(BATCH, json=points(run_id, "m", range(10)), headers=again).is_success
            # a repeated batch that never got written is written
            assert http.post(BATCH, json=points(run_id, "n", range(3)), headers=fresh).is_success
        assert steps_of(second, run_id, "m") == list(range(10))
        assert steps_of(second, run_id, "n") == [0, 1, 2]


@pytest.mark.slow
def test_a_server_killed_mid_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    folder, port = tmp_path / "server", free_port()
    keys = [f"k{j}" for j in range(25)]
    logged: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def load(client: carnet.Client, run_id: str) -> None:
        step = 0
        try:
            while not stop.is_set():
                client.log_batch(run_id, [(k, float(step), 1000 + step, step) for k in keys])
                logged.append(step)
                step += 1
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 120
        while len(logged) < count and not failures and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not failures and len(logged) >= count, (len(logged), failures)

    with carnet_server(folder, port=port) as first:
        client = carnet.Client(first.base)
        run_id = client.create_run(client.create_experiment("load")).info.run_id
        writer = threading.Thread(target=load, args=(client, run_id))
        writer.start()
        try:
            wait_for(150)
            kill(first)
            killed_at = len(logged)
        except BaseException:
            stop.set()
            writer.join()
            raise
    try:
        with carnet_server(folder, port=port) as second:
            wait_for(killed_at + 150)  # the call in flight was retried until the server was back
            stop.set()
            writer.join(120)
            assert failures == []
            for key in keys:
                assert steps_of(second, run_id, key) == list(range(len(logged))), key
    finally:
        stop.set()
        writer.join(120)


SCRIPT = """
import sys
import carnet

client = carnet.Client()
for i in range(300):
    client.log_metric(sys.argv[1], "loss", i / 10, step=i, synchronous=False)
print("logged", flush=True)
"""


@pytest.mark.slow
def test_points_buffered_while_the_server_is_down_are_spooled_then_replayed(
    tmp_path: Path,
) -> None:
    folder, port = tmp_path / "server", free_port()
    with carnet_server(folder, port=port) as up:
        client = carnet.Client(up.base)
        run_id = client.create_run(client.create_experiment("offline")).info.run_id
        base = up.base
    spool = tmp_path / "spool"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "MLFLOW_"))},
        "CARNET_TRACKING_URI": base,
        "CARNET_SPOOL_DIR": str(spool),
        "CARNET_RETRY_TIMEOUT": "1",
        "CARNET_HTTP_RETRY_TIMEOUT": "0.5",
        "CARNET_FLUSH_INTERVAL": "0.1",
    }
    done = subprocess.run(  # a fixed argv, no shell
        [sys.executable, "-c", SCRIPT, run_id],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "carnet replay" in done.stderr
    (saved,) = spool.glob("carnet-unwritten-*.jsonl")
    batches = list(read_spool(saved))
    assert {b.store for b in batches} == {base} and {b.run_id for b in batches} == {run_id}
    assert sorted(p[3] for b in batches for p in b.metrics) == list(range(300))
    with carnet_server(folder, port=port) as back:
        replayed = subprocess.run(  # a fixed argv, no shell
            [sys.executable, "-m", "carnet.cli", "replay", str(saved), "--db", back.base],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
        )  # fmt: skip
        assert replayed.returncode == 0, replayed.stderr
        assert f"replayed 300 points of 1 run into {back.base}" in replayed.stdout
        history = carnet.Client(back.uri).get_metric_history(run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(i, i / 10) for i in range(300)]
    assert not saved.exists()
