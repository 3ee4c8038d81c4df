"""Group commit on SQLite: concurrent log-batch requests share one transaction, each is
answered after its data is committed, a bad one fails alone and writes nothing, and batch
ids keep a repeated request from writing twice. First the writer thread on a real SQLite
file in this process, then a live ``carnet server`` driven by concurrent HTTP clients."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import carnet
from carnet.entities import Metric
from carnet.errors import ParamOverwriteError, RunNotActiveError, StoreError
from carnet.server.batch_ids import BatchIds
from carnet.server.writes import WriterThread
from tests.conftest import sqlite_uri
from tests.server.served import call, carnet_server

LOG_BATCH = "/api/2.0/mlflow/runs/log-batch"


def _points(key: str, start: int, n: int) -> list[Metric]:
    return [Metric(key, float(step), 1000 + step, step) for step in range(start, start + n)]


def _held_writer(writer: WriterThread) -> tuple[threading.Event, threading.Event]:
    """Occupy the writer thread until the returned ``release`` is set, so jobs queue up."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(30)

    writer_thread = threading.Thread(target=lambda: asyncio.run(writer.run(hold)), daemon=True)
    writer_thread.start()
    assert started.wait(30)
    return started, release


async def _queued(writer: WriterThread, jobs: list[Any], release: threading.Event) -> list[Any]:
    """Submit every job while the writer is held, then let it go; results or exceptions."""
    tasks = [asyncio.ensure_future(writer.run(job, groupable=True)) for job in jobs]
    await asyncio.sleep(0.05)  # every job is in the queue behind the held one
    release.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_queued_batches_share_one_commit_and_a_bad_one_fails_alone(tmp_path: Path) -> None:
    client = carnet.Client(sqlite_uri(tmp_path))
    exp = client.create_experiment("g")
    runs = [client.create_run(exp).info.run_id for _ in range(4)]
    client.log_param(runs[0], "lr", "0.1")
    ended = client.create_run(exp).info.run_id
    client.delete_run(ended)
    writer = WriterThread(group=client.store.write_group)  # type: ignore[attr-defined]
    try:
        _, release = _held_writer(writer)
        jobs: list[Any] = []
        for i, run_id in enumerate(runs * 5):
            jobs.append(lambda r=run_id, i=i: client.log_batch(r, _points("loss", i * 10, 10)))
        # Two bad ones in the middle: a param overwrite (its points must not land either)
        # and a deleted run.
        jobs.insert(7, lambda: client.log_batch(runs[0], _points("bad", 0, 5), [("lr", "0.2")]))
        jobs.insert(12, lambda: client.log_batch(ended, _points("loss", 0, 3)))
        results = asyncio.run(_queued(writer, jobs, release))
    finally:
        writer.close()
    assert isinstance(results[7], ParamOverwriteError)
    assert isinstance(results[12], RunNotActiveError)
    assert [r for i, r in enumerate(results) if i not in (7, 12)] == [None] * 20
    # The 22 jobs queued behind the held one went in one group.
    assert writer.group_sizes.get(22) == 1, writer.group_sizes
    for n, run_id in enumerate(runs):
        steps = [m.step for m in client.get_metric_history(run_id, "loss")]
        assert sorted(steps) == sorted(
            s for i in range(n, 20, 4) for s in range(i * 10, i * 10 + 10)
        ), run_id
    assert client.get_metric_history(runs[0], "bad") == []
    assert client.get_run(runs[0]).data.params == {"lr": "0.1"}
    assert client.get_metric_history(ended, "loss") == []


def test_a_group_whose_commit_fails_is_written_one_by_one(tmp_path: Path) -> None:
    """Nothing of a failed group is saved; its jobs run again alone, after their ``undo``,
    so a remembered batch id of the lost group does not hide its batch."""
    client = carnet.Client(sqlite_uri(tmp_path))
    run_id = client.create_run(client.create_experiment("g")).info.run_id
    store: Any = client.store
    failures = [1]

    @contextlib.contextmanager
    def failing_group() -> Iterator[None]:
        with store.write_group():
            yield
            if failures:
                failures.pop()
                raise StoreError("disk I/O error")  # the commit fails: all rolled back

    ids = BatchIds()
    undone: list[str] = []
    writer = WriterThread(group=failing_group)

    async def main(release: threading.Event) -> list[Any]:
        tasks = []
        for n in range(6):
            batch_id = f"batch-{n:04d}"

            def job(n: int = n, batch_id: str = batch_id) -> bool:
                def write() -> None:
                    client.log_batch(run_id, _points("m", n * 10, 10))

                return ids.write_once(run_id, batch_id, write)

            def undo(wrote: bool, batch_id: str = batch_id) -> None:
                undone.append(batch_id)
                if wrote:
                    ids.forget(run_id, batch_id)

            tasks.append(asyncio.ensure_future(writer.run(job, groupable=True, undo=undo)))
        await asyncio.sleep(0.05)
        release.set()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    try:
        _, release = _held_writer(writer)
        results = asyncio.run(main(release))
    finally:
        writer.close()
    assert results == [True] * 6
    assert undone == [f"batch-{n:04d}" for n in range(6)]
    assert writer.group_sizes == {1: 6}  # the held job is not counted: it was not groupable
    steps = [m.step for m in client.get_metric_history(run_id, "m")]
    assert steps == list(range(60))


