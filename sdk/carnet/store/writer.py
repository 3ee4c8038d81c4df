"""Buffered metric logging: a queue per store and a background thread that drains it.

``log_metric(..., synchronous=False)`` only appends a tuple to a deque (safe
across threads without a lock); the writer thread turns the queue into one
``log_batch`` transaction per run every ``CARNET_FLUSH_INTERVAL`` seconds, or
sooner when the queue grows. ``flush()`` drains everything before returning,
which ``end_run``, interpreter exit and the SIGTERM handler rely on.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carnet.store.sql_store import SqlStore

logger = logging.getLogger("carnet")

FLUSH_INTERVAL_S = float(os.environ.get("CARNET_FLUSH_INTERVAL", "0.5"))
_WAKE_AT = 50_000  # queued points that wake the writer early
#: Beyond this a producer writes the backlog itself: memory stays bounded (~200 B a point)
#: when a loop logs faster than the disk takes points.
_MAX_QUEUED = int(os.environ.get("CARNET_MAX_QUEUED", "250000"))
_writers: weakref.WeakSet[BufferedWriter] = weakref.WeakSet()


class BufferedWriter:
    """Owns one store's queue of (run_id, key, value, timestamp, step) points."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.queue: deque[tuple[str, str, float, int, int]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._loop, name="carnet-writer", daemon=True)
        self._thread.start()
        _writers.add(self)

    def put(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        queue = self.queue
        queue.append((run_id, key, value, timestamp, step))
        if len(queue) > _WAKE_AT:
            self._wake.set()
            if len(queue) > _MAX_QUEUED:
                self._drain()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        """Write what is queued, one transaction per run; keep errors for flush()."""
        with self._lock:
            queue = self.queue
            n = len(queue)
            if not n:
                return
            pending: dict[str, list[tuple[str, float, int, int]]] = {}
            pop = queue.popleft
            for _ in range(n):
                rid, key, value, ts, step = pop()
                bucket = pending.get(rid)
                if bucket is None:
                    bucket = pending[rid] = []
                bucket.append((key, value, ts, step))
            for rid, points in pending.items():
                try:
                    self.store.log_batch(rid, metrics=points)
                except Exception as exc:
                    logger.warning(
                        "carnet: %d buffered points of run %s not written: %s",
                        len(points),
                        rid,
                        exc,
                    )
                    self.errors.append(exc)

    def flush(self) -> None:
        """Write everything queued so far; raise the first error a background write met."""
        self._drain()
        if self.errors:
            errors, self.errors = self.errors, []
            raise errors[0]

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        self.flush()


def flush_all() -> list[Any]:
    """Flush every writer of the process; returns the errors instead of raising."""
    errors: list[Any] = []
    for writer in list(_writers):
        try:
            writer.flush()
        except Exception as exc:
            errors.append(exc)
            logger.error("carnet: buffered metrics were lost: %s", exc)
    return errors


atexit.register(flush_all)
