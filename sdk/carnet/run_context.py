"""Which store and which run a call without explicit ids means: the process's run context.

The fluent functions, the flavours and autolog all ask this module the same
questions: the ``Client`` of the store in use (resolved from
``set_tracking_uri``, ``$CARNET_TRACKING_URI`` or ``./carnet.db``, one client
per store), this thread's stack of active runs (each thread has its own, so
threads can track runs side by side), the active experiment, and the runs this
process is responsible for ending (every thread's, for the heartbeat and the
exit hooks in :mod:`carnet.process_hooks`).

It starts nothing on its own: starting a run (and starting one implicitly on
the first log call) is :func:`carnet.fluent.start_run`'s job.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from carnet import settings, sysinfo
from carnet import uri as uri_config
from carnet.client import Client
from carnet.entities import Run, RunStatus
from carnet.safe_mode import safe

__all__ = [
    "ActiveRun",
    "active_experiment_id",
    "active_run",
    "active_run_id",
    "clear",
    "client",
    "clients",
    "end",
    "last_run_id",
    "live_runs",
    "on_run_end",
    "push",
    "release_runs",
    "run_stack",
    "set_active_experiment_id",
    "terminate",
]

_lock = threading.RLock()
_clients: dict[str, Client] = {}
#: The client ``client()`` returned last, keyed by what chose it (see ``client``).
_last_client: tuple[object, Client] | None = None
_local = threading.local()
_active_experiment_id: str | None = None
_last_run_id: str | None = None
#: Every active run this process started (all threads): run_id -> its client.
_live: dict[str, Client] = {}
#: Called with a run's id as it ends, before its buffered points are written.
_end_hooks: list[Callable[[str], None]] = []


def on_run_end(hook: Callable[[str], None]) -> None:
    """Call ``hook(run_id)`` as each run ends, before its buffered points are written,
    so a background logger (the system-metrics sampler) stops with its points kept."""
    if hook not in _end_hooks:
        _end_hooks.append(hook)


# -- the store -----------------------------------------------------------------------------


def client() -> Client:
    """The Client of the store in use, resolved once per (URI setting, cwd), not per call.

    Every fluent call asks for it, so it must cost a dict lookup, not a URI parse.
    """
    global _last_client
    explicit = uri_config.explicit_uri()
    key: object = explicit if explicit is not None else (settings.TRACKING_URI.get(), os.getcwd())
    last = _last_client
    if last is not None and last[0] == key:
        return last[1]
    uri = uri_config.resolve_uri()
    found = _clients.get(uri)
    if found is None:
        with _lock:
            found = _clients.get(uri)
            if found is None:
                found = _clients[uri] = Client(uri)
    _last_client = (key, found)
    return found


def clients() -> list[Client]:
    """Every client this process opened, e.g. to write all buffered points at once."""
    return list(_clients.values())


# -- the active experiment -----------------------------------------------------------------


def active_experiment_id() -> str | None:
    """The experiment ``set_experiment`` chose, or None when none was chosen yet."""
    return _active_experiment_id


def set_active_experiment_id(experiment_id: str | None) -> None:
    """Make ``experiment_id`` the process's active experiment (None: choose again later)."""
    global _active_experiment_id
    _active_experiment_id = experiment_id


# -- active runs ---------------------------------------------------------------------------


class ActiveRun(Run):
    """The run ``start_run`` returns; as a context manager it ends the run on exit.

    It ends FINISHED, FAILED on an exception, KILLED on KeyboardInterrupt, and
    on ``sys.exit(code)`` FINISHED for code 0 or None, KILLED otherwise.
    """

    def __init__(self, run: Run, client: Client) -> None:
        super().__init__(info=run.info, data=run.data, summaries=run.summaries)
        object.__setattr__(self, "_client", client)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        elif issubclass(exc_type, SystemExit):
            code = getattr(exc, "code", None)
            status = RunStatus.FINISHED if code in (0, None) else RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        _safe_end(self.info.run_id, status.value, exc)
        return False


