"""Where the blocking ``Client`` calls of a request run, off the event loop.

Reads run on Starlette's thread pool, side by side. Writes depend on the store:

- on SQLite the server is the store's single writer: every write runs, in
  arrival order, on one writer thread. Concurrent requests never race for
  SQLite's write lock (so none waits out a busy timeout or sees "database is
  locked"), and the one thread keeps one write connection open. This queue is
  also where group commit belongs: the writer can take every waiting batch at
  once and commit them together;
- on PostgreSQL writes run on the thread pool like reads: the database
  orders them, and several server processes can share it.

A queue has a bound: past :data:`MAX_PENDING_WRITES` waiting writes the server
answers 503 (which MLflow's client retries) instead of growing without limit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from carnet.server.errors import ApiError

T = TypeVar("T")
logger = logging.getLogger("carnet.server")

MAX_PENDING_WRITES = 10_000

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the client went away; the write itself is done
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class WriterThread:
    """One thread that runs submitted calls one at a time, in the order they arrive."""

    def __init__(self, max_pending: int = MAX_PENDING_WRITES) -> None:
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="carnet-server-writer", daemon=True
                )
                self._thread.start()

    async def run(self, call: Callable[[], T]) -> T:
        """Run ``call`` on the writer thread and return (or raise) what it did."""
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        try:
            self._jobs.put_nowait((call, loop, future))
        except queue.Full:
            raise ApiError(
                "TEMPORARILY_UNAVAILABLE",
                "the server has too many writes waiting; retry in a moment.",
            ) from None
        return await future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            call, loop, future = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = call()
            except BaseException as exc:  # handed to the request that asked, raised there
                error = exc
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the event loop is closed: the server is stopping
                logger.warning("a write finished after the server stopped listening")

    def close(self) -> None:
        """Finish the writes already queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()


class BlockingCalls:
    """Runs a request's blocking ``Client`` calls: reads on the pool, writes as the store needs."""

    def __init__(self, *, single_writer: bool) -> None:
        self._writer = WriterThread() if single_writer else None

    async def read(self, call: Callable[[], T]) -> T:
        """A call that only reads, on the thread pool."""
        return await run_in_threadpool(call)

    async def files(self, call: Callable[[], T]) -> T:
        """File work (artifacts) on the thread pool: it takes no database lock."""
        return await run_in_threadpool(call)

    async def write(self, call: Callable[[], T]) -> T:
        """A call that writes: on the writer thread (SQLite) or the thread pool (PostgreSQL)."""
        if self._writer is not None:
            return await self._writer.run(call)
        return await run_in_threadpool(call)

    def close(self) -> None:
        """Let queued writes finish; called when the server stops."""
        if self._writer is not None:
            self._writer.close()
