"""Module-level functions over a default ``Client``: MLflow's fluent API.

Each thread has its own stack of active runs (so threads can track runs side
by side); the tracking URI and the active experiment are per process, as in
MLflow. Runs started here beat a heartbeat while active, and are ended
KILLED on SIGTERM and at exit after an interrupt, FAILED after an uncaught
exception, FINISHED otherwise. Tracking functions marked ``@safe`` turn
failures into logged warnings when safe mode is on (see carnet.safe_mode).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from carnet import uri as uri_config
from carnet.client import Client, RunOperations, _now_ms
from carnet.entities import Experiment, Run, RunStatus, ViewType
from carnet.errors import (
    ActiveRunError,
    DeletedError,
    ExperimentExistsError,
    ExperimentNotFoundError,
    InvalidValueError,
)
from carnet.safe_mode import NullRun, safe
from carnet.validation import (
    MAX_RUN_NAME_LENGTH,
    RUN_NAME_TAG,
    as_dict,
    run_tags,
    validate_name,
    validate_run_id,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("carnet")

DEFAULT_EXPERIMENT_NAME = "Default"
#: The tag MLflow keeps a run's description in.
NOTE_TAG = "mlflow.note.content"
HEARTBEAT_INTERVAL_S = float(os.environ.get("CARNET_HEARTBEAT_INTERVAL", "10"))

_state_lock = threading.RLock()
_clients: dict[str, Client] = {}
_active_experiment_id: str | None = None
_local = threading.local()
_last_run_id: str | None = None
#: Every active run of the process (all threads): run_id -> client.
_live: dict[str, Client] = {}
_last_exception: list[BaseException] = []
_hooks_installed = False


# -- tracking URI and client -------------------------------------------------------------


def set_tracking_uri(uri: str | Path) -> None:
    """Use this store from now on, for the fluent API and ``Client()`` alike."""
    uri_config.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    return uri_config.resolve_uri()


def is_tracking_uri_set() -> bool:
    return uri_config._tracking_uri is not None or uri_config.ENV_URI in os.environ


_last_client: tuple[object, Client] | None = None


def _client() -> Client:
    """The Client of the store in use; resolved once per (URI setting, cwd), not per call."""
    global _last_client
    explicit = uri_config._tracking_uri
    key: object = (
        explicit if explicit is not None else (os.environ.get(uri_config.ENV_URI), os.getcwd())
    )
    last = _last_client
    if last is not None and last[0] == key:
        return last[1]
    uri = get_tracking_uri()
    client = _clients.get(uri)
    if client is None:
        with _state_lock:
            client = _clients.get(uri)
            if client is None:
                client = _clients[uri] = Client(uri)
    _last_client = (key, client)
    return client


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


# -- experiments -------------------------------------------------------------------------


@safe()
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active, creating it by name if needed (as MLflow does)."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidValueError(
            "set_experiment takes exactly one of experiment_name or experiment_id."
        )
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        experiment = _get_or_create(client, experiment_name)
    if experiment.lifecycle_stage == "deleted":
        raise DeletedError(
            f"experiment {experiment.name!r} is deleted; restore it with "
            f"restore_experiment({experiment.experiment_id!r}) or choose another name."
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _resolve_experiment_id(experiment_id: str | None) -> str:
    if experiment_id is not None:
        return str(experiment_id)
    if _active_experiment_id is not None:
        return _active_experiment_id
    name = os.environ.get("CARNET_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    env_id = os.environ.get("CARNET_EXPERIMENT_ID") or os.environ.get("MLFLOW_EXPERIMENT_ID")
    if env_id:
        return env_id
    return set_experiment(name or DEFAULT_EXPERIMENT_NAME).experiment_id


def _get_or_create(client: Client, name: str) -> Experiment:
    """The experiment named ``name``, created if missing ("Default" gets MLflow's id 0)."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            if name == DEFAULT_EXPERIMENT_NAME:
                client.store.create_experiment(name, experiment_id=0)
            else:
                client.create_experiment(name)
        except ExperimentExistsError:  # another process created it just now
            pass
        found = client.get_experiment_by_name(name)
        assert found is not None
    return found


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    _client().restore_experiment(experiment_id)


@safe()
def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_resolve_experiment_id(None), key, value)


