"""The background WAL checkpointer: it copies the log back while the writer goes on,
leaves SQLite's own checkpoint in charge of restarting the log, and stops with the store."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import carnet
from carnet.store.engine import dispose_engines
from carnet.store.wal_checkpointer import LOOK_EVERY, Checkpointer


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "carnet-wal-checkpoint"]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def _wait_for(check: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_it_wakes_half_way_to_the_threshold_and_copies_the_log_back(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _connect(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # only the checkpointer copies here
    writer.execute("CREATE TABLE t (x BLOB)")
    checkpointer = Checkpointer(path, 1600, lambda: _connect(path))  # last stretch: 100
    assert checkpointer.step == 100
    try:

        def write_until(frames: int) -> None:
            for _ in range(3000):  # a log copied back whole may start over: not forever
                if (checkpointer.frames() or (0, 0))[0] >= frames:
                    return
                writer.execute("INSERT INTO t VALUES (zeroblob(3000))")
                checkpointer.after_commit()

        write_until(700)
        assert checkpointer.thread is None  # not half way to the threshold: nothing yet
        write_until(830)  # the index is read every few commits
        assert checkpointer.thread is not None
        assert _wait_for(lambda: (checkpointer.frames() or (0, 0))[1] >= checkpointer.mark)
        mx, backfilled = checkpointer.frames() or (0, 0)
        assert backfilled >= 800 and mx >= backfilled
        write_until(1590)  # the last stretch before the threshold is SQLite's
        assert checkpointer.mark + checkpointer.step <= 1600
    finally:
        checkpointer.stop()
        writer.close()
    assert checkpointer.thread is not None and not checkpointer.thread.is_alive()
    assert checkpointer.shm is None


def test_an_unreadable_index_leaves_checkpoints_to_sqlite(tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "none.db", 10_000, lambda: _connect(tmp_path / "x"))
    for _ in range(LOOK_EVERY):
        checkpointer.after_commit()  # no -shm file: nothing to read
    assert checkpointer.step == 0 and checkpointer.thread is None
    assert Checkpointer(tmp_path / "off.db", 0, lambda: _connect(tmp_path / "x")).step == 0
    assert Checkpointer(tmp_path / "small.db", 500, lambda: _connect(tmp_path / "x")).step == 0


def test_runs_logged_with_it_are_all_there_and_the_thread_ends_with_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_WAL_CHECKPOINT_PAGES", "1024")
    path = tmp_path / "c.db"
    carnet.set_tracking_uri(f"sqlite:///{path}")
    carnet.set_experiment("ckpt")
    wal = path.with_name(path.name + "-wal")
    largest = 0
    for i in range(300):
        with carnet.start_run(run_name=f"r{i}", tags={"i": str(i)}):
            carnet.log_params({f"p{k}": i + k for k in range(5)})
            carnet.log_metrics({f"m{k}": i * 0.5 + k for k in range(5)})
        largest = max(largest, wal.stat().st_size)
    assert len(_threads()) == 1
    # SQLite's own checkpoint still restarts the log, and the thread keeps out of its
    # way: the log stays near the threshold (1,024 pages, a few commits past it at most,
    # each page a frame of 4,096 + 24 bytes), however much was written.
    assert largest < 1300 * (4096 + 24)
    found = carnet.search_runs(experiment_names=["ckpt"], filter_string="metrics.m4 >= 0")
    assert len(found) == 300
    dispose_engines()
    assert _threads() == []
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM params").fetchone()[0] == 1500
