"""Training processes that die: SIGKILL, SIGTERM, SIGINT, an exception, a normal exit.

Each test runs a real Python process (``workers.py``) that logs through the
fluent API, then kills it with a real signal and reads the store from here.
The heartbeat runs every 0.5 s and goes stale after 3 s in these processes,
so a crash shows within seconds instead of the default minute.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import carnet
import carnet.store.sql_store  # loads every store module that holds the timeout

from .conftest import WORKERS, finish, start_worker, wait_for_file, worker_env

FAST_HEARTBEAT = {"CARNET_HEARTBEAT_INTERVAL": "0.5", "CARNET_HEARTBEAT_TIMEOUT": "3"}
#: Buffered points stay queued until something flushes them on purpose.
NEVER_FLUSH = {"CARNET_FLUSH_INTERVAL": "3600"}
TIMEOUT_S = 3.0  # six beats: a loaded machine may delay one or two


@pytest.fixture
def fast_crash(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process reads with the same short timeout the workers were given.

    The store reads CARNET_HEARTBEAT_TIMEOUT at each read, so setting it after import
    is enough (fresh processes that start with it are checked below).
    """
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", str(TIMEOUT_S))
    yield


def status(uri: str, run_id: str) -> str:
    return carnet.Client(uri).get_run(run_id).info.status


def status_in_fresh_process(uri: str, run_id: str) -> str:
    """What another machine's reader sees, configured only by CARNET_HEARTBEAT_TIMEOUT."""
    code = (
        "import sys, carnet; "
        "print(carnet.Client(sys.argv[1], read_only=True).get_run(sys.argv[2]).info.status)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, uri, run_id],
        env=worker_env(CARNET_HEARTBEAT_TIMEOUT=str(TIMEOUT_S)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def test_sigkill_keeps_committed_data_and_the_run_reads_crashed(
    any_uri: str, tmp_path: Path, fast_crash: None
) -> None:
    marker = tmp_path / "logged"
    proc = start_worker(
        "crash", {"uri": any_uri, "marker": str(marker), "points": 200}, **FAST_HEARTBEAT
    )
    try:
        wait_for_file(marker, proc)
        run_id = marker.read_text()
        time.sleep(TIMEOUT_S + 0.7)  # longer than the timeout: only the heartbeat keeps it alive
        assert status(any_uri, run_id) == "RUNNING"
    finally:
        proc.send_signal(signal.SIGKILL)
        code, _, _ = finish(proc)
    assert code == -signal.SIGKILL
    killed_at = time.monotonic()
    assert status(any_uri, run_id) == "RUNNING", "CRASHED before the heartbeat went stale"
    while status(any_uri, run_id) != "CRASHED":
        assert time.monotonic() - killed_at < TIMEOUT_S + 3, "never read CRASHED"
        time.sleep(0.1)
    assert time.monotonic() - killed_at >= TIMEOUT_S - 1.0

    client = carnet.Client(any_uri)
    run = client.get_run(run_id)
    assert run.data.params == {"lr": "0.01", "layers": "3"}
    assert run.data.tags["phase"] == "training"
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(200))
    assert history[-1].value == 1.0 / 200
    assert run.info.end_time is None

    carnet.set_tracking_uri(any_uri)
    crashed = carnet.search_runs(
        experiment_names=["crashes"],
        filter_string="attributes.status = 'CRASHED'",
        output_format="list",
    )
    assert isinstance(crashed, list)
    assert [r.info.run_id for r in crashed] == [run_id]
    assert status_in_fresh_process(any_uri, run_id) == "CRASHED"


@pytest.mark.parametrize("with_block", [True, False], ids=["with-block", "plain"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_flush_buffered_points_and_end_killed(
    any_uri: str, tmp_path: Path, signum: signal.Signals, with_block: bool
) -> None:
    marker = tmp_path / "queued"
    points = 5_000
    proc = start_worker(
        "buffered",
        {
            "uri": any_uri,
            "marker": str(marker),
            "points": points,
            "with_block": with_block,
            "then": "wait",
        },
        **NEVER_FLUSH,
    )
    wait_for_file(marker, proc)
    run_id = marker.read_text()
    client = carnet.Client(any_uri)
    assert client.get_metric_history(run_id, "buffered") == [], "points were not buffered"
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code in (-signum, 1, 130), err
    run = client.get_run(run_id)
    assert run.info.status == "KILLED", err
    assert run.info.end_time is not None
    history = client.get_metric_history(run_id, "buffered")
    assert [m.value for m in history] == [float(s) for s in range(points)]
    assert run.data.metrics == {"sync": 1.0, "buffered": float(points - 1)}


def test_a_worker_started_with_sigint_ignored_still_stops_on_sigint(
    uri: str, tmp_path: Path
) -> None:
    """As under `make test &` or nohup: the worker inherits SIGINT ignored and must take it
    back, or every SIGINT test here would wait for it in vain."""
    marker = tmp_path / "queued"
    args = {"uri": uri, "marker": str(marker), "points": 500, "with_block": True, "then": "wait"}
    ignoring = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ignoring, str(WORKERS), "buffered", json.dumps(args)],
        env=worker_env(**NEVER_FLUSH),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_file(marker, proc)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc, timeout=30)
    assert code in (-signal.SIGINT, 1, 130), err
    run = carnet.Client(uri).get_run(marker.read_text())
    assert run.info.status == "KILLED"
    assert len(carnet.Client(uri).get_metric_history(run.info.run_id, "buffered")) == 500


@pytest.mark.parametrize("with_block", [True, False], ids=["with-block", "plain"])
def test_an_exception_ends_the_run_failed_with_the_error_in_tags(
    any_uri: str, tmp_path: Path, with_block: bool
) -> None:
    marker = tmp_path / "queued"
    proc = start_worker(
        "buffered",
        {
            "uri": any_uri,
            "marker": str(marker),
            "points": 100,
            "with_block": with_block,
            "then": "raise",
            "secret": "xyzzy-42",
            "expect_exception": True,
        },
        **NEVER_FLUSH,
    )
    code, _, err = finish(proc)
    assert code == 1 and "ValueError: diverged at step 100 xyzzy-42" in err
    run = carnet.Client(any_uri).get_run(marker.read_text())
    assert run.info.status == "FAILED"
    assert run.data.tags["mlflow.carnet.error.type"] == "ValueError"
    assert "diverged at step 100 xyzzy-42" in run.data.tags["mlflow.carnet.error.message"]
    assert len(carnet.Client(any_uri).get_metric_history(run.info.run_id, "buffered")) == 100


def test_buffered_points_are_written_at_normal_exit(any_uri: str, tmp_path: Path) -> None:
    """No end_run, no with-block: the script just ends, and nothing queued is lost."""
    marker = tmp_path / "queued"
    proc = start_worker(
        "buffered",
        {
            "uri": any_uri,
            "marker": str(marker),
            "points": 20_000,
            "with_block": False,
            "then": "return",
        },
        **NEVER_FLUSH,
    )
    code, _, err = finish(proc)
    assert code == 0, err
    client = carnet.Client(any_uri)
    run = client.get_run(marker.read_text())
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "buffered")) == 20_000
    assert run.summaries["buffered"].count == 20_000


