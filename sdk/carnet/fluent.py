"""Module-level functions over a default ``Client``: MLflow's fluent API.

Which store and which run a call means comes from :mod:`carnet.run_context`:
each thread has its own stack of active runs (so threads can track runs side
by side); the tracking URI and the active experiment are per process, as in
MLflow. Runs started here beat a heartbeat while active and are ended when
the process ends (see :mod:`carnet.process_hooks`). Tracking functions marked
``@safe`` turn failures into logged warnings when safe mode is on (see
:mod:`carnet.safe_mode`); which ones are is derived from ``__all__`` at the
end of this module. Flavours (``carnet.sklearn``) sit above this module:
``autolog`` imports them by name, when it runs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carnet import capture_hook, process_hooks, run_context, settings, system_metrics
from carnet import uri as uri_config
from carnet.client import Client, RunOperations
from carnet.clock import now_ms
from carnet.data.datasets import BaseDataset
from carnet.entities import DatasetInput, Experiment, InputTag, Metric, Run, ViewType
from carnet.errors import (
    ActiveRunError,
    DeletedError,
    ExperimentExistsError,
    ExperimentNotFoundError,
    InvalidValueError,
)
from carnet.run_context import ActiveRun
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

__all__ = [
    "ActiveRun",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

DEFAULT_EXPERIMENT_NAME = "Default"
#: The tag MLflow keeps a run's description in.
NOTE_TAG = "mlflow.note.content"
#: Library name -> the Carnet module that autologs it (MLflow's LIBRARY_TO_AUTOLOG_MODULE).
#: ``autolog`` imports a module only when it runs, so ``import carnet`` loads no flavour.
LIBRARY_TO_AUTOLOG_MODULE: dict[str, str] = {"sklearn": "carnet.sklearn"}


# -- tracking URI ------------------------------------------------------------------------


def set_tracking_uri(uri: str | Path) -> None:
    """Use this store from now on, for the fluent API and for ``Client()`` without a URI.

    Args:
        uri: a file path (a SQLite file), ``sqlite:///path.db``,
            ``postgresql+psycopg://user:pass@host/db`` (``postgresql://`` works too),
            or a ``carnet server``'s ``http(s)://host:port``.

    Differs from MLflow: MLflow's ``mlruns/`` file store and an in-memory SQLite
    database are not stores Carnet opens (copy an MLflow store with
    ``carnet import-mlflow``); a bad URI raises ``ConfigurationError``.
    """
    uri_config.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    """The store in use, as a normalised URI: ``set_tracking_uri``'s, else
    ``$CARNET_TRACKING_URI``, else ``sqlite:///<cwd>/carnet.db`` (the SDK, the CLI and
    the dashboard resolve it alike). A relative SQLite path comes back absolute.
    """
    return uri_config.resolve_uri()


def is_tracking_uri_set() -> bool:
    """Whether a store was chosen, by ``set_tracking_uri`` or
    ``$CARNET_TRACKING_URI``, rather than defaulted to ``./carnet.db``.
    """
    return uri_config.explicit_uri() is not None or settings.TRACKING_URI.is_set()


# -- experiments -------------------------------------------------------------------------


@safe()
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the active one for runs started later, creating it by name if needed.

    Pass exactly one of ``experiment_name`` or ``experiment_id``, as in MLflow.
    The name ``Default`` gets MLflow's id ``0``. A deleted experiment is refused
    (``DeletedError``): restore it or choose another name. The active experiment is
    per process; runs started without ``experiment_id`` go to it (then to
    ``$CARNET_EXPERIMENT_ID`` / ``$CARNET_EXPERIMENT_NAME`` or MLflow's variables,
    then to ``Default``). Returns the ``Experiment``.
    """
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidValueError(
            "set_experiment takes exactly one of experiment_name or experiment_id."
        )
    client = run_context.client()
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
    run_context.set_active_experiment_id(experiment.experiment_id)
    return experiment