def test_writes_that_are_not_groupable_keep_their_place(tmp_path: Path) -> None:
    client = carnet.Client(sqlite_uri(tmp_path))
    run_id = client.create_run(client.create_experiment("g")).info.run_id
    writer = WriterThread(group=client.store.write_group)  # type: ignore[attr-defined]
    order: list[str] = []

    async def main(release: threading.Event) -> None:
        def param(key: str, value: int) -> None:
            order.append(key)
            client.log_param(run_id, key, value)

        def end() -> None:
            order.append("end")
            client.delete_run(run_id)

        tasks = [
            writer.run(lambda: param("a", 1), groupable=True),
            writer.run(lambda: param("b", 2), groupable=True),
            writer.run(end),
            writer.run(lambda: param("c", 3), groupable=True),
        ]
        futures = [asyncio.ensure_future(t) for t in tasks]
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert isinstance(results[3], RunNotActiveError), results

    try:
        _, release = _held_writer(writer)
        asyncio.run(main(release))
    finally:
        writer.close()
    assert order == ["a", "b", "end", "c"]
    assert writer.group_sizes == {2: 1, 1: 1}
    client.restore_run(run_id)
    assert client.get_run(run_id).data.params == {"a": "1", "b": "2"}


# -- a live server --------------------------------------------------------------------------


def _batch(run_id: str, key: str, start: int, n: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "metrics": [
            {"key": key, "value": float(s), "timestamp": 1000 + s, "step": s}
            for s in range(start, start + n)
        ],
    }


def test_concurrent_clients_lose_nothing_and_write_nothing_twice(tmp_path: Path) -> None:
    """12 threads send 40 log-batch requests each to a live server at once; every third
    request is sent twice with its batch id (a retry whose answer was lost), one thread
    also sends bad batches. Every good point is in the store once, no bad one is."""
    folder = tmp_path / "srv"
    with carnet_server(folder) as server:
        created = call(server, "POST", "/api/2.0/mlflow/experiments/create", {"name": "g"})
        exp = created.json()["experiment_id"]
        run_ids = [
            call(server, "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp}).json()[
                "run"
            ]["info"]["run_id"]
            for _ in range(12)
        ]
        call(server, "POST", "/api/2.0/mlflow/runs/log-parameter",
             {"run_id": run_ids[0], "key": "lr", "value": "0.1"})  # fmt: skip
        failures: list[str] = []
        refused: list[int] = []
        start = threading.Barrier(12)

        def writer(n: int) -> None:
            run_id = run_ids[n]
            start.wait(30)
            for i in range(40):
                batch_id = uuid.uuid4().hex
                body = _batch(run_id, "loss", i * 25, 25)
                for _ in range(2 if i % 3 == 0 else 1):
                    answer = call(server, "POST", LOG_BATCH, body,
                                  headers={"X-Carnet-Batch-Id": batch_id})  # fmt: skip
                    if answer.status != 200:
                        failures.append(f"{n}/{i}: {answer.status} {answer.body[:200]!r}")
                if n == 0 and i % 10 == 5:
                    bad = {**_batch(run_id, "bad", i, 5), "params": [{"key": "lr", "value": "9"}]}
                    answer = call(server, "POST", LOG_BATCH, bad)
                    refused.append(answer.status)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.monotonic() - began
        assert not failures, failures[:5]
        assert refused == [400] * 4
        # A search through the server sees every run.
        found = call(server, "POST", "/api/2.0/mlflow/runs/search",
                     {"experiment_ids": [exp], "max_results": 100}).json()  # fmt: skip
        assert len(found["runs"]) == 12
    log = server.log_text()
    client = carnet.Client(server.uri)
    for run_id in run_ids:
        steps = [m.step for m in client.get_metric_history(run_id, "loss")]
        assert steps == list(range(1000)), (run_id, len(steps))
    assert client.get_metric_history(run_ids[0], "bad") == []
    assert client.get_run(run_ids[0]).data.params == {"lr": "0.1"}
    # The server's summary at shutdown: fewer commits than requests.
    line = next(s for s in log.splitlines() if "group commit:" in s)
    words = line.split("group commit:")[1].split()
    requests, commits = int(words[0]), int(words[4])
    # 480 batches, 168 of them again, 4 bad ones, the log-parameter
    assert requests == 12 * 40 + 12 * 14 + 4 + 1, (line, elapsed)
    assert commits < requests, line
