"""The buffered writer when the store refuses points: nothing is dropped in silence.

A real lock is held by another SQLite connection (``BEGIN IMMEDIATE``) with a
short busy timeout in this process, a real run is ended by another client
while points wait in the queue, and the queue limit is pushed by a real
producer. Points the store cannot take end up in a spool file that ``carnet
replay`` writes back; every test counts the points that arrive, exactly once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import carnet
from carnet.cli import cli
from carnet.errors import RunNotActiveError, StoreError
from carnet.store import engine, writer
from carnet.store.engine import sqlite_path
from carnet.store.writer import BufferedWriter

WriterFactory = Callable[[carnet.Client], BufferedWriter]


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "spool"
    monkeypatch.setenv("CARNET_SPOOL_DIR", str(folder))
    return folder


@pytest.fixture
def make_writer(spool_dir: Path) -> Iterator[WriterFactory]:
    """Writers on a client's store, stopped (and emptied) after the test."""
    made: list[BufferedWriter] = []

    def make(client: carnet.Client) -> BufferedWriter:
        made.append(BufferedWriter(client.store))
        return made[-1]

    yield make
    for w in made:
        try:
            w.close()
        except Exception:
            pass


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short busy timeout (set before any connection opens) and quick retries."""
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "0.05")
    monkeypatch.setattr(writer, "_FIRST_BACKOFF_S", 0.05, raising=False)
    monkeypatch.setattr(writer, "_MAX_BACKOFF_S", 0.2, raising=False)


def sqlite_path_of(uri: str) -> Path:
    path = sqlite_path(uri)
    assert path is not None
    return path


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.02)


def new_run(client: carnet.Client) -> str:
    experiment = client.create_experiment("buffered")
    return client.create_run(experiment, run_name="r").info.run_id


def losses(uri: str, run_id: str) -> list[float]:
    return [m.value for m in carnet.Client(uri).get_metric_history(run_id, "loss")]


def put(w: BufferedWriter, run_id: str, steps: range) -> None:
    for step in steps:
        w.put(run_id, "loss", float(step), 1_700_000_000_000 + step, step)


class HeldLock:
    """Another program holding the SQLite write lock until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.conn.close()


def replay(file: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["replay", str(file), *extra])
    return result.exit_code, result.output