def _resolve_experiment_id(experiment_id: str | None) -> str:
    if experiment_id is not None:
        return str(experiment_id)
    active = run_context.active_experiment_id()
    if active is not None:
        return active
    name = settings.EXPERIMENT_NAME.get() or settings.MLFLOW_EXPERIMENT_NAME.get()
    env_id = settings.EXPERIMENT_ID.get() or settings.MLFLOW_EXPERIMENT_ID.get()
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
    """Create an experiment and return its id (a string, as MLflow's).

    Args:
        name: unique, at most 500 characters; an existing name raises
            ``ExperimentExistsError``.
        artifact_location: where its runs keep artifacts; it must be a local folder
            inside an allowed artifact root (``$CARNET_ARTIFACT_ROOT`` or one of
            ``$CARNET_ARTIFACT_ROOTS``). Default: a folder under the store's
            ``carnet-artifacts/``.
        tags: experiment tags (values are stored as text).
    """
    return run_context.client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id, deleted or not; a missing one raises
    ``ExperimentNotFoundError``.
    """
    return run_context.client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with exactly this name (deleted or not), or None."""
    return run_context.client().get_experiment_by_name(name)


def search_experiments(
    view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments matching a filter, as a list (MLflow's fluent signature).

    Args:
        view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``;
            Carnet also takes 1, 2, 3 or the name as text.
        max_results: at most this many; None returns every match.
        filter_string: the filter language over ``name``, ``experiment_id``,
            ``creation_time``, ``last_update_time`` and ``tags.<key>``, e.g.
            ``"name LIKE 'diab%'"``; Carnet adds ``OR``, ``NOT`` and parentheses.
        order_by: e.g. ``["name ASC"]``; default the most recently updated first.
    """
    return list(
        run_context.client().search_experiments(view_type, max_results, filter_string, order_by)
    )


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted; nothing is removed.

    ``restore_experiment`` brings them back; ``carnet gc`` purges deleted runs and
    their artifacts for good. Deleted experiments and runs are left out of searches
    unless the view type asks for them.
    """
    run_context.client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Make a deleted experiment and its runs active again."""
    run_context.client().restore_experiment(experiment_id)


@safe()
def set_experiment_tag(key: str, value: Any) -> None:
    """Set one tag on the active experiment (chosen as ``start_run`` would choose it);
    the value is stored as text, at most 8,000 characters.
    """
    run_context.client().set_experiment_tag(_resolve_experiment_id(None), key, value)


@safe()
def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active experiment: every tag is checked first, then
    all are written in one transaction, so a bad one leaves the experiment as it was.
    """
    run_context.client().set_experiment_tags(_resolve_experiment_id(None), as_dict(tags, "tags"))


@safe()
def delete_experiment_tag(key: str) -> None:
    """Remove a tag from the active experiment; a tag it does not have raises."""
    run_context.client().delete_experiment_tag(_resolve_experiment_id(None), key)


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
    excluded = set(exclude_flavors or [])
    for library, module_name in LIBRARY_TO_AUTOLOG_MODULE.items():
        if library in excluded:
            continue
        flavour = importlib.import_module(module_name)
        flavour.autolog(
            log_input_examples=log_input_examples,
            log_models=log_models,
            disable=disable,
            silent=silent,
        )


# -- runs --------------------------------------------------------------------------------


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
    """Start a run, or resume ``run_id``, and make it this thread's active run.

    Use it as a context manager: ``with carnet.start_run():`` ends the run
    FINISHED, FAILED on an exception (with the error's type and message as tags),
    KILLED on Ctrl-C; ``sys.exit(0)`` ends it FINISHED and a non-zero exit KILLED
    (MLflow marks both FAILED). While active the run beats a heartbeat, and a run
    whose process died reads CRASHED (a status MLflow does not have). At start
    Carnet records the source file, command line, git commit, Python version, host
    and user as tags. Each thread has its own stack of active runs.

    Args:
        run_id: resume this run: it is RUNNING again and ``tags`` are added
            (a deleted run raises ``DeletedError``). Without it,
            ``$CARNET_RUN_ID`` or ``$MLFLOW_RUN_ID`` names the run to resume;
            the variable is removed once read, as MLflow does.
        experiment_id: the experiment of a new run; default the active one
            (see ``set_experiment``).
        run_name: at most 250 characters; default a generated one such as
            ``brave-otter-482``.
        nested: start a child of the active run; without it a second
            ``start_run`` raises ``ActiveRunError``. The child records its parent
            in the tag ``mlflow.parentRunId``.
        parent_run_id: the parent of a new run, named explicitly (it must exist).
        tags: run tags; values are stored as text.
        description: stored as the tag ``mlflow.note.content``.
        log_system_metrics: sample CPU, memory, disk, network (and GPU) into
            ``system/...`` metrics of this run from a background thread; None
            follows ``enable_system_metrics_logging()`` or
            ``$CARNET_ENABLE_SYSTEM_METRICS_LOGGING``.

    Every argument is checked before anything is written: a bad tag, name,
    description or parent leaves the store (and the experiment, which may
    otherwise be created here) untouched. Returns an ``ActiveRun`` (a ``Run``).
    """
    stack = run_context.run_stack()
    if stack and not nested:
        raise ActiveRunError(
            f"run {stack[-1].info.run_id} is already active; end it with end_run(), or "
            "start a child run with start_run(nested=True)."
        )
    client = run_context.client()
    given = as_dict(tags, "tags")
    if description is not None:
        given[NOTE_TAG] = description
    if run_name is not None:
        validate_name(run_name, "run_name", MAX_RUN_NAME_LENGTH)
        given[RUN_NAME_TAG] = run_name
    clean = dict(run_tags(given))
    if run_id is None:
        run_id = _run_id_from_environment()
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
        all_tags.update(capture_hook.at_start(client))
        all_tags.update(clean)
        run = client.create_run(
            _resolve_experiment_id(experiment_id),
            tags=all_tags,
            run_name=run_name,
            parent_run_id=parent,
        )
    active = run_context.push(run, client)
    process_hooks.install()
    system_metrics.start_for_run(run.info.run_id, client, log_system_metrics)
    return active


def _run_id_from_environment() -> str | None:
    """``$CARNET_RUN_ID`` or ``$MLFLOW_RUN_ID``, removed once read, as MLflow does.

    A launcher hands a run to a script this way; removing the variables keeps
    later ``start_run`` calls in the same process from resuming it again.
    """
    found = settings.RUN_ID.get() or settings.MLFLOW_RUN_ID.get()
    if found is not None:
        os.environ.pop(settings.RUN_ID.name, None)
        os.environ.pop(settings.MLFLOW_RUN_ID.name, None)
    return found


@safe()
def end_run(status: str = "FINISHED") -> None:
    """End this thread's active run with ``status`` (FINISHED, FAILED or KILLED).

    Buffered metric points are written first. Without an active run it does
    nothing, as in MLflow; the enclosing run, if any, becomes active again.
    """
    if status not in ("FINISHED", "FAILED", "KILLED"):
        raise InvalidValueError(
            f"end_run status {status!r} is not one of FINISHED, FAILED, KILLED."
        )
    current = run_context.active_run_id()
    if current is not None:
        run_context.end(current, str(status))


def active_run() -> ActiveRun | None:
    """This thread's active run (the innermost one), or None.

    The returned ``ActiveRun`` is the run as it was when started: re-read it with
    ``get_run`` to see what was logged since.
    """
    return run_context.active_run()


def last_active_run() -> Run | None:
    """The active run, else the last run this process started; re-read from the store,
    so its data is current. None when this process started no run.
    """
    active = run_context.active_run_id() or run_context.last_run_id()
    return run_context.client().get_run(active) if active else None


def _run_id() -> str:
    """This thread's active run, else one started now (MLflow starts a run on the first log)."""
    return run_context.active_run_id() or start_run().info.run_id


@safe()
def log_input(
    dataset: BaseDataset | None = None,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: object = None,
) -> None:
    """Record a dataset (``carnet.data.from_pandas`` / ``from_numpy``) as an input of the
    active run, with its ``context`` (e.g. ``training``) and input tags, as MLflow does."""
    if model is not None:
        raise InvalidValueError("Carnet records datasets as run inputs, not models; drop model=.")
    if not isinstance(dataset, BaseDataset):
        raise InvalidValueError(
            "log_input takes a dataset from carnet.data.from_pandas or from_numpy, got "
            f"{'none' if dataset is None else type(dataset).__name__}."
        )
    input_tags = [InputTag(str(k), str(v)) for k, v in as_dict(tags or {}, "tags").items()]
    if context is not None:
        input_tags.append(InputTag("mlflow.data.context", str(context)))
    entry = DatasetInput(dataset=dataset.to_entity(), tags=input_tags)
    run_context.client().log_inputs(_run_id(), [entry])


def get_run(run_id: str) -> Run:
    """The run with this id, read from the store: its info (status, times, artifact URI)
    and data (each metric's last value, params, tags). A missing id raises
    ``RunNotFoundError``; a running run whose heartbeat stopped reads CRASHED.
    """
    return run_context.client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted: it leaves searches and takes no more data; ``restore_run``
    brings it back and ``carnet gc`` purges it and its artifacts for good.
    """
    run_context.client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Make a deleted run active again (visible in searches, as before its deletion)."""
    run_context.client().restore_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The run ``run_id`` is nested under (its ``mlflow.parentRunId`` tag), or None
    for a top-level run.
    """
    return run_context.client().get_parent_run(run_id)


# -- logging -----------------------------------------------------------------------------


@safe()
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log one param of the active run (one is started if none is active); returns ``value``.

    Args:
        key: letters, digits and ``_ - . / : space``, at most 250 characters.
        value: stored as text (``str(value)``), at most 6,000 characters. When the
            text is a number Carnet keeps a numeric copy too, so filters compare
            ``params.alpha < 0.1`` as numbers.
        synchronous: accepted for MLflow's signature; a param is always written
            before the call returns.

    Params are immutable, as in MLflow: the same value again is a no-op, another
    value raises ``ParamOverwriteError``. A deleted run raises ``RunNotActiveError``;
    a finished one takes the param, as on MLflow.
    """
    return run_context.client().log_param(_run_id(), key, value)


@safe()
def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log several params of the active run (or of ``run_id``) at once.

    Every key and value is checked first (the rules of ``log_param``), then all are
    written in one transaction: a bad one writes none. ``synchronous`` is accepted
    for MLflow's signature; params are always written before the call returns.
    """
    run_context.client().log_batch(
        run_id or _run_id(), params=list(as_dict(params, "params").items())
    )


def _no_links(model_id: str | None, dataset: object) -> None:
    """MLflow 3 can tie a metric to a dataset; Carnet keeps no such link. A ``model_id`` is
    linked (:func:`_link_to_model`): it must name a logged model, checked before anything
    is written."""
    if dataset is not None:
        raise InvalidValueError(
            "Carnet does not link metrics to datasets; drop dataset=, or record it as a "
            "tag (e.g. set_tag('dataset', name))."
        )
    if model_id is not None:
        run_context.client().get_logged_model(model_id)


def _link_to_model(
    model_id: str | None, run_id: str, points: dict[str, Any], timestamp: int, step: int
) -> None:
    """Link points just logged to the run to the logged model ``model_id`` too (MLflow 3)."""
    if model_id is not None:
        metrics = [Metric(k, v, timestamp, step) for k, v in points.items()]
        run_context.client().log_model_metrics(model_id, metrics, run_id)


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
    """Log one point of a metric's history to the active run (or to ``run_id``).

    Args:
        key: letters, digits and ``_ - . / : space``, at most 250 characters.
        value: a real number (int, float, NumPy scalar); NaN, inf and -inf are
            kept as they are (MLflow's SQL store clips infinities). Booleans and
            text raise ``InvalidValueError``.
        step: an integer (epoch, batch); default 0.
        synchronous: False queues the point for a background writer and returns a
            ``RunOperations`` whose ``wait()`` returns once it is written; None
            follows ``$CARNET_ASYNC_LOGGING``. Otherwise the point is committed
            when the call returns.
        timestamp: milliseconds since the epoch; default now.
        run_id: log to this run instead of the active one (default: the active
            run, started if none).
        model_id: also link the point to this logged model (MLflow 3), so
            ``get_logged_model(model_id).metrics`` has it.
        dataset: MLflow 3 links a metric to a dataset; Carnet keeps no such link and
            raises if one is given.

    A deleted run raises ``RunNotActiveError``; a finished one takes the point, as on
    MLflow.
    """
    _no_links(model_id, dataset)
    rid = run_id or _run_id()
    ts = now_ms() if timestamp is None else timestamp
    done = run_context.client().log_metric(rid, key, value, ts, step, synchronous)
    _link_to_model(model_id, rid, {key: value}, ts, 0 if step is None else step)
    return done


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
    """Log several metrics at one step and time, as one write (or queued when buffered).

    ``metrics`` maps keys to values; every other argument is ``log_metric``'s. Every
    point is checked before any is written, so a bad one writes none.
    """
    _no_links(model_id, dataset)
    ts = now_ms() if timestamp is None else timestamp
    st = 0 if step is None else step
    rid = run_id or _run_id()
    points = as_dict(metrics, "metrics")
    done = run_context.client().log_batch(
        rid, metrics=[(k, v, ts, st) for k, v in points.items()], synchronous=synchronous
    )
    _link_to_model(model_id, rid, points, ts, st)
    return done


@safe()
def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set one tag of the active run (one is started if none is active).

    The value is stored as text, at most 8,000 characters; unlike a param, a tag
    can be set again. Setting ``mlflow.runName`` renames the run (the run-name rules
    apply). ``synchronous`` is accepted for MLflow's signature; a tag is always
    written before the call returns.
    """
    run_context.client().set_tag(_run_id(), key, value)


@safe()
def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags of the active run: every tag is checked first, then all are
    written in one transaction.
    """
    run_context.client().log_batch(_run_id(), tags=list(as_dict(tags, "tags").items()))


@safe()
def delete_tag(key: str) -> None:
    """Remove a tag from the active run; a tag the run does not have raises."""
    run_context.client().delete_tag(_run_id(), key)


@safe()
def log_artifact(
    local_path: str | Path, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local file into the run's artifacts, keeping its name.

    Args:
        local_path: the file to copy (a missing one raises ``ArtifactNotFoundError``).
        artifact_path: a relative folder inside the run's artifacts; a path that
            would leave it (``..`` or absolute) raises ``ArtifactPathError``.
        run_id: default the active run (started if none).

    Artifacts are files under the store's artifact root; ``get_artifact_uri``
    says where.
    """
    run_context.client().log_artifact(run_id or _run_id(), local_path, artifact_path)


@safe()
def log_artifacts(
    local_dir: str | Path, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local folder's tree into the run's artifacts (under ``artifact_path``).

    The whole tree is read and checked before anything is written. Arguments as in
    ``log_artifact``.
    """
    run_context.client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


@safe()
def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Save a string as a UTF-8 artifact file at ``artifact_file`` (a relative path) of
    the active run, or of ``run_id``.
    """
    run_context.client().log_text(run_id or _run_id(), text, artifact_file)


@safe()
def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a dict (or list) as an artifact: JSON, or YAML for a ``.yaml``/``.yml``
    ``artifact_file``, formatted as MLflow writes them.
    """
    run_context.client().log_dict(run_id or _run_id(), dictionary, artifact_file)


@safe()
def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Save a figure as an artifact of the active run.

    A matplotlib figure is saved in the format the file's suffix names (PNG
    without one); a plotly figure or an Altair chart as HTML. ``save_kwargs`` go to
    the library's save call, as in MLflow.
    """
    run_context.client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


@safe()
def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Save a numpy array or PIL image as a PNG artifact of the active run.

    Args:
        image: H×W, H×W×3 or H×W×4; floats in [0, 1], other numbers clipped to
            0..255.
        artifact_file: where to save it; or else
        key, step: save it as step ``step`` of the image series ``key``, at
            ``images/<key>/step_<step>.png`` (MLflow names these files its own way,
            with thumbnails; Carnet writes only the PNG).
        timestamp, synchronous: accepted for MLflow's signature; the image is
            written before the call returns.
    """
    run_context.client().log_image(_run_id(), image, artifact_file, key, step)


@safe()
def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a DataFrame or a dict of columns as a JSON artifact in pandas' ``split``
    layout (as MLflow's ``log_table``), at ``artifact_file`` (a ``.json`` name).
    Differs from MLflow: an existing file is replaced, not appended to.
    """
    run_context.client().log_table(run_id or _run_id(), data, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI where the active run's artifacts live (a run is started if none is
    active, as in MLflow), or of ``artifact_path`` inside them.
    """
    uri = run_context.client().get_run(_run_id()).info.artifact_uri
    if artifact_path:
        from carnet.artifacts import safe_relative

        return f"{uri.rstrip('/')}/{safe_relative(artifact_path)}"
    return uri


@safe()
def flush_async_logging() -> None:
    """Write every point queued by ``synchronous=False`` calls now, for every store
    this process logs to. They are also written on ``end_run``, at exit and on
    SIGTERM/SIGINT.
    """
    for client in run_context.clients():
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
    """Runs matching a filter, as a pandas DataFrame (default) or a list of ``Run``.

    Args:
        experiment_ids: the experiments to search; default the active one.
        filter_string: MLflow's filter syntax (``metrics.MSE < 3000 and
            params.l1_ratio = '1.0'``), plus Carnet's ``OR``, ``NOT``,
            parentheses, numeric comparison of numeric params and aggregates over
            histories (``metrics.loss.min < 0.1``); see docs/query.md. A bad
            filter raises ``FilterError`` pointing at the offending position.
        run_view_type: ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or
            ``ALL`` (or 1, 2, 3, or the name).
        max_results: at most this many runs (default 100,000, as MLflow).
        order_by: several keys, e.g. ``["metrics.MSE ASC", "params.alpha DESC"]``;
            NaN and missing values sort last. Default newest first.
        output_format: ``"pandas"`` or ``"list"``.
        search_all_experiments: search every active experiment when no ids or
            names are given.
        experiment_names: experiments by name; an unknown name raises
            ``ExperimentNotFoundError``.

    The DataFrame has MLflow's columns (``run_id``, ``experiment_id``, ``status``,
    ``artifact_uri``, ``start_time``, ``end_time``, ``metrics.<k>``,
    ``params.<k>``, ``tags.<k>``) plus ``run_name``, ``user_id``,
    ``lifecycle_stage`` and ``parent_run_id``. Buffered points are written first,
    so the search sees them.
    """
    client = run_context.client()
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


# -- safe mode ---------------------------------------------------------------------------

#: Public functions that stay strict in safe mode. Safe mode protects the calls a training
#: job makes to record its progress; these are not such calls: reads (a caller who asked
#: for a value must hear why there is none), configuration (a wrong store or autolog
#: setting must be noticed at once), and managing experiments and runs by id (creating
#: one returns an id the caller needs; deleting or restoring the wrong one must not pass
#: unnoticed).
STRICT_FUNCTIONS = frozenset(
    {
        "active_run",
        "autolog",
        "create_experiment",
        "delete_experiment",
        "delete_run",
        "get_artifact_uri",
        "get_experiment",
        "get_experiment_by_name",
        "get_parent_run",
        "get_run",
        "get_tracking_uri",
        "is_tracking_uri_set",
        "last_active_run",
        "restore_experiment",
        "restore_run",
        "search_experiments",
        "search_runs",
        "set_tracking_uri",
    }
)
#: The rule: every other public function (in ``__all__``, classes aside) records tracking
#: data and is wrapped with :func:`carnet.safe_mode.safe`. ``start_run`` falls back to a
#: :class:`~carnet.safe_mode.NullRun`; the rest return None.
SAFE_FLUENT_FUNCTIONS: tuple[str, ...] = tuple(
    name
    for name in __all__
    if name not in STRICT_FUNCTIONS and not isinstance(globals()[name], type)
)
