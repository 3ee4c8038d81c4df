"""Many writers at once on a brand-new store, while a dashboard reads.

MLflow corrupts a new SQLite store when a few processes start at the same
instant. Here every writer and a read-only reader are released together by a
start file, on a file that does not exist yet; afterwards every value must be
there, exactly once, and SQLite must find nothing wrong with the file. The
reader must have read while the writers wrote (reads that began after a first
run was complete and ended before a last run began, which therefore saw some
runs but not all), its run counts never went down, and every history it saw
was a gap-free prefix of what its run logs (all of it once the run finished).
The full-size run (8 processes x 200 runs) is ``bench/concurrency.py``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.store.maintenance import check_store

from .conftest import drop_pg_schema, finish, new_pg_schema, release, start_worker
from .workers import EXPERIMENT, expected_run, log_one_run, metric_value

PROCESSES = 4
RUNS = 6
POINTS = 50
THREADS = 8


def assert_all_present(uri: str, writers: int, runs: int, points: int) -> None:
    """Every run of every writer, with all its params, tags and points, exactly once."""
    client = carnet.Client(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    found = client.search_runs([experiment.experiment_id], max_results=None)
    by_name = {r.info.run_name: r for r in found}
    assert len(found) == writers * runs == len(by_name)
    for w in range(writers):
        for r in range(runs):
            want = expected_run(w, r, points)
            run = by_name[want["name"]]
            assert run.info.status == "FINISHED"
            assert run.data.params == want["params"]
            assert {k: v for k, v in run.data.tags.items() if k in want["tags"]} == want["tags"]
            history = client.get_metric_history(run.info.run_id, "loss")
            assert [m.value for m in history] == want["loss"]
            assert [m.step for m in history] == list(range(points))
            summary = run.summaries["loss"]
            assert (summary.count, summary.last) == (points, want["loss"][-1])


def expected_loss(run_name: str, points: int) -> list[float]:
    """The whole loss history of run ``w<writer>-r<run>``."""
    match = re.fullmatch(r"w(\d+)-r(\d+)", run_name)
    assert match, f"a run the writers did not create: {run_name!r}"
    writer, run = int(match[1]), int(match[2])
    return [metric_value(writer, run, step) for step in range(points)]


def assert_reads_overlapped_writes(
    reads: Sequence[dict[str, Any]],
    first_done: float,
    last_begin: float,
    total: int,
    points: int,
) -> None:
    """Reads happened while the store was being written, and each saw a consistent store.

    ``first_done`` is when the first run was complete, ``last_begin`` when the last
    run began (one clock with the reads' ``began``/``ended``). A read strictly
    between them must see at least one run and not all of them.
    """
    assert reads, "the reader never completed a read"
    assert first_done < last_begin, "the writers did not overlap at all"
    counts = [r["count"] for r in reads]
    assert counts == sorted(counts), f"the run count went down between reads: {counts}"
    for read in reads:
        assert read["rows"] <= read["count"], f"a table longer than the count before it: {read}"
        for name, status, values in read["runs"]:
            want = expected_loss(name, points)
            assert values == want[: len(values)], f"{name}: not a prefix of its history"
            if status == "FINISHED":
                assert values == want, f"{name} was FINISHED with {len(values)} points"
    during = [r for r in reads if first_done < r["began"] and r["ended"] < last_begin]
    assert during, (
        f"none of {len(reads)} reads fell between the first run's end and the last "
        f"run's start ({first_done:.3f} .. {last_begin:.3f})"
    )
    seen = [r["count"] for r in during]
    assert all(0 < n < total for n in seen), f"reads during the writing saw {seen} of {total}"


def run_processes(uri: str, tmp_path: Path, reader_filter: str | None = None) -> dict[str, Any]:
    go = tmp_path / "go"
    stop = tmp_path / "stop"
    # Writers hold their last run until a read that began after a first run is over.
    handshake = {
        "first_done": str(tmp_path / "first-done"),
        "overlapped": str(tmp_path / "overlap"),
    }
    ready = [tmp_path / f"ready-{i}" for i in range(PROCESSES + 1)]
    writers = [
        start_worker(
            "writer",
            {
                "uri": uri,
                "index": i,
                "runs": RUNS,
                "points": POINTS,
                "ready": str(ready[i]),
                "go": str(go),
                **handshake,
            },
        )
        for i in range(PROCESSES)
    ]
    reader = start_worker(
        "reader",
        {
            "uri": uri,
            "ready": str(ready[-1]),
            "go": str(go),
            "stop": str(stop),
            "filter": reader_filter,
            **handshake,
        },
    )
    release(go, ready, [*writers, reader])
    results = []
    for proc in writers:
        code, out, err = finish(proc, timeout=120)
        assert code == 0, f"a writer failed:\n{err}"
        assert "Traceback" not in err and "Error" not in err, err
        results.append(json.loads(out))
    stop.touch()
    code, out, err = finish(reader, timeout=60)
    assert code == 0, f"the reader failed:\n{err}"
    polled = json.loads(out)
    assert_reads_overlapped_writes(
        polled["reads"],
        first_done=min(w["first_done"] for w in results),
        last_begin=max(w["last_begin"] for w in results),
        total=PROCESSES * RUNS,
        points=POINTS,
    )
    return {"writers": results, "reader": polled}


@pytest.mark.slow
def test_processes_start_together_on_a_new_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "brand-new.db"
    assert not path.exists()
    uri = f"sqlite:///{path}"
    run_processes(uri, tmp_path)
    assert_all_present(uri, PROCESSES, RUNS, POINTS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        schema_rows = conn.execute("SELECT version FROM carnet_schema").fetchall()
    assert len(schema_rows) == 1, "the schema was created more than once"
    report = check_store(uri)
    assert report.ok, report.format()


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_start_together_on_a_new_postgres_schema(tmp_path: Path) -> None:
    uri, schema = new_pg_schema()
    try:
        run_processes(uri, tmp_path)
        assert_all_present(uri, PROCESSES, RUNS, POINTS)
        report = check_store(uri)
        assert report.ok, report.format()
    finally:
        drop_pg_schema(schema)


def test_threads_of_one_process_each_track_their_own_runs(any_uri: str) -> None:
    """The fluent API keeps one active-run stack per thread: 8 threads, no crossed wires.

    A read-only client reads all along, and must have read while they wrote.
    """
    carnet.set_tracking_uri(any_uri)
    carnet.set_experiment(EXPERIMENT)
    barrier = threading.Barrier(THREADS + 1)
    errors: list[BaseException] = []
    stop = threading.Event()
    reads: list[dict[str, Any]] = []
    first_done: list[float] = []
    last_begin: list[float] = []
    # Writers hold their last run until a read that began after a first run is over.
    a_run_is_done, overlapped = threading.Event(), threading.Event()

    def work(index: int) -> None:
        try:
            barrier.wait()
            for r in range(RUNS):
                if r == RUNS - 1:
                    overlapped.wait(timeout=60)
                    last_begin.append(time.monotonic())
                run_id = log_one_run(carnet, index, r, POINTS)
                if r == 0:
                    first_done.append(time.monotonic())
                    a_run_is_done.set()
                assert carnet.get_run(run_id).info.run_name == f"w{index}-r{r}"
            assert carnet.active_run() is None
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        reader = carnet.Client(any_uri, read_only=True)
        experiment = reader.get_experiment_by_name(EXPERIMENT)
        assert experiment is not None
        ids = [experiment.experiment_id]
        barrier.wait()
        try:
            while not stop.is_set():
                after_first_run = a_run_is_done.is_set()  # before the clock: set before began
                began = time.monotonic()
                frame = reader.search_runs_frame(ids, max_results=50)
                count = reader.count_runs(ids)
                sampled = [
                    (
                        run.info.run_name,
                        run.info.status,
                        [m.value for m in reader.get_metric_history(run.info.run_id, "loss")],
                    )
                    for run in reader.search_runs(ids, max_results=2)
                ]
                reads.append(
                    {
                        "began": began,
                        "ended": time.monotonic(),
                        "rows": len(frame),
                        "count": count,
                        "runs": sampled,
                    }
                )
                if after_first_run:
                    overlapped.set()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    poller = threading.Thread(target=read)
    poller.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    poller.join(timeout=30)
    assert not errors, errors
    assert len(first_done) == len(last_begin) == THREADS
    assert_reads_overlapped_writes(
        reads, min(first_done), max(last_begin), total=THREADS * RUNS, points=POINTS
    )
    assert_all_present(any_uri, THREADS, RUNS, POINTS)
    assert check_store(any_uri).ok
