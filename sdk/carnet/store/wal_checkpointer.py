"""Copying a SQLite store's write-ahead log back into its file, off the writing thread.

SQLite checkpoints on the committing connection once the WAL holds
``wal_autocheckpoint`` pages (``CARNET_WAL_CHECKPOINT_PAGES``). Such a
checkpoint syncs the whole WAL, then the file: tens of megabytes reach the
disk inside one ``COMMIT``, tens of milliseconds that a loop of small writes
(``start_run``, ``log_params``, ``log_metrics``, end) pays every few hundred
runs — a quarter of its time.

A :class:`Checkpointer` does most of that work on a thread and connection of
its own, while the writer goes on: when the log is half way to the
threshold, then half of the rest (3/4, 7/8...), it runs a ``PASSIVE``
checkpoint, which waits for no one and takes no write lock. Few, large
checkpoints: each copies a page rewritten by many commits once, and the thread
costs little CPU. The committing connection keeps SQLite's own checkpoint at
the full threshold, and the last sixteenth before it to itself (the writer
lets a running background checkpoint finish there, so the two do not meet):
it finds the log mostly copied and synced, finishes the rest, and the WAL
starts over from its beginning as before (a log that a background checkpoint alone kept copying
would never be wholly copied between two commits of a busy writer, so it
would never restart and would grow without end). If the thread cannot work,
nothing changes but the speed.

What a commit means does not change: a ``COMMIT`` returns once its pages are
in the WAL, and syncing follows ``CARNET_SQLITE_SYNCHRONOUS`` as before (the
checkpoint connection is opened with the same pragmas).

How much the WAL holds is read from its index, the ``-shm`` file beside the
store, whose header layout is part of SQLite's documented file format
(https://www.sqlite.org/walformat.html): the frame count ``mxFrame`` at byte
16 and ``nBackfill``, the frames already copied back, at byte 96, in native
byte order. A header of another version turns the thread off.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading
from collections.abc import Callable
from pathlib import Path

#: The WAL-index header version of every SQLite since 3.7.0.
_WAL_INDEX_VERSION = 3007000
_HEADER = struct.Struct("=I12xI76xI")  # iVersion (0), mxFrame (16), nBackfill (96)
#: The last 1/STEP_FRACTION of the threshold is left to SQLite's own checkpoint.
STEP_FRACTION = 16
#: Below this threshold (pages) checkpoints are cheap enough to leave to SQLite.
MIN_PAGES = 1024
#: The WAL index is read after every this many commits (a power of two).
LOOK_EVERY = 4
#: How long closing waits for a checkpoint in progress, in seconds.
STOP_WAIT_S = 5.0


class Checkpointer:
    """A thread that checkpoints one SQLite store's WAL as it grows (see the module docs).

    ``connect`` opens the thread's connection (the store's pragmas); ``pages``
    is the store's checkpoint threshold (0: SQLite's checkpoints are off, and
    so is this thread).
    """

    def __init__(self, path: Path, pages: int, connect: Callable[[], sqlite3.Connection]) -> None:
        self.shm_path = path.with_name(path.name + "-shm")
        self.pages = pages
        self.step = pages // STEP_FRACTION if pages >= MIN_PAGES else 0
        self.connect = connect
        self.shm: int | None = None
        self.mark = 0  # mxFrame when the last checkpoint was asked for
        self.commits = 0
        self.wake = threading.Event()
        self.idle = threading.Event()  # clear while a checkpoint is asked for or running
        self.idle.set()
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def reopen(self) -> None:
        """Read the WAL index afresh: a new write connection may have made a new one."""
        with self.lock:
            self._close_index()

    def after_commit(self) -> None:
        """Called by a writer after each commit: wake the thread when the log is half way.

        Costs one small read of the WAL index every :data:`LOOK_EVERY` commits.
        """
        self.commits += 1
        if self.commits & (LOOK_EVERY - 1) or self.step <= 0 or self.stopping:
            return
        frames = self.frames()
        if frames is None:
            return
        mx, backfilled = frames
        if mx < self.mark:
            self.mark = 0  # the WAL started over
        if mx + self.step > self.pages:
            # The last stretch before SQLite's own checkpoint: let the thread finish
            # first, or that checkpoint would find the lock taken, be skipped, and
            # the log would grow past the threshold until the thread is done.
            self.idle.wait(STOP_WAIT_S)
            return
        base = max(backfilled, self.mark)
        if mx - base < (self.pages - base) // 2:
            return  # not half way from the last checkpoint to the threshold yet
        self.mark = mx
        if self.thread is None and not self._start():
            return
        self.idle.clear()
        self.wake.set()

    def frames(self) -> tuple[int, int] | None:
        """(mxFrame, nBackfill) from the WAL index, or None when it cannot be read."""
        with self.lock:  # not while another thread closes the file
            try:
                if self.shm is None:
                    self.shm = os.open(self.shm_path, os.O_RDONLY)
                head = os.pread(self.shm, _HEADER.size, 0)
            except OSError:
                self.step = 0  # no readable index: leave checkpoints to SQLite
                return None
        if len(head) < _HEADER.size:
            return None
        version, mx, backfilled = _HEADER.unpack(head)
        if version != _WAL_INDEX_VERSION:
            self.step = 0
            return None
        return mx, backfilled

    def _start(self) -> bool:
        """Start the thread; False when it cannot run (then SQLite checkpoints alone)."""
        with self.lock:
            if self.thread is None and not self.stopping:
                thread = threading.Thread(
                    target=self._run, name="carnet-wal-checkpoint", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError:  # no new threads (the interpreter is exiting)
                    self.step = 0
                    return False
                self.thread = thread
            return self.thread is not None

    def _run(self) -> None:
        try:
            conn = self.connect()
        except sqlite3.Error:
            self.step = 0
            self.idle.set()
            return
        with contextlib.closing(conn):
            while True:
                self.wake.wait()
                if self.stopping:
                    return
                self.wake.clear()  # a wake-up during the checkpoint asks for another
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                if not self.wake.is_set():
                    self.idle.set()

    def stop(self) -> None:
        """End the thread (after the checkpoint it is running, if any) and close its files."""
        self.stopping = True
        self.wake.set()
        self.idle.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_WAIT_S)
        with self.lock:
            self._close_index()

    def forget(self) -> None:
        """In a forked child: drop the parent's thread and files without touching them.

        Not under ``self.lock``: a thread of the parent may have held it at the fork,
        and no thread of the child will ever release it."""
        self.stopping = True
        self._close_index()

    def _close_index(self) -> None:
        if self.shm is not None:
            with contextlib.suppress(OSError):
                os.close(self.shm)
            self.shm = None