def test_a_lock_held_past_the_busy_timeout_is_waited_out_and_nothing_is_lost(
    uri: str, quick: None, make_writer: WriterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = carnet.Client(uri)
    run_id = new_run(client)
    w = make_writer(client)
    lock = HeldLock(sqlite_path_of(uri))
    try:
        put(w, run_id, range(1000))
        wait_until(
            lambda: any("1000 buffered points" in r.getMessage() for r in caplog.records),
            "the writer thread's failed write",
        )
        assert losses(uri, run_id) == []
    finally:
        lock.release()
    # Retried by the writer thread itself, without a flush.
    wait_until(lambda: len(losses(uri, run_id)) == 1000, "the points written after the lock")
    w.flush()  # nothing is missing: no error
    assert losses(uri, run_id) == [float(s) for s in range(1000)]
    assert w.retrying == 0 and w.spool_file is None
    refused = [r.getMessage() for r in caplog.records if "not written yet" in r.getMessage()]
    assert refused and "1000 buffered points" in refused[0] and "locked" in refused[0]
    assert "synchronous=False" not in refused[0]  # the old advice, for points already buffered


def test_flush_while_the_lock_is_held_raises_and_keeps_the_points(
    uri: str, quick: None, make_writer: WriterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "3600")  # only flush() writes here
    client = carnet.Client(uri)
    run_id = new_run(client)
    w = make_writer(client)
    put(w, run_id, range(200))
    lock = HeldLock(sqlite_path_of(uri))
    try:
        with pytest.raises(StoreError, match=r"200 buffered points .* are not written yet"):
            w.flush()
        with pytest.raises(StoreError, match="retries for"):  # still missing: said again
            w.flush()
    finally:
        lock.release()
    w.flush()
    assert losses(uri, run_id) == [float(s) for s in range(200)]


def test_end_run_during_the_lock_raises_and_leaves_the_run_active(
    uri: str, quick: None, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed end_run changes nothing: the run is still active, and ends later whole."""
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "3600")
    carnet.set_tracking_uri(uri)
    run = carnet.start_run()
    for step in range(100):
        carnet.log_metric("loss", float(step), step=step, synchronous=False)
    lock = HeldLock(sqlite_path_of(uri))
    try:
        with pytest.raises(StoreError, match="100 buffered points"):
            carnet.end_run()
        active = carnet.active_run()
        assert active is not None and active.info.run_id == run.info.run_id
    finally:
        lock.release()
    carnet.end_run()
    assert carnet.active_run() is None
    assert carnet.get_run(run.info.run_id).info.status == "FINISHED"
    assert losses(uri, run.info.run_id) == [float(s) for s in range(100)]


def test_a_lock_that_outlasts_the_retries_spools_the_points_for_replay(
    uri: str,
    quick: None,
    make_writer: WriterFactory,
    spool_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CARNET_RETRY_TIMEOUT", "0.5")
    client = carnet.Client(uri)
    run_id = new_run(client)
    w = make_writer(client)
    lock = HeldLock(sqlite_path_of(uri))
    try:
        put(w, run_id, range(500))
        wait_until(lambda: w.spool_file is not None and w.retrying == 0, "the spooled batch")
    finally:
        lock.release()
    spooled = w.spool_file
    assert spooled is not None and spooled.parent == spool_dir
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("500 buffered points" in e and str(spooled) in e for e in errors), errors
    # The background failure is not forgotten: flush() raises it, once.
    with pytest.raises(StoreError, match=r"500 buffered points .* saved to .*carnet replay"):
        w.flush()
    w.flush()
    assert losses(uri, run_id) == []
    line = json.loads(spooled.read_text())
    assert line["run_id"] == run_id and "refused them for" in line["reason"]
    assert len(line["metrics"]) == 500

    code, out = replay(spooled)  # the file names its store
    assert code == 0, out
    assert "replayed 500 points of 1 run" in out
    assert losses(uri, run_id) == [float(s) for s in range(500)]
    assert not spooled.exists()


def _ended_elsewhere(
    uri: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[carnet.Client, carnet.Client, str, int | None]:
    """A writing client, another client, and a run the other one ended (with its end
    time); buffered points are flushed every 50 ms."""
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "0.05")
    client = carnet.Client(uri)
    run_id = new_run(client)
    other = carnet.Client(uri)
    other.set_terminated(run_id, "FINISHED")
    return client, other, run_id, other.get_run(run_id).info.end_time


def test_points_for_a_run_ended_meanwhile_are_written_as_on_mlflow(
    any_uri: str, make_writer: WriterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run another process ended still takes the points (MLflow refuses only deleted
    runs); it stays ended, with its end time."""
    client, other, run_id, end_time = _ended_elsewhere(any_uri, monkeypatch)
    w = make_writer(client)
    put(w, run_id, range(300))
    w.flush()
    assert w.spool_file is None
    assert losses(any_uri, run_id) == [float(s) for s in range(300)]
    run = other.get_run(run_id)
    assert (run.info.status, run.info.end_time) == ("FINISHED", end_time)


def test_points_for_a_run_deleted_meanwhile_are_spooled_at_once_with_the_reason(
    any_uri: str, make_writer: WriterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Carnet error is not retried: the batch is spooled and the reason said; once the
    run is restored, replay writes it and leaves the run as it was."""
    client, other, run_id, end_time = _ended_elsewhere(any_uri, monkeypatch)
    other.delete_run(run_id)
    w = make_writer(client)
    put(w, run_id, range(300))
    wait_until(lambda: w.spool_file is not None, "the batch spooled by the writer thread")
    assert w.retrying == 0
    with pytest.raises(RunNotActiveError, match=r"300 buffered points .* is deleted.* saved"):
        w.flush()
    spooled = w.spool_file
    assert spooled is not None
    assert "is deleted" in json.loads(spooled.read_text())["reason"]

    other.restore_run(run_id)
    code, out = replay(spooled, "--db", any_uri)
    assert code == 0, out
    assert losses(any_uri, run_id) == [float(s) for s in range(300)]
    run = other.get_run(run_id)
    assert (run.info.status, run.info.end_time) == ("FINISHED", end_time)


def test_replay_keeps_the_lines_of_a_deleted_run_until_it_is_restored(
    uri: str, make_writer: WriterFactory
) -> None:
    client = carnet.Client(uri)
    run_id = new_run(client)
    w = make_writer(client)
    client.delete_run(run_id)
    put(w, run_id, range(50))
    with pytest.raises(RunNotActiveError, match="is deleted"):
        w.flush()
    spooled = w.spool_file
    assert spooled is not None
    code, out = replay(spooled)
    assert code == 1
    assert "is deleted; restore it" in out and "1 line not written" in out
    assert spooled.exists() and losses(uri, run_id) == []
    client.restore_run(run_id)
    code, out = replay(spooled)
    assert code == 0, out
    assert losses(uri, run_id) == [float(s) for s in range(50)]


def test_replay_refuses_a_file_that_is_not_a_spool_file(tmp_path: Path, uri: str) -> None:
    bad = tmp_path / "carnet-unwritten-x.jsonl"
    bad.write_text('{"run_id": "a", "metrics": [["loss", "high", 1, 2]]}\n')
    code, out = replay(bad, "--db", uri)
    assert code == 1 and "line 1 is not a Carnet spool line" in out
    assert bad.exists()


def test_a_producer_past_the_queue_limit_writes_the_backlog_itself(
    any_uri: str, make_writer: WriterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread sleeps for an hour unless the queue passes the limit; then the
    producer writes the backlog itself (the woken thread may share the work)."""
    monkeypatch.setenv("CARNET_MAX_QUEUED", "1000")
    monkeypatch.setattr(writer, "_WAKE_AT", 1000)
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "3600")
    client = carnet.Client(any_uri)
    run_id = new_run(client)
    w = make_writer(client)
    longest = 0
    for step in range(10_500):
        w.put(run_id, "loss", float(step), 1_700_000_000_000, step)
        longest = max(longest, len(w.queue))
    assert longest <= 1001
    assert len(losses(any_uri, run_id)) >= 9_500  # written before any flush
    w.flush()
    assert losses(any_uri, run_id) == [float(s) for s in range(10_500)]


def test_memory_stays_bounded_while_the_store_refuses_writes(
    uri: str, make_writer: WriterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued plus waiting points stay under twice the limit; the excess is spooled."""
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0.02)
    monkeypatch.setenv("CARNET_MAX_QUEUED", "1000")
    monkeypatch.setattr(writer, "_WAKE_AT", 1000)
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "3600")
    client = carnet.Client(uri)
    run_id = new_run(client)
    w = make_writer(client)
    lock = HeldLock(sqlite_path_of(uri))
    most = 0
    try:
        for step in range(5_000):
            w.put(run_id, "loss", float(step), 1_700_000_000_000, step)
            most = max(most, len(w.queue) + w.retrying)
    finally:
        lock.release()
    assert most <= 2_001
    spooled = w.spool_file
    assert spooled is not None
    with pytest.raises(StoreError, match="CARNET_MAX_QUEUED=1000"):
        w.flush()
    code, out = replay(spooled)
    assert code == 0, out
    assert sorted(losses(uri, run_id)) == [float(s) for s in range(5_000)]
