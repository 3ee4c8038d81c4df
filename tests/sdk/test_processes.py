"""Real subprocesses: buffered points survive exit and SIGTERM; racing store creation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import carnet

pytestmark = pytest.mark.slow


def _spawn(code: str, db: Path, **env: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "CARNET_TRACKING_URI": str(db), **env}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_buffered_points_are_written_at_exit(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    proc = _spawn(
        """
        import carnet
        carnet.set_experiment("x")
        carnet.start_run(run_name="no-context")
        for i in range(5000):
            carnet.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=False)
        """,
        db,
        CARNET_FLUSH_INTERVAL="60",
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    client = carnet.Client(str(db))
    run = client.search_runs([client.get_experiment_by_name("x").experiment_id])[0]  # type: ignore[union-attr]
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 5000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_flush_and_end_killed(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "sig.db"
    proc = _spawn(
        """
        import sys, time, carnet
        carnet.set_experiment("x")
        with carnet.start_run():
            for i in range(1000):
                carnet.log_metric("loss", float(i), step=i, synchronous=False)
            print("ready", flush=True)
            time.sleep(120)
        """,
        db,
        CARNET_FLUSH_INTERVAL="60",
        CARNET_ASYNC_LOGGING="true",
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    client = carnet.Client(str(db))
    run = client.search_runs([client.get_experiment_by_name("x").experiment_id])[0]  # type: ignore[union-attr]
    assert run.info.status == "KILLED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1000


def test_many_processes_create_a_new_store_at_once(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    start_at = time.time() + 1.5
    code = f"""
        import time, carnet
        time.sleep(max(0.0, {start_at} - time.time()))
        carnet.set_experiment("race")
        for i in range(5):
            with carnet.start_run():
                carnet.log_params({{"i": i}})
                carnet.log_metrics({{"m": float(i)}})
        """
    procs = [_spawn(code, db) for _ in range(6)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    frame = carnet.Client(str(db)).search_runs_frame(
        [carnet.Client(str(db)).get_experiment_by_name("race").experiment_id]  # type: ignore[union-attr]
    )
    assert len(frame) == 30
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
