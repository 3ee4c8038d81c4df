"""Where the blocking ``Client`` calls of a request run, off the event loop.

Reads run on Starlette's thread pool, side by side. Writes depend on the store:

- on SQLite the server is the store's single writer: every write runs, in
  arrival order, on one writer thread. Concurrent requests never race for
  SQLite's write lock (so none waits out a busy timeout or sees "database is
  locked"), and the one thread keeps one write connection open;
- on PostgreSQL writes run on the thread pool like reads: the database
  orders them, and several server processes can share it.

**Group commit** (SQLite). Run data (log-batch, log-metric, log-parameter,
set-tag, delete-tag) is written as *groupable* jobs. When the writer thread
takes such a job, it also takes every groupable job queued behind it (up to
:data:`MAX_GROUP` of them) and runs them in one transaction of the store
(``write_group``): each job is a savepoint, so one that fails (a param
overwrite, a deleted run) is rolled back alone and answered with its error,
and the others share one commit. Every request is answered only after that
commit. A lone request is written at once, as before; the group forms from
the requests that arrive while a commit is in progress, so the more clients
write at once, the fewer commits each point costs. When the commit itself
fails, nothing of the group was saved and its jobs are run again one by one,
after each job's ``undo`` (what the job remembered in memory) has been called.

A queue has a bound: past :data:`MAX_PENDING_WRITES` waiting writes the server
answers 503 (which MLflow's client retries) instead of growing without limit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from carnet.server.errors import ApiError

T = TypeVar("T")
logger = logging.getLogger("carnet.server")

MAX_PENDING_WRITES = 10_000
#: Most requests one group commit takes (each at most MLflow's 1,000 items).
MAX_GROUP = 128

#: Opens one transaction that the writes made inside it share (the store's ``write_group``).
GroupOpener = Callable[[], AbstractContextManager[Any]]


@dataclass
class _Job:
    call: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    #: May share a transaction with other groupable jobs.
    groupable: bool = False
    #: Called with the call's result when that result was rolled back with its group.
    undo: Callable[[Any], None] | None = None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the client went away; the write itself is done
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _answer(job: _Job, result: Any, error: BaseException | None) -> None:
    try:
        job.loop.call_soon_threadsafe(_settle, job.future, result, error)
    except RuntimeError:  # the event loop is closed: the server is stopping
        logger.warning("a write finished after the server stopped listening")


class WriterThread:
    """One thread that runs submitted calls in the order they arrive, groupable ones
    committed together when a ``group`` opener is given (see the module's docstring)."""

    def __init__(
        self,
        max_pending: int = MAX_PENDING_WRITES,
        group: GroupOpener | None = None,
        max_group: int = MAX_GROUP,
    ) -> None:
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._group = group
        self._max_group = max_group
        #: How many commits groups of each size took (size -> count), for tests and tuning.
        self.group_sizes: dict[int, int] = {}

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="carnet-server-writer", daemon=True
                )
                self._thread.start()

    async def run(
        self,
        call: Callable[[], T],
        *,
        groupable: bool = False,
        undo: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``call`` on the writer thread and return (or raise) what it did, once it
        is committed; a ``groupable`` call may share its commit with others."""
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        try:
            self._jobs.put_nowait(_Job(call, loop, future, groupable, undo))
        except queue.Full:
            raise ApiError(
                "TEMPORARILY_UNAVAILABLE",
                "the server has too many writes waiting; retry in a moment.",
            ) from None
        return await future

    def _work(self) -> None:
        job = self._jobs.get()
        while job is not None:
            if not (job.groupable and self._group is not None):
                self._run_alone(job)
                job = self._jobs.get()
                continue
            group, taken, took = [job], None, False
            while len(group) < self._max_group:
                try:
                    taken = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if taken is None or not taken.groupable:
                    took = True  # a job to run after the group, or the sentinel of close()
                    break
                group.append(taken)
            self._run_group(group)
            job = taken if took else self._jobs.get()

    def _run_alone(self, job: _Job) -> None:
        try:
            result = job.call()
        except BaseException as exc:  # handed to the request that asked, raised there
            _answer(job, None, exc)
        else:
            _answer(job, result, None)

    def _run_group(self, group: list[_Job]) -> None:
        assert self._group is not None
        if len(group) == 1:
            self._count(1)
            self._run_alone(group[0])
            return
        done: list[tuple[Any, BaseException | None]] = []
        try:
            with self._group():
                for job in group:
                    try:
                        done.append((job.call(), None))
                    except BaseException as exc:  # its savepoint is rolled back alone; the
                        done.append((None, exc))  # error goes to the request that asked
        except BaseException:
            logger.warning(
                "a group of %d writes could not be committed; writing them one by one",
                len(group),
                exc_info=True,
            )
            for job, (result, error) in zip(group, done, strict=False):
                if error is None and job.undo is not None:
                    try:
                        job.undo(result)
                    except Exception:  # the writer thread must go on for every request
                        logger.exception("could not undo a write of a failed group")
            for job in group:
                self._count(1)
                self._run_alone(job)
            return
        self._count(len(group))
        for job, (result, error) in zip(group, done, strict=True):
            _answer(job, result, error)

    def _count(self, size: int) -> None:
        self.group_sizes[size] = self.group_sizes.get(size, 0) + 1

    def close(self) -> None:
        """Finish the writes already queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()


class BlockingCalls:
    """Runs a request's blocking ``Client`` calls: reads on the pool, writes as the store needs."""

    def __init__(self, *, single_writer: bool, group: GroupOpener | None = None) -> None:
        """``group`` (the store's ``write_group``) turns on group commit for the single writer."""
        self.writer = WriterThread(group=group) if single_writer else None

    async def read(self, call: Callable[[], T]) -> T:
        """A call that only reads, on the thread pool."""
        return await run_in_threadpool(call)

    async def files(self, call: Callable[[], T]) -> T:
        """File work (artifacts) on the thread pool: it takes no database lock."""
        return await run_in_threadpool(call)

    async def write(
        self,
        call: Callable[[], T],
        *,
        groupable: bool = False,
        undo: Callable[[T], None] | None = None,
    ) -> T:
        """A call that writes: on the writer thread (SQLite) or the thread pool (PostgreSQL).

        A ``groupable`` call writes run data only through the store's one write
        primitive and may share a group commit; ``undo`` forgets what it kept in
        memory when its group is rolled back (see the module's docstring).
        """
        if self.writer is not None:
            return await self.writer.run(call, groupable=groupable, undo=undo)
        return await run_in_threadpool(call)

    def close(self) -> None:
        """Let queued writes finish; called when the server stops."""
        if self.writer is not None:
            self.writer.close()
            sizes = self.writer.group_sizes
            if sizes:
                logger.info(
                    "group commit: %d run-data writes in %d commits (largest group %d)",
                    sum(size * n for size, n in sizes.items()),
                    sum(sizes.values()),
                    max(sizes),
                )