def test_env_configures_heartbeat_defaults() -> None:
    """The documented defaults: a beat every 10 s, CRASHED after 60 s of silence."""
    code = (
        "import json, carnet.settings as s; "
        "print(json.dumps([s.HEARTBEAT_INTERVAL.get(), s.HEARTBEAT_TIMEOUT.get()]))"
    )
    env = worker_env()
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [10.0, 60.0]
    assert os.environ.get("CARNET_HEARTBEAT_TIMEOUT") is None


def test_a_suspended_process_reads_crashed_then_running_again(
    uri: str, tmp_path: Path, fast_crash: None
) -> None:
    """CRASHED is derived, not written: a process that was only paused comes back RUNNING."""
    marker = tmp_path / "logged"
    proc = start_worker("crash", {"uri": uri, "marker": str(marker), "points": 5}, **FAST_HEARTBEAT)
    try:
        wait_for_file(marker, proc)
        run_id = marker.read_text()
        proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + TIMEOUT_S + 3
        while status(uri, run_id) != "CRASHED":
            assert time.monotonic() < deadline, "a silent run never read CRASHED"
            time.sleep(0.1)
        proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 5
        while status(uri, run_id) != "RUNNING":
            assert time.monotonic() < deadline, "the resumed run's heartbeat never came back"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        finish(proc)