def run_stack() -> list[ActiveRun]:
    """This thread's active runs, innermost last (the list itself: callers may pop)."""
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def active_run() -> ActiveRun | None:
    """This thread's innermost active run, or None."""
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    return stack[-1] if stack else None


def active_run_id() -> str | None:
    """The id of this thread's innermost active run, or None (cheap: every log call asks)."""
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    return stack[-1].info.run_id if stack else None


def last_run_id() -> str | None:
    """The run that ended last in this process, else the one started last (MLflow's rule)."""
    return _last_run_id


def push(run: Run, owner: Client) -> ActiveRun:
    """Make a run just started or resumed on ``owner``'s store this thread's innermost run,
    one the process beats for and ends."""
    global _last_run_id
    active = ActiveRun(run, owner)
    run_stack().append(active)
    with _lock:
        _live[run.info.run_id] = owner
        _last_run_id = run.info.run_id
    return active


def live_runs() -> list[tuple[str, Client]]:
    """Every run this process must beat for and end (all threads), oldest first."""
    with _lock:
        return list(_live.items())


def end(run_id: str, status: str, exc: BaseException | None = None) -> None:
    """End ``run_id`` (which must be on this thread's stack) and every run above it.

    A run whose ending fails (its buffered points or its status could not be
    written) stays on the stack and active, so the call can be retried and the
    exit hook still ends it.
    """
    stack = run_stack()
    ids = [r.info.run_id for r in stack]
    if run_id not in ids:
        return  # already ended, e.g. by end_run() inside the with-block
    while stack:
        top = stack[-1]
        terminate(top.info.run_id, status, exc)
        stack.pop()
        if top.info.run_id == run_id:
            break


#: A with-block's exit obeys safe mode as end_run does.
_safe_end = safe()(end)


def terminate(run_id: str, status: str, exc: BaseException | None = None) -> None:
    """Write ``run_id``'s buffered points, then its end (with the error after a failure).

    A run that another thread or the exit hook ended already is left alone.
    """
    global _last_run_id
    with _lock:
        owner = _live.pop(run_id, None)
    if owner is None:  # another thread, or this process's exit hook, ended it already
        _last_run_id = run_id
        return
    for hook in list(_end_hooks):
        hook(run_id)
    try:
        owner.flush()
        if exc is not None and status == RunStatus.FAILED.value:
            message = f"{type(exc).__name__}: {exc}"
            owner.log_batch(
                run_id,
                tags=[
                    (sysinfo.ERROR_TYPE_TAG, type(exc).__name__),
                    (sysinfo.ERROR_MESSAGE_TAG, message[:8000]),
                ],
            )
        owner.set_terminated(run_id, status)
    except BaseException:
        with _lock:
            _live[run_id] = owner
        raise
    with _lock:
        _last_run_id = run_id  # MLflow's last_active_run is the run that ended last


# -- starting afresh -----------------------------------------------------------------------


def release_runs() -> None:
    """Stop owning the active runs, without ending them: nothing here beats for or ends them.

    A forked child calls it (see carnet.process_hooks): its parent still owns
    the runs, and the child may go on logging to them. The lock is new too, as
    another thread of the parent may have held it when the process forked.
    """
    global _lock
    _lock = threading.RLock()
    _live.clear()


def clear() -> None:
    """Forget the whole context, as a fresh process would start: runs, experiment, clients.

    Active runs are forgotten, not ended (``carnet.process_hooks.end_all``
    ends them); every client writes its buffered points before it is dropped.
    The tracking URI setting is :mod:`carnet.uri`'s and stays as it is.
    """
    global _local, _last_client, _active_experiment_id, _last_run_id
    release_runs()
    for opened in clients():
        opened.flush()
    _clients.clear()
    _last_client = None
    _local = threading.local()
    _active_experiment_id = None
    _last_run_id = None
