"""Many writers at once on a brand-new store, while a dashboard reads.

MLflow corrupts a new SQLite store when a few processes start at the same
instant. Here every writer and a read-only reader are released together by a
start file, on a file that does not exist yet; afterwards every value must be
there, exactly once, and SQLite must find nothing wrong with the file. The
full-size run (8 processes x 200 runs) is ``bench/concurrency.py``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.store.maintenance import check_store

from .conftest import drop_pg_schema, finish, new_pg_schema, release, start_worker
from .workers import EXPERIMENT, expected_run, log_one_run

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


def run_processes(uri: str, tmp_path: Path, reader_filter: str | None = None) -> dict[str, Any]:
    go = tmp_path / "go"
    stop = tmp_path / "stop"
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
    assert polled["polls"] > 0, "the reader never got to read while the writers worked"
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
    """The fluent API keeps one active-run stack per thread: 8 threads, no crossed wires."""
    carnet.set_tracking_uri(any_uri)
    carnet.set_experiment(EXPERIMENT)
    barrier = threading.Barrier(THREADS + 1)
    errors: list[BaseException] = []
    stop = threading.Event()
    polls = [0]

    def work(index: int) -> None:
        try:
            barrier.wait()
            for r in range(RUNS):
                run_id = log_one_run(carnet, index, r, POINTS)
                assert carnet.get_run(run_id).info.run_name == f"w{index}-r{r}"
            assert carnet.active_run() is None
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        reader = carnet.Client(any_uri, read_only=True)
        experiment = reader.get_experiment_by_name(EXPERIMENT)
        assert experiment is not None
        barrier.wait()
        try:
            while not stop.is_set():
                reader.search_runs_frame([experiment.experiment_id], max_results=20)
                for run in reader.search_runs([experiment.experiment_id], max_results=2):
                    reader.get_metric_history(run.info.run_id, "loss")
                polls[0] += 1
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
    assert polls[0] > 0
    assert_all_present(any_uri, THREADS, RUNS, POINTS)
    assert check_store(any_uri).ok
