"""The heartbeat rule on a server (with a two-second ``CARNET_HEARTBEAT_TIMEOUT``): a run
that MLflow's client created (it never beats) stays RUNNING until its client ends it, kept
alive by the server; a run that Carnet's SDK started over HTTP is beaten for by its process,
and reads as CRASHED once that process is killed, as with a direct store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import carnet
from tests.server.served import Server, carnet_server

API = "/api/2.0/mlflow"
TIMEOUT_S = 2.0
BEATS = {"CARNET_HEARTBEAT_TIMEOUT": str(TIMEOUT_S), "CARNET_HEARTBEAT_INTERVAL": "0.3"}

SCRIPT = """
import sys, time
import carnet

carnet.set_experiment(sys.argv[1])
run = carnet.start_run()
print(run.info.run_id, flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def beating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose crash timeout is two seconds and which beats every 0.3 s."""
    with carnet_server(tmp_path_factory.mktemp("beats"), env=BEATS) as running:
        yield running


@pytest.fixture(autouse=True)
def _short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BEATS.items():
        monkeypatch.setenv(name, value)


def status(server: Server, run_id: str) -> str:
    return str(carnet.Client(server.uri, read_only=True).get_run(run_id).info.status)


def past_the_timeout() -> None:
    time.sleep(TIMEOUT_S * 2)


def test_a_run_of_a_client_that_never_beats_stays_running(beating: Server) -> None:
    with httpx.Client(base_url=beating.base, timeout=60) as http:
        name = f"mlflow-{uuid.uuid4().hex[:8]}"
        experiment_id = http.post(f"{API}/experiments/create", json={"name": name}).json()[
            "experiment_id"
        ]
        created = http.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
        run_id = created.json()["run"]["info"]["run_id"]
        # The control: a run made in the store directly, that nobody beats for.
        unbeaten = carnet.Client(beating.uri).create_run(experiment_id).info.run_id
        past_the_timeout()
        assert status(beating, unbeaten) == "CRASHED"  # the timeout is in force
        assert status(beating, run_id) == "RUNNING"
        stored = carnet.Client(beating.uri).get_run(run_id)
        assert stored.data.tags["mlflow.carnet.heartbeat"] == "server"
        ended = http.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED"})
        assert ended.is_success
    assert status(beating, run_id) == "FINISHED"


def test_a_carnet_process_over_http_beats_and_its_death_reads_as_crashed(
    beating: Server, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "MLFLOW_"))},
        **BEATS,
        "CARNET_TRACKING_URI": beating.base,
    }
    experiment = f"carnet-{uuid.uuid4().hex[:8]}"
    processes = [
        subprocess.Popen(  # a fixed argv, no shell
            [sys.executable, "-c", SCRIPT, experiment],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    try:
        alive, doomed = processes
        run_ids = []
        for process in processes:
            assert process.stdout is not None
            run_ids.append(process.stdout.readline().strip())
        alive_id, doomed_id = run_ids
        past_the_timeout()
        assert [status(beating, r) for r in run_ids] == ["RUNNING", "RUNNING"]
        alive_tags = carnet.Client(beating.uri).get_run(alive_id).data.tags
        assert "mlflow.carnet.heartbeat" not in alive_tags
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(60)
        past_the_timeout()
        assert status(beating, doomed_id) == "CRASHED"
        assert status(beating, alive_id) == "RUNNING"
        alive.send_signal(signal.SIGTERM)  # ends its run KILLED on the way out
        alive.wait(60)
        assert status(beating, alive_id) == "KILLED"
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(60)
            if process.stdout is not None:
                process.stdout.close()
