"""Buffered metric logging: a queue per store and a background thread that drains it.

``log_metric(..., synchronous=False)`` only appends a tuple to a deque (safe
across threads without a lock); the writer thread turns the queue into one
``log_batch`` transaction per run every ``CARNET_FLUSH_INTERVAL`` seconds, or
sooner when the queue grows. ``flush()`` drains everything before returning,
which ``end_run``, interpreter exit and the SIGTERM handler rely on.

A batch the store refuses is never dropped:

- for a passing reason (a write lock held past the busy timeout, a full disk,
  a lost connection) it stays queued and is retried with backoff, for up to
  ``CARNET_RETRY_TIMEOUT`` seconds (300);
- for good (a Carnet error such as "the run is deleted", after another
  process deleted it), after the retry window, or when the process
  ends while the store still refuses it, it is appended to a spool file
  (:mod:`carnet.store.spool`) and logged as an error naming the file and the
  count of points; ``carnet replay FILE`` writes it back.

``flush()`` raises when, after it, some points are not in the store: the ones
still waiting for a retry, and the ones spooled since the last ``flush()``.

Processes: a forked child starts with an empty queue (its parent writes what it
had queued) and its own lock and thread. A ``multiprocessing`` child, which
ends through ``os._exit`` and so skips ``atexit``, flushes through
``multiprocessing.util.Finalize``; on SIGTERM (``Pool.terminate()`` sends it) a
handler flushes before the process dies of the signal as it would have.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carnet import settings
from carnet.errors import CarnetError, ReadOnlyError, SchemaVersionError, StoreError
from carnet.store import spool

if TYPE_CHECKING:
    from carnet.store.protocol import Store

logger = logging.getLogger("carnet")

_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 30.0
#: Queued points that wake the writer early (CARNET_MAX_QUEUED when that is lower).
_WAKE_AT = 50_000
_writers: weakref.WeakSet[BufferedWriter] = weakref.WeakSet()

Point = tuple[str, float, int, int]  # key, value, timestamp ms, step


@dataclass
class _Held:
    """A batch the store refused for a passing reason, waiting for its next try."""

    run_id: str
    points: list[Point]
    error: BaseException | None  # None: interrupted before it was tried
    since: float  # time.monotonic() of the first failure
    next_try: float
    attempts: int


def _lasting(exc: BaseException) -> bool:
    """A refusal that a retry cannot change: Carnet said no on purpose."""
    if isinstance(exc, (ReadOnlyError, SchemaVersionError)):
        return True
    return isinstance(exc, CarnetError) and not isinstance(exc, StoreError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class BufferedWriter:
    """Owns one store's queue of (run_id, key, value, timestamp, step) points."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: CARNET_MAX_QUEUED, read once per writer. Beyond it a producer writes the backlog
        #: itself: memory stays bounded (~200 B a point) when a loop logs faster than the disk
        #: takes points. Points waiting for a retry are bounded by the same number: beyond it
        #: the oldest are spooled. The interval and the retry window are read at each use;
        #: reading them here makes a bad value fail the first buffered call, not the thread.
        self._max_queued = settings.MAX_QUEUED.get()
        self._wake_at = min(_WAKE_AT, self._max_queued)
        settings.FLUSH_INTERVAL.get()
        settings.RETRY_TIMEOUT.get()
        self.queue: deque[tuple[str, str, float, int, int]] = deque()
        self._held: list[_Held] = []
        self._reports: list[BaseException] = []  # spooled since the last flush()
        self._spool_name: str | None = None
        self._spooled_to: Path | None = None
        self._lock = threading.Lock()
        self._drainer: int | None = None  # the thread inside _drain
        self._deferred: list[int] = []  # signals that arrived while this thread drained
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        _writers.add(self)
        self._start()

    # -- queueing ---------------------------------------------------------------------

    def put(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        """Queue one metric point for the background thread; when the queue passes
        its limit the caller writes it out itself, so memory stays bounded.
        """
        queue = self.queue
        queue.append((run_id, key, value, timestamp, step))
        if len(queue) > self._wake_at or self._thread is None:
            if self._thread is None:  # first use in a forked child
                self._start()
            if len(queue) > self._wake_at:
                self._wake.set()
                if len(queue) > self._max_queued:
                    self._drain()

    @property
    def retrying(self) -> int:
        """Points the store refused for a passing reason, waiting for a retry."""
        return sum(len(h.points) for h in self._held)

    @property
    def spool_file(self) -> Path | None:
        """Where this writer spooled points it could not write (None: nothing so far)."""
        return self._spooled_to

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="carnet-writer", daemon=True)
        self._thread.start()
        _on_process_end()

    def _loop(self) -> None:
        while not self._stopped:
            wait = settings.FLUSH_INTERVAL.get_or_default()  # read every round
            due = min((h.next_try for h in self._held), default=None)
            if due is not None:
                wait = min(wait, max(0.0, due - time.monotonic()))
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopped:
                break
            try:
                self._drain()
            except Exception:  # _drain keeps every point; never let the thread die
                logger.exception("carnet: the buffered writer met an unexpected error")

    # -- writing ----------------------------------------------------------------------

    def _drain(self, *, force: bool = False, final: bool = False) -> None:
        """Write what is queued and what is due for a retry, one transaction per run.

        ``force`` retries every held batch now; ``final`` (the process is ending)
        spools whatever the store still refuses.
        """
        with self._holding():
            self._write(force or final, final)

    @contextmanager
    def _holding(self) -> Iterator[None]:
        """The writer's lock, marked with the thread holding it (see defer_if_draining)."""
        with self._lock:
            self._drainer = threading.get_ident()
            try:
                yield
            finally:
                self._drainer = None
        if self._deferred:  # a signal waited for this thread to let go: deliver it now
            signum = self._deferred.pop()
            self._deferred.clear()
            os.kill(os.getpid(), signum)

    def _write(self, force: bool, final: bool) -> None:
        now = time.monotonic()
        work: list[_Held] = []
        keep: list[_Held] = []
        for held in self._held:
            (work if force or held.next_try <= now else keep).append(held)
        self._held = keep
        queue = self.queue
        n = len(queue)
        if n:
            pending: dict[str, list[Point]] = {}
            pop = queue.popleft
            for _ in range(n):
                rid, key, value, ts, step = pop()
                bucket = pending.get(rid)
                if bucket is None:
                    bucket = pending[rid] = []
                bucket.append((key, value, ts, step))
            work.extend(_Held(rid, pts, None, now, now, 0) for rid, pts in pending.items())
        for i, batch in enumerate(work):
            try:
                self.store.log_batch(batch.run_id, metrics=batch.points)
            except Exception as exc:
                self._refused(batch, exc, final)
            except BaseException:  # KeyboardInterrupt, SystemExit: keep what is not written
                self._held[:0] = work[i:]
                raise
            else:
                if batch.attempts:
                    logger.warning(
                        "carnet: %d buffered points of run %s written after %d failed tries.",
                        len(batch.points),
                        batch.run_id,
                        batch.attempts,
                    )
        self._bound_held()  # after a final drain nothing is held: _refused spooled it

    def _refused(self, batch: _Held, exc: Exception, final: bool) -> None:
        now = time.monotonic()
        if _lasting(exc):
            self._spool(batch, _one_line(exc), exc)
            return
        if batch.error is None:
            batch.since = now
            logger.warning(
                "carnet: %d buffered points of run %s are not written yet (%s); Carnet keeps "
                "them and retries for up to %.0f s.",
                len(batch.points),
                batch.run_id,
                _one_line(exc),
                settings.RETRY_TIMEOUT.get_or_default(),
            )
        batch.error = exc
        batch.attempts += 1
        if final:
            self._spool(batch, f"the process ended while the store refused them: {_one_line(exc)}")
        elif now - batch.since >= settings.RETRY_TIMEOUT.get_or_default():
            self._spool(
                batch, f"the store refused them for {now - batch.since:.0f} s: {_one_line(exc)}"
            )
        else:
            delay = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * 2 ** (batch.attempts - 1))
            batch.next_try = now + delay
            self._held.append(batch)

    def _bound_held(self) -> None:
        """Waiting points count against CARNET_MAX_QUEUED too: spool the oldest beyond it."""
        total = self.retrying
        while total > self._max_queued and self._held:
            oldest = self._held.pop(0)
            total -= len(oldest.points)
            reason = _one_line(oldest.error) if oldest.error else "unknown"
            self._spool(
                oldest,
                f"over CARNET_MAX_QUEUED={self._max_queued} points waited for a store that "
                f"refused them: {reason}",
            )

    def _spool(self, batch: _Held, reason: str, cause: BaseException | None = None) -> None:
        """Put a batch in the spool file and say so loudly; keep the news for flush()."""
        count, run_id = len(batch.points), batch.run_id
        if self._spool_name is None:
            self._spool_name = spool.spool_name()
        try:
            where = spool.spool(self.store.uri, run_id, batch.points, reason, name=self._spool_name)
        except OSError as exc:
            message = (
                f"{count} buffered points of run {run_id} are lost: the store refused them "
                f"({reason}) and no spool file could be written ({exc}). Free disk space or "
                f"set {spool.SPOOL_ENV} to a writable folder."
            )
        else:
            self._spooled_to = where
            message = (
                f"{count} buffered points of run {run_id} could not be written ({reason}); "
                f"they were saved to {where}. Write them back with `carnet replay {where}`."
            )
        logger.error("carnet: %s", message)
        error = type(cause)(message) if isinstance(cause, CarnetError) else StoreError(message)
        error.__cause__ = cause or batch.error
        self._reports.append(error)

    # -- flushing ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything queued so far, retrying waiting batches now.

        Raises a Carnet error when some points are not in the store afterwards:
        those spooled since the last ``flush()`` (reported once), and those the
        store still refuses (reported until they are written or spooled).
        """
        self._drain(force=True)
        self._raise_reports()

    def final_flush(self) -> list[BaseException]:
        """Write everything, spooling what the store refuses; the process is ending.

        Returns the errors (already logged) instead of raising them.
        """
        self._drain(final=True)
        with self._holding():
            errors, self._reports = self._reports, []
        return errors

    def _raise_reports(self) -> None:
        with self._holding():
            errors, self._reports = self._reports, []
            waiting = [h for h in self._held if h.error is not None]
        messages = [str(e) for e in errors]
        for held in waiting:
            assert held.error is not None
            window = settings.RETRY_TIMEOUT.get_or_default()
            left = max(0.0, window - (time.monotonic() - held.since))
            messages.append(
                f"{len(held.points)} buffered points of run {held.run_id} are not written yet: "
                f"{_one_line(held.error)}. Carnet keeps them and retries for {left:.0f} s more, "
                "then saves them to a spool file."
            )
        if not messages:
            return
        first = errors[0] if errors else waiting[0].error
        assert first is not None
        text = " ".join(messages)
        error = type(first)(text) if isinstance(first, CarnetError) else StoreError(text)
        raise error from (first.__cause__ if errors else first)

    def close(self) -> None:
        """Stop the thread and write everything (the store is going away)."""
        self._stopped = True
        self._wake.set()
        self.flush()

    # -- processes --------------------------------------------------------------------

    def _forget_parent(self) -> None:
        """In a forked child: the parent writes what it had queued; start afresh."""
        self.queue = deque()
        self._held = []
        self._reports = []
        self._spool_name = None
        self._spooled_to = None
        self._lock = threading.Lock()
        self._drainer = None
        self._deferred = []
        self._wake = threading.Event()
        self._stopped = False
        self._thread = None


def flush_all(final: bool = True) -> list[BaseException]:
    """Flush every writer of the process; returns the errors (logged) instead of raising.

    ``final`` spools what the store refuses, for a process that is ending.
    """
    errors: list[BaseException] = []
    for writer in list(_writers):
        try:
            if final:
                errors.extend(writer.final_flush())
            else:
                writer.flush()
        except Exception as exc:
            errors.append(exc)
            logger.error("carnet: buffered metrics were not written: %s", exc)
    return errors


def defer_if_draining(signum: int) -> bool:
    """A signal handler arrived while this very thread is writing a batch: re-send the
    signal when that write ends (flushing from inside it would deadlock) and say so."""
    me = threading.get_ident()
    for writer in list(_writers):
        if writer._drainer == me:
            writer._deferred.append(signum)
            return True
    return False


def flush_on_signal(signum: int, frame: Any) -> None:
    """SIGTERM in a process without run hooks: write buffered points, then die of it."""
    if defer_if_draining(signum):
        return
    flush_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_hooked_pid: int | None = None


def _on_process_end() -> None:
    """Once per process: flush on SIGTERM, and at a multiprocessing child's exit.

    The SIGTERM handler goes in only from the main thread and only over the
    default disposition (an ignored or handled SIGTERM is left alone).
    """
    global _hooked_pid
    pid = os.getpid()
    if _hooked_pid == pid:
        return
    _hooked_pid = pid
    import multiprocessing
    from multiprocessing import util

    if multiprocessing.parent_process() is not None:
        # Runs in BaseProcess._bootstrap after the target returns, before os._exit.
        util.Finalize(None, flush_all, exitpriority=100)
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, flush_on_signal)
        except ValueError:  # not the main interpreter
            pass


def _after_fork_in_child() -> None:
    global _hooked_pid
    _hooked_pid = None
    for writer in list(_writers):
        writer._forget_parent()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
