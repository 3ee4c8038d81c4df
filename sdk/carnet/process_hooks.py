"""What a process that tracks runs does around them: heartbeat, signals, exit, fork.

While a run is active, a background thread writes its heartbeat every
``CARNET_HEARTBEAT_INTERVAL`` seconds (10 by default); a run whose process
died stops beating and reads as CRASHED. When the process ends, every run it
still owns is ended, after its buffered points are written: KILLED on SIGTERM,
at exit after a KeyboardInterrupt or a non-zero ``sys.exit``, FAILED after an
uncaught exception, FINISHED otherwise. A forked child neither beats for nor
ends its parent's runs; it may log to them.

:func:`install` sets all of this up, once per process, when the first run
starts; importing the module only registers the fork handler.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import signal
import sys
import threading
from types import TracebackType
from typing import Any, NoReturn

from carnet import run_context, settings
from carnet.client import Client
from carnet.entities import RunStatus

__all__ = ["end_all", "flush_writers", "install"]

logger = logging.getLogger("carnet")

_lock = threading.RLock()
_hooks_installed = False
#: The pid whose heartbeat thread runs (a forked child starts its own).
_heartbeat_pid: int | None = None
_heartbeat_stop = threading.Event()
#: Exceptions that reached sys.excepthook: the last one decides how runs end at exit.
_last_exception: list[BaseException] = []
#: Codes passed to sys.exit: a bare start_run() ends KILLED at exit after a non-zero one.
_exit_codes: list[object] = []


def _heartbeat_loop() -> None:
    stop = _heartbeat_stop
    while not stop.wait(settings.HEARTBEAT_INTERVAL.get_or_default()):  # read every beat
        by_client: dict[int, tuple[Client, list[str]]] = {}
        for rid, owner in run_context.live_runs():
            by_client.setdefault(id(owner), (owner, []))[1].append(rid)
        for owner, ids in by_client.values():
            try:
                owner.store.heartbeat(ids)
            except Exception:  # a missed beat is retried at the next interval
                pass


def flush_writers() -> None:
    """Write every buffered point of the process, spooling what the store refuses."""
    writer = sys.modules.get("carnet.store.writer")
    if writer is not None:  # never loaded: nothing was buffered
        writer.flush_all()


def end_all(status: str, exc: BaseException | None = None) -> None:
    """End every active run of the process (all threads), writing buffered points first.

    Used when the process ends: a run that cannot be ended is reported, not raised.
    """
    flush_writers()
    for run_id, _owner in reversed(run_context.live_runs()):
        try:
            run_context.terminate(run_id, status, exc)
        except Exception as error:
            logger.error("carnet: run %s could not be ended %s: %s", run_id, status, error)
    run_context.run_stack().clear()


def _on_sigterm(signum: int, frame: Any) -> None:
    writer = sys.modules.get("carnet.store.writer")
    if writer is not None and writer.defer_if_draining(signum):
        return  # re-sent when this thread's write ends
    end_all(RunStatus.KILLED.value)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _at_exit() -> None:
    _heartbeat_stop.set()
    last = _last_exception[-1] if _last_exception else None
    if last is None:
        code = _exit_codes[-1] if _exit_codes else None
        status = RunStatus.FINISHED if code in (0, None) else RunStatus.KILLED
    elif isinstance(last, KeyboardInterrupt):
        status = RunStatus.KILLED
    else:
        status = RunStatus.FAILED
    end_all(status.value, last)


def _start_heartbeat() -> None:
    global _heartbeat_pid
    pid = os.getpid()
    if _heartbeat_pid == pid:
        return
    with _lock:
        if _heartbeat_pid == pid:
            return
        _heartbeat_pid = pid
    threading.Thread(target=_heartbeat_loop, name="carnet-heartbeat", daemon=True).start()


def install() -> None:
    """Heartbeat, exit and SIGTERM hooks, once per process (the heartbeat once per pid).

    SIGTERM gets a handler only where it has the default disposition (or the
    buffered writer's flush-only one): a SIGTERM the parent process ignored
    stays ignored. SIGINT is left to Python: KeyboardInterrupt where it is
    enabled, nothing where the process inherited it ignored.
    """
    global _hooks_installed
    _start_heartbeat()
    if _hooks_installed:
        return
    with _lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def _record(t: type[BaseException], v: BaseException, tb: TracebackType | None) -> None:
        _last_exception.append(v)
        previous_hook(t, v, tb)

    sys.excepthook = _record
    real_exit = sys.exit

    @functools.wraps(real_exit)
    def _exit(status: str | int | None = None, /) -> NoReturn:
        _exit_codes.append(status)
        real_exit(status)

    sys.exit = _exit
    if threading.current_thread() is threading.main_thread():
        writer = sys.modules.get("carnet.store.writer")
        replaceable = [signal.SIG_DFL, None]
        if writer is not None:
            replaceable.append(writer.flush_on_signal)
        try:
            if signal.getsignal(signal.SIGTERM) in replaceable:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main interpreter
            pass


def _after_fork_in_child() -> None:
    """A forked child neither ends nor beats for its parent's runs (it may log to them)."""
    global _lock
    _lock = threading.RLock()
    run_context.release_runs()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