@safe()
def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Tag the active experiment: every tag is checked first, then all are set at once."""
    _client().set_experiment_tags(_resolve_experiment_id(None), as_dict(tags, "tags"))


@safe()
def delete_experiment_tag(key: str) -> None:
    _client().delete_experiment_tag(_resolve_experiment_id(None), key)


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Autolog every library Carnet instruments: today, scikit-learn.

    MLflow's signature, so ``mlflow.autolog(...)`` calls run unchanged. Model
    signatures, datasets and traces are MLflow features Carnet does not record:
    those flags change nothing. ``exclude_flavors=["sklearn"]`` leaves
    scikit-learn alone; ``extra_tags`` is not supported and raises.
    """
    if extra_tags:
        raise InvalidValueError(
            "autolog(extra_tags=) is not supported; set the tags on the run yourself "
            "(carnet.set_tags) inside `with carnet.start_run():`."
        )
    if "sklearn" in (exclude_flavors or []):
        return
    from carnet import sklearn

    sklearn.autolog(
        log_input_examples=log_input_examples,
        log_models=log_models,
        disable=disable,
        silent=silent,
    )


# -- runs --------------------------------------------------------------------------------


class ActiveRun(Run):
    """The run ``start_run`` returns; as a context manager it ends the run on exit."""

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


@safe(NullRun)
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it this thread's active run.

    Every argument is checked before anything is written: a bad tag, name,
    description or parent leaves the store (and the experiment, which may
    otherwise be created here) untouched.
    """
    global _last_run_id
    stack = _stack()
    if stack and not nested:
        raise ActiveRunError(
            f"run {stack[-1].info.run_id} is already active; end it with end_run(), or "
            "start a child run with start_run(nested=True)."
        )
    client = _client()
    given = as_dict(tags, "tags")
    if description is not None:
        given[NOTE_TAG] = description
    if run_name is not None:
        validate_name(run_name, "run_name", MAX_RUN_NAME_LENGTH)
        given[RUN_NAME_TAG] = run_name
    clean = dict(run_tags(given))
    if run_id is not None:
        existing = client.get_run(run_id)
        if existing.info.lifecycle_stage == "deleted":
            raise DeletedError(f"run {run_id} is deleted; restore it with restore_run first.")
        client.store.resume_run(run_id, list(clean.items()))
        run = client.get_run(run_id)
    else:
        from carnet.sysinfo import system_tags

        if parent_run_id is not None:
            validate_run_id(parent_run_id, "parent_run_id")
            parent_run = client.get_run(parent_run_id)  # must exist before anything is created
            if parent_run.info.lifecycle_stage == "deleted":
                raise DeletedError(
                    f"parent run {parent_run_id} is deleted; restore it with restore_run, or "
                    "start the child under another run."
                )
        parent = parent_run_id or (stack[-1].info.run_id if stack else None)
        all_tags = dict(system_tags())
        all_tags.update(clean)
        run = client.create_run(
            _resolve_experiment_id(experiment_id),
            tags=all_tags,
            run_name=run_name,
            parent_run_id=parent,
        )
    active = ActiveRun(run, client)
    stack.append(active)
    with _state_lock:
        _live[run.info.run_id] = client
        _last_run_id = run.info.run_id
    _install_hooks()
    return active


def _end(run_id: str, status: str, exc: BaseException | None = None) -> None:
    """End ``run_id`` (which must be on this thread's stack) and everything above it.

    A run whose ending fails (its buffered points or its status could not be
    written) stays on the stack and active, so the call can be retried and the
    exit hook still ends it.
    """
    stack = _stack()
    ids = [r.info.run_id for r in stack]
    if run_id not in ids:
        return  # already ended, e.g. by end_run() inside the with-block
    while stack:
        top = stack[-1]
        _terminate(top.info.run_id, status, exc)
        stack.pop()
        if top.info.run_id == run_id:
            break


def _terminate(run_id: str, status: str, exc: BaseException | None = None) -> None:
    global _last_run_id
    with _state_lock:
        client = _live.pop(run_id, None)
    if client is None:  # another thread, or this process's exit hook, ended it already
        _last_run_id = run_id
        return
    try:
        client.flush()
        if exc is not None and status == RunStatus.FAILED.value:
            message = f"{type(exc).__name__}: {exc}"
            client.log_batch(
                run_id,
                tags=[
                    ("carnet.error.type", type(exc).__name__),
                    ("carnet.error.message", message[:8000]),
                ],
            )
        client.set_terminated(run_id, status)
    except BaseException:
        with _state_lock:
            _live[run_id] = client
        raise
    with _state_lock:
        _last_run_id = run_id  # MLflow's last_active_run is the run that ended last


_safe_end = safe()(_end)  # a with-block's exit obeys safe mode like end_run does


@safe()
def end_run(status: str = "FINISHED") -> None:
    """End this thread's active run (no-op without one), writing buffered points first."""
    if status not in ("FINISHED", "FAILED", "KILLED"):
        raise InvalidValueError(
            f"end_run status {status!r} is not one of FINISHED, FAILED, KILLED."
        )
    stack = _stack()
    if stack:
        _end(stack[-1].info.run_id, str(status))


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the last one this process started (re-read from the store)."""
    active = active_run()
    if active is not None:
        return _client().get_run(active.info.run_id)
    return _client().get_run(_last_run_id) if _last_run_id else None


def _run_id() -> str:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id  # MLflow starts a run implicitly on first log


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    _client().restore_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return _client().get_parent_run(run_id)


# -- logging -----------------------------------------------------------------------------


@safe()
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id(), key, value)


@safe()
def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    _client().log_batch(run_id or _run_id(), params=list(as_dict(params, "params").items()))


def _no_links(model_id: object, dataset: object) -> None:
    """MLflow 3 can tie a metric to a logged model or a dataset; Carnet keeps no such links."""
    if model_id is not None or dataset is not None:
        raise InvalidValueError(
            "Carnet does not link metrics to models or datasets; drop model_id= and "
            "dataset=, or record them as tags (e.g. set_tag('dataset', name))."
        )


@safe()
def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log one point; with ``synchronous=False`` it is queued and a handle is returned."""
    _no_links(model_id, dataset)
    return _client().log_metric(run_id or _run_id(), key, value, timestamp, step, synchronous)


@safe()
def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    _no_links(model_id, dataset)
    ts = _now_ms() if timestamp is None else timestamp
    st = 0 if step is None else step
    return _client().log_batch(
        run_id or _run_id(),
        metrics=[(k, v, ts, st) for k, v in as_dict(metrics, "metrics").items()],
        synchronous=synchronous,
    )


@safe()
def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _client().set_tag(_run_id(), key, value)


@safe()
def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    _client().log_batch(_run_id(), tags=list(as_dict(tags, "tags").items()))


@safe()
def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


@safe()
def log_artifact(
    local_path: str | Path, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifact(run_id or _run_id(), local_path, artifact_path)


@safe()
def log_artifacts(
    local_dir: str | Path, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


@safe()
def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_text(run_id or _run_id(), text, artifact_file)


@safe()
def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_dict(run_id or _run_id(), dictionary, artifact_file)


@safe()
def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    _client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


@safe()
def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Save a numpy array or PIL image as PNG: at ``artifact_file``, or as step ``step`` of
    the image series ``key`` (``images/<key>/step_<step>.png``)."""
    _client().log_image(_run_id(), image, artifact_file, key, step)


@safe()
def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a DataFrame or a dict of columns as a JSON table (pandas' ``split`` layout)."""
    _client().log_table(run_id or _run_id(), data, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    uri = _client().get_run(_run_id()).info.artifact_uri
    if artifact_path:
        from carnet.artifacts import safe_relative

        return f"{uri.rstrip('/')}/{safe_relative(artifact_path)}"
    return uri


@safe()
def flush_async_logging() -> None:
    """Write every buffered point now (they are also written on end_run and at exit)."""
    for client in list(_clients.values()):
        client.flush()


# -- search ------------------------------------------------------------------------------


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching a filter, as a DataFrame (default) or a list of ``Run``."""
    client = _client()
    ids = [str(e) for e in (experiment_ids or [])]
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise ExperimentNotFoundError(
                f"no experiment named {name!r}; see search_experiments() for the names."
            )
        ids.append(experiment.experiment_id)
    if not ids:
        if search_all_experiments:
            ids = [e.experiment_id for e in client.search_experiments(ViewType.ACTIVE_ONLY)]
        elif experiment_ids is None and experiment_names is None:
            ids = [_resolve_experiment_id(None)]
    client.flush()
    if output_format == "list":
        return list(client.search_runs(ids, filter_string, run_view_type, max_results, order_by))
    if output_format != "pandas":
        raise InvalidValueError(f"output_format must be 'pandas' or 'list', got {output_format!r}.")
    return client.search_runs_frame(ids, filter_string, run_view_type, max_results, order_by)


# -- process hooks: heartbeat, signals, exit ---------------------------------------------

#: The pid whose heartbeat thread runs (a forked child starts its own).
_heartbeat_pid: int | None = None
_heartbeat_stop = threading.Event()
#: Codes passed to sys.exit: a bare start_run() ends KILLED at exit after a non-zero one.
_exit_codes: list[object] = []


def _heartbeat_loop() -> None:
    stop = _heartbeat_stop
    while not stop.wait(HEARTBEAT_INTERVAL_S):
        with _state_lock:
            by_client: dict[int, tuple[Client, list[str]]] = {}
            for rid, client in _live.items():
                by_client.setdefault(id(client), (client, []))[1].append(rid)
        for client, ids in by_client.values():
            try:
                client.store.heartbeat(ids)
            except Exception:  # a missed beat is retried at the next interval
                pass


def _flush_writers() -> None:
    """Write every buffered point of the process, spooling what the store refuses."""
    writer = sys.modules.get("carnet.store.writer")
    if writer is not None:  # never loaded: nothing was buffered
        writer.flush_all()


def _end_all(status: str, exc: BaseException | None = None) -> None:
    """End every active run of the process (all threads), writing buffered points first.

    Used when the process ends: a run that cannot be ended is reported, not raised.
    """
    _flush_writers()
    with _state_lock:
        live = list(_live.items())
    for run_id, _client in reversed(live):
        try:
            _terminate(run_id, status, exc)
        except Exception as error:
            logger.error("carnet: run %s could not be ended %s: %s", run_id, status, error)
    _stack().clear()


def _on_sigterm(signum: int, frame: Any) -> None:
    writer = sys.modules.get("carnet.store.writer")
    if writer is not None and writer.defer_if_draining(signum):
        return  # re-sent when this thread's write ends
    _end_all(RunStatus.KILLED.value)
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
    _end_all(status.value, last)


def _start_heartbeat() -> None:
    global _heartbeat_pid
    pid = os.getpid()
    if _heartbeat_pid == pid:
        return
    with _state_lock:
        if _heartbeat_pid == pid:
            return
        _heartbeat_pid = pid
    threading.Thread(target=_heartbeat_loop, name="carnet-heartbeat", daemon=True).start()


def _install_hooks() -> None:
    """Heartbeat, exit and SIGTERM hooks, once per process.

    SIGTERM gets a handler only where it has the default disposition (or the
    buffered writer's flush-only one): a SIGTERM the parent process ignored
    stays ignored. SIGINT is left to Python: KeyboardInterrupt where it is
    enabled, nothing where the process inherited it ignored.
    """
    global _hooks_installed
    _start_heartbeat()
    if _hooks_installed:
        return
    with _state_lock:
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
    global _state_lock
    _state_lock = threading.RLock()
    _live.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _reset_for_tests() -> None:
    """Forget the active experiment, runs and clients (tests use a fresh store each)."""
    global _active_experiment_id, _last_run_id, _last_client
    _end_all(RunStatus.KILLED.value)
    for client in _clients.values():
        client.flush()
    _clients.clear()
    _last_client = None
    uri_config.set_tracking_uri(None)
    _active_experiment_id = None
    _last_run_id = None
