"""``Client``: the explicit object API over one store, shaped like ``MlflowClient``.

The fluent functions and the dashboard both go through it. It validates every
argument before the store sees it, so a bad call raises a clear
``CarnetError`` and writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carnet import artifacts, media, s3_artifacts, settings
from carnet.artifact_location import ArtifactsInBucket
from carnet.clock import now_ms
from carnet.data.checks import check_dataset_input
from carnet.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Param,
    Run,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from carnet.errors import InvalidValueError
from carnet.logged_model_client import LoggedModelOperations
from carnet.registry_client import RegistryClient
from carnet.store import RemoteArtifactStore, Store, open_store
from carnet.uri import resolve_uri
from carnet.utils.s3_uri import S3Uri
from carnet.validation import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_RUN_NAME_LENGTH,
    PARENT_RUN_TAG,
    RUN_NAME_TAG,
    param_value_text,
    run_tag,
    run_tags,
    tag_value_text,
    validate_key,
    validate_metric_value,
    validate_name,
    validate_run_id,
    validate_step,
    validate_timestamp,
)

if TYPE_CHECKING:
    import pandas as pd

    from carnet.store.writer import BufferedWriter

_TERMINAL = {
    s.value for s in RunStatus if RunStatus.is_terminated(s) and s is not RunStatus.CRASHED
}


def async_default() -> bool:
    """$CARNET_ASYNC_LOGGING, read on every call but parsed only when it changes."""
    return settings.ASYNC_LOGGING.get()


def _view_type(value: ViewType | int | str) -> ViewType:
    if isinstance(value, str):
        try:
            return ViewType[value.upper()]
        except KeyError:
            raise InvalidValueError(
                f"run_view_type {value!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL."
            ) from None
    try:
        return ViewType(value)
    except ValueError:
        raise InvalidValueError(f"run_view_type {value!r} is not 1, 2 or 3.") from None


#: A limit at or above this is no limit: no store holds that many rows, and SQL's
#: LIMIT (a 64-bit integer) could not take it.
_UNLIMITED = 2**62


def _max_results(value: object) -> int | None:
    """A search's row limit; None (or a number beyond any store's size) means no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError(f"max_results must be a non-negative integer, got {value!r}.")
    return None if value >= _UNLIMITED else value


def _order_by(order_by: object) -> list[str] | None:
    if order_by is None:
        return None
    if isinstance(order_by, str):
        return [order_by]
    if not isinstance(order_by, (list, tuple)) or not all(isinstance(o, str) for o in order_by):
        raise InvalidValueError(
            f"order_by must be a list of strings such as ['metrics.MSE ASC'], got {order_by!r}."
        )
    return list(order_by)


class RunOperations:
    """What a buffered log call returns: ``wait()`` returns once the points are on disk."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def wait(self) -> None:
        """Return once every point this client has queued is written to the store."""
        self._client.flush()

    def __repr__(self) -> str:
        return "RunOperations()"


_BATCH_CLASSES = {"metric": "Metric", "param": "Param", "tag": "RunTag"}


def _items(value: Any, kind: str) -> Iterable[Any]:
    """A log_batch argument: None means none (as MLflow); a str or a dict is a mistake."""
    if value is None:
        return ()
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise InvalidValueError(
            f"log_batch {kind}s must be a list of carnet.{_BATCH_CLASSES[kind]} or tuples, "
            f"got {type(value).__name__}."
        )
    return value


def _shaped(item: Any, size: int, kind: str, shape: str) -> Any:
    """A batch item must be a tuple of the right length (a Metric, Param or RunTag is)."""
    if isinstance(item, (str, bytes)) or not isinstance(item, (tuple, list)) or len(item) != size:
        raise InvalidValueError(
            f"each {kind} in log_batch must be a {shape} tuple or a "
            f"carnet.{_BATCH_CLASSES[kind]}, got {item!r}."
        )
    return item


class Client(RegistryClient, LoggedModelOperations):
    """Reads and writes one tracking store: the explicit object API, shaped like ``MlflowClient``.

    Every argument is checked before the store sees it, so a bad call raises a
    ``CarnetError`` that says what to fix and writes nothing. The fluent functions
    and the dashboard both go through a ``Client``.

    Args:
        tracking_uri: the store (a SQLite path, ``sqlite:///...``,
            ``postgresql+psycopg://...`` or a ``carnet server``'s ``http(s)://host:port``);
            default as ``carnet.get_tracking_uri()``.
        registry_uri: MLflow's model registry URI; Carnet's registry lives in the tracking
            store, so only None or the tracking URI itself is accepted.
        read_only: refuse every write (``ReadOnlyError``); the dashboard reads this way.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        self.tracking_uri = resolve_uri(tracking_uri)
        if registry_uri is not None and resolve_uri(registry_uri) != self.tracking_uri:
            raise InvalidValueError(
                "Carnet keeps the model registry in the tracking store; drop registry_uri= "
                f"or pass the tracking URI ({self.tracking_uri!r})."
            )
        self.store: Store = open_store(self.tracking_uri, read_only=read_only)
        #: The store itself when it keeps artifacts behind its API (a tracking server).
        self._remote = self.store if isinstance(self.store, RemoteArtifactStore) else None
        self._writer: BufferedWriter | None = None
        self._writer_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Client({self.tracking_uri!r})"

    # -- experiments ----------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id (as :func:`carnet.create_experiment`).

        ``artifact_location`` must be a local folder inside an allowed artifact root;
        an existing name raises ``ExperimentExistsError``.
        """
        validate_name(name, "experiment name", MAX_EXPERIMENT_NAME_LENGTH)
        clean = {validate_key(k, "tag"): tag_value_text(k, v) for k, v in (tags or {}).items()}
        return self.store.create_experiment(name, artifact_location, clean)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id, deleted or not; a missing one raises
        ``ExperimentNotFoundError``.
        """
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with exactly this name (deleted or not), or None."""
        validate_name(name, "experiment name", MAX_EXPERIMENT_NAME_LENGTH)
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of experiments matching a filter, with ``.token`` for the next page.

        Arguments as :func:`carnet.search_experiments`, plus ``page_token`` (the
        previous page's ``.token``; None on the last page). Differs from MLflow:
        ``max_results`` defaults to None, every match, rather than 1,000.
        """
        limit = _max_results(max_results)
        found, token = self.store.search_experiments(
            _view_type(view_type), limit, filter_string, _order_by(order_by), page_token
        )
        return PagedList(list(found), token)

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted (``restore_experiment`` undoes it;
        ``carnet gc`` purges).
        """
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Make a deleted experiment and its runs active again."""
        self.store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an experiment a new name (at most 500 characters); a name another
        experiment has raises ``ExperimentExistsError``.
        """
        validate_name(new_name, "experiment name", MAX_EXPERIMENT_NAME_LENGTH)
        self.store.rename_experiment(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set one tag on an experiment; the value is stored as text (at most 8,000
        characters).
        """
        validate_key(key, "tag")
        self.store.set_experiment_tags(experiment_id, {key: tag_value_text(key, value)})

    def set_experiment_tags(self, experiment_id: str, tags: dict[str, Any]) -> None:
        """Set several experiment tags at once: every tag is checked first, then all are
        written in one transaction, so a bad tag leaves the experiment as it was."""
        if not isinstance(tags, dict):
            raise InvalidValueError(
                f"tags must be a dict of key -> value, got {type(tags).__name__}; "
                "e.g. {'team': 'vision'}."
            )
        clean = {validate_key(k, "tag"): tag_value_text(k, v) for k, v in tags.items()}
        self.store.set_experiment_tags(experiment_id, clean)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment; a tag it does not have raises."""
        self.store.delete_experiment_tag(experiment_id, validate_key(key, "tag"))

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        *,
        parent_run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run in ``experiment_id`` and return it (MLflow's ``create_run``).

        Args:
            start_time: milliseconds since the epoch; default now.
            tags: run tags; values are stored as text.
            run_name: at most 250 characters; default the ``mlflow.runName`` tag, else
                a generated name.
            parent_run_id: Carnet's addition: make it a child of this run, which must
                exist and not be deleted (recorded as ``mlflow.parentRunId``).

        Unlike :func:`carnet.start_run` it neither makes the run active nor records
        source tags, and no heartbeat is beaten for it: end it with
        ``set_terminated``, or it reads CRASHED once ``$CARNET_HEARTBEAT_TIMEOUT``
        passes.
        """
        from carnet.sysinfo import current_user, generate_run_name

        if tags is not None and not isinstance(tags, dict):
            raise InvalidValueError(
                f"tags must be a dict of key -> value, got {type(tags).__name__}; "
                "e.g. {'team': 'vision'}."
            )
        clean = dict(run_tags(tags))
        if run_name is None:
            run_name = clean.get(RUN_NAME_TAG) or generate_run_name()
        validate_name(run_name, "run_name", MAX_RUN_NAME_LENGTH)
        clean[RUN_NAME_TAG] = run_name
        if parent_run_id is not None:
            clean[PARENT_RUN_TAG] = validate_run_id(parent_run_id, "parent_run_id")
        user = clean.get("mlflow.user") or current_user()
        start = now_ms() if start_time is None else validate_timestamp("start_time", start_time)
        return self.store.create_run(
            str(experiment_id),
            run_name=run_name,
            user_id=user,
            start_time=start,
            tags=list(clean.items()),
            parent_run_id=parent_run_id,
        )

    def get_run(self, run_id: str) -> Run:
        """The run with this id (as :func:`carnet.get_run`); a missing one raises
        ``RunNotFoundError``.
        """
        return self.store.get_run(run_id)

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, RunInputs]:
        """The dataset inputs of many runs at once (for grouping runs by the data they used);
        runs without inputs, or unknown, are left out."""
        return self.store.inputs_of([validate_run_id(r) for r in run_ids])

    def get_parent_run(self, run_id: str) -> Run | None:
        """The run ``run_id`` is nested under, or None for a top-level run."""
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        """End a run with ``status`` (FINISHED, FAILED or KILLED) at ``end_time``
        (milliseconds since the epoch; default now). This client's buffered points are
        written first. CRASHED is not a status a caller sets: readers derive it.
        """
        status = RunStatus.to_string(status) if status in RunStatus.__members__ else status
        if status not in _TERMINAL:
            raise InvalidValueError(
                f"status {status!r} does not end a run; use one of {sorted(_TERMINAL)}."
            )
        self.flush()
        end = now_ms() if end_time is None else validate_timestamp("end_time", end_time)
        self.store.set_terminated(run_id, status, end)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Rename a run (``name``), change its status, or both (MLflow's ``update_run``).

        A terminal status ends the run as ``set_terminated`` does; RUNNING or
        SCHEDULED reopens it (clearing its end time).
        """
        if name is not None:
            validate_name(name, "run name", MAX_RUN_NAME_LENGTH)
            self.store.update_run(run_id, run_name=name)
        if status is not None:
            if status in _TERMINAL:
                self.set_terminated(run_id, status)
            elif status in ("RUNNING", "SCHEDULED"):
                self.store.update_run(run_id, status=status, end_time=None)
            else:
                raise InvalidValueError(f"unknown run status {status!r}.")

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (``restore_run`` undoes it; ``carnet gc`` purges)."""
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Make a deleted run active again."""
        self.store.restore_run(run_id)

    # -- logging --------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric | tuple[str, float, int, int]] = (),
        params: Iterable[Param | tuple[str, Any]] = (),
        tags: Iterable[RunTag | tuple[str, Any]] = (),
        synchronous: bool | None = None,
    ) -> RunOperations | None:
        """Log metrics, params and tags of one run in one transaction (the one write primitive).

        Args:
            metrics: ``Metric`` entities or ``(key, value, timestamp, step)`` tuples
                (a None timestamp means now).
            params: ``Param`` entities or ``(key, value)`` tuples.
            tags: ``RunTag`` entities or ``(key, value)`` tuples.
            synchronous: False (or None with ``$CARNET_ASYNC_LOGGING`` set) queues
                the metrics and returns a ``RunOperations``; params and tags are
                always written before the call returns.

        Everything is checked before anything is written, so one bad item writes
        nothing. None for ``metrics``, ``params`` or ``tags`` means none, as in MLflow.
        """
        points = []
        for m in _items(metrics, "metric"):
            key, value, ts, step = _shaped(m, 4, "metric", "(key, value, timestamp, step)")
            key = validate_key(key, "metric")
            points.append(
                (
                    key,
                    validate_metric_value(key, value),
                    now_ms() if ts is None else validate_timestamp(key, ts),
                    validate_step(key, step),
                )
            )
        clean_params = [
            (validate_key(k, "param"), param_value_text(k, v))
            for k, v in (_shaped(p, 2, "param", "(key, value)") for p in _items(params, "param"))
        ]
        clean_tags = [run_tag(*_shaped(t, 2, "tag", "(key, value)")) for t in _items(tags, "tag")]
        if not isinstance(run_id, str):
            raise InvalidValueError(f"run_id must be a string, got {type(run_id).__name__}.")
        if (synchronous is False or (synchronous is None and async_default())) and points:
            if clean_params or clean_tags:
                self.store.log_batch(run_id, (), clean_params, clean_tags)
            put = self._buffer().put
            for key, value, ts, step in points:
                put(run_id, key, value, ts, step)
            return RunOperations(self)
        self.store.log_batch(run_id, points, clean_params, clean_tags)
        return None

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> RunOperations | None:
        """Log one point to ``run_id`` (as :func:`carnet.log_metric`).

        ``synchronous=False`` queues it and returns a ``RunOperations``; otherwise it is
        committed when the call returns. MLflow 3's ``dataset_name``,
        ``dataset_digest`` and ``model_id`` links are not kept: giving one raises.
        """
        if dataset_name is not None or dataset_digest is not None or model_id is not None:
            raise InvalidValueError(
                "Carnet does not link metrics to models or datasets; drop model_id=, "
                "dataset_name= and dataset_digest=, or record them as tags."
            )
        key = validate_key(key, "metric")
        value = validate_metric_value(key, value)
        ts = now_ms() if timestamp is None else validate_timestamp(key, timestamp)
        st = 0 if step is None else validate_step(key, step)
        if synchronous is False or (synchronous is None and async_default()):
            writer = self._writer or self._buffer()
            writer.put(run_id, key, value, ts, st)
            return RunOperations(self)
        self.store.log_batch(run_id, ((key, value, ts, st),))
        return None

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log one param of ``run_id`` and return ``value`` (as :func:`carnet.log_param`:
        immutable, stored as text with a numeric copy). ``synchronous`` is accepted for
        MLflow's signature; a param is always written before the call returns.
        """
        key = validate_key(key, "param")
        self.store.log_batch(run_id, params=((key, param_value_text(key, value)),))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set one tag of ``run_id`` (as :func:`carnet.set_tag`); ``synchronous`` is
        accepted for MLflow's signature, and the tag is written before the call returns.
        """
        self.store.log_batch(run_id, tags=(run_tag(key, value),))

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from ``run_id``; a tag the run does not have raises."""
        self.store.delete_tag(run_id, validate_key(key, "tag"))

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        """Record the datasets a run used (MLflow's ``log_inputs``), all or none.

        Each item is a ``carnet.entities.DatasetInput`` (a dataset entity, e.g.
        ``carnet.data.from_pandas(df).to_entity()``, and its input tags, such as
        ``mlflow.data.context``). Carnet records no model inputs; passing some raises.
        """
        if models:
            raise InvalidValueError(
                "Carnet records datasets as run inputs, not models; drop models=, and link "
                "a model to its run by logging it in that run."
            )
        items = list(datasets or ())
        for item in items:
            check_dataset_input(item)
        self.store.log_inputs(validate_run_id(run_id), items)

    def _buffer(self) -> BufferedWriter:
        self.store.check_writable()  # a read-only client refuses before anything is queued
        with self._writer_lock:
            if self._writer is None:
                from carnet.store.writer import BufferedWriter

                self._writer = BufferedWriter(self.store)
            return self._writer

    def flush(self) -> None:
        """Write every buffered point of this client now."""
        if self._writer is not None:
            self._writer.flush()

    # -- reads ----------------------------------------------------------------------------

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> list[Metric]:
        """Every point of a metric, in step order; ``max_points`` downsamples in the database
        (keeping each bucket's lowest and highest value) for charts of huge histories."""
        self.flush()
        if max_points is None:
            return self.store.get_metric_history(run_id, key)
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
            raise InvalidValueError(
                f"max_points must be an integer of at least 2, got {max_points!r}."
            )
        return self.store.get_metric_history_sampled(run_id, key, max_points)

    def get_metric_history_page(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[int], list[int], list[float], int]:
        """One page of a history as steps, timestamps and values, and the history's size
        (Carnet's addition: a server serves a long history a page at a time, reading
        only that page's points)."""
        self.flush()
        return self.store.get_metric_history_page(run_id, key, offset, limit)

    def list_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """The metric, param and tag keys used in these experiments (for pickers)."""
        return self.store.list_keys([str(e) for e in experiment_ids])

    def get_metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Histories of several runs as one long DataFrame (run_id, key, step, timestamp, value)."""
        import pandas as pd

        self.flush()
        return pd.DataFrame(self.store.get_metric_histories(run_ids, keys))

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of runs matching a filter, as ``Run`` entities; ``.token`` fetches the next.

        Args:
            experiment_ids: an id or a list of ids.
            filter_string: Carnet's filter language (MLflow's syntax and more; see
                :func:`carnet.search_runs`).
            run_view_type: ``ViewType`` (or 1, 2, 3, or the name).
            max_results: page size, default 1,000 as MLflow; None means no limit.
            order_by: several keys; NaN and missing values sort last.
            page_token: the previous page's ``.token`` (None on the last page).
        """
        ids = [experiment_ids] if isinstance(experiment_ids, (str, int)) else list(experiment_ids)
        runs, token = self.store.search_runs(
            [str(e) for e in ids],
            filter_string or None,
            _view_type(run_view_type),
            _max_results(max_results),
            _order_by(order_by),
            page_token,
        )
        return PagedList(list(runs), token)

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs match a filter, counted in the database (Carnet's addition: the
        dashboard shows the count without loading the runs).
        """
        return self.store.count_runs(
            [str(e) for e in experiment_ids], filter_string or None, _view_type(run_view_type)
        )

    def search_runs_frame(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        summaries: bool = False,
    ) -> pd.DataFrame:
        """Matching runs as a DataFrame (what ``carnet.search_runs`` returns)."""
        from carnet.runs_frame import runs_frame

        columns = self.store.search_run_columns(
            [str(e) for e in experiment_ids],
            filter_string or None,
            _view_type(run_view_type),
            _max_results(max_results),
            _order_by(order_by),
            offset,
            summaries=summaries,
        )
        return runs_frame(columns)

    def data_version(self) -> tuple[Any, ...]:
        """Changes whenever the store does; cheap enough to call on every page render."""
        return self.store.data_version()

    # -- artifacts ------------------------------------------------------------------------

    def _artifact_root(self, run_id: str) -> Path | S3Uri:
        """The run's folder, or its place in the allowed S3 bucket; refused unless it lies
        inside an allowed artifact root."""
        try:
            return self.store.run_artifact_root(run_id)
        except ArtifactsInBucket as in_bucket:
            return in_bucket.location

    def _writable_artifact_root(self, run_id: str) -> Path | S3Uri:
        self.store.check_writable()
        return self._artifact_root(run_id)

    def _write_artifact(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Store ``data`` as one artifact file: on the tracking server, or at the run's root."""
        if self._remote is not None:
            self.store.check_writable()
            self._remote.write_artifact(run_id, artifact_file, data)
        else:
            _write_bytes(self._writable_artifact_root(run_id), artifact_file, data)

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy a local file into ``run_id``'s artifacts, under ``artifact_path``
        (as :func:`carnet.log_artifact`).
        """
        if self._remote is not None:
            self.store.check_writable()
            self._remote.upload_artifact(run_id, local_path, artifact_path)
            return
        root = self._writable_artifact_root(run_id)
        if isinstance(root, S3Uri):
            s3_artifacts.log_file(root, local_path, artifact_path)
        else:
            artifacts.log_file(root, local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's tree into ``run_id``'s artifacts, under ``artifact_path``;
        the tree is checked before anything is written.
        """
        if self._remote is not None:
            self.store.check_writable()
            self._remote.upload_artifacts(run_id, local_dir, artifact_path)
            return
        root = self._writable_artifact_root(run_id)
        if isinstance(root, S3Uri):
            s3_artifacts.log_dir(root, local_dir, artifact_path)
        else:
            artifacts.log_dir(root, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save a string as a UTF-8 artifact file of ``run_id`` (``artifact_file`` is a
        relative path).
        """
        if not isinstance(text, str):
            raise InvalidValueError(f"log_text takes a str, got {type(text).__name__}.")
        self._write_artifact(run_id, artifact_file, text.encode("utf-8"))

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        """Save raw bytes as an artifact file of ``run_id`` (for content that is not
        UTF-8 text, such as a patch of binary files)."""
        self.log_files(run_id, {artifact_file: data})

    def log_files(self, run_id: str, files: Mapping[str, bytes]) -> None:
        """Save several artifact files of ``run_id`` at once (artifact path -> bytes), the
        run's folder looked up once: what a run start records costs one lookup, not one
        per file."""
        for data in files.values():
            if not isinstance(data, bytes):
                raise InvalidValueError(f"artifact files are bytes, got {type(data).__name__}.")
        if self._remote is not None:
            self.store.check_writable()
            for path, data in files.items():
                self._remote.write_artifact(run_id, path, data)
            return
        root = self._writable_artifact_root(run_id)
        for path, data in files.items():
            _write_bytes(root, path, data)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """JSON, or YAML for a .yaml/.yml file, formatted as MLflow writes them."""
        data = media.dict_bytes(dictionary, artifact_file)
        self._write_artifact(run_id, artifact_file, data)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """A numpy array (H×W, H×W×3 or H×W×4; floats in [0, 1] or uint8) or a PIL image.

        With ``key``, the image is step ``step`` of a series, saved as
        ``images/<key>/step_<step>.png``. Images are files, written before this
        returns whatever ``synchronous`` says; ``timestamp`` is accepted for
        MLflow's signature and not recorded.
        """
        path = media.image_file(artifact_file, key, step)
        data = media.png_bytes(image)
        self._write_artifact(run_id, path, data)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """A DataFrame or dict of columns, as JSON in pandas' ``split`` layout (as MLflow)."""
        encoded = media.table_bytes(data, artifact_file)
        self._write_artifact(run_id, artifact_file, encoded)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Save a matplotlib, plotly or Altair figure (by the file's suffix) as an artifact."""
        if self._remote is not None:
            self.store.check_writable()
            data = media.figure_bytes(figure, artifact_file, save_kwargs)
            self._remote.write_artifact(run_id, artifact_file, data)
            return
        root = self._writable_artifact_root(run_id)
        data = media.figure_bytes(figure, artifact_file, save_kwargs)
        _write_bytes(root, artifact_file, data)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path``; links and unfinished files are left out."""
        if self._remote is not None:
            return self._remote.list_artifacts(run_id, path)
        root = self._artifact_root(run_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.list_files(root, path)
        return artifacts.list_files(root, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)."""
        if self._remote is not None:
            return self._remote.download_artifacts(run_id, path, dst_path)
        root = self._artifact_root(run_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.download(root, path, dst_path)
        return artifacts.download(root, path, dst_path)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The content of one artifact file, read without following links (for previews
        and downloads that must not be redirected out of the run's folder)."""
        if self._remote is not None:
            return self._remote.read_artifact(run_id, path)
        root = self._artifact_root(run_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.read_bytes(root, path)
        return artifacts.read_bytes(root, path)

    def get_artifact_path(self, run_id: str, path: str = "") -> Path:
        """The local file behind an artifact (for reading in place, e.g. loading a model);
        on a tracking server or in a bucket, a copy downloaded to a new temporary folder."""
        if self._remote is not None:
            return Path(self._remote.download_artifacts(run_id, path))
        root = self._artifact_root(run_id)
        if isinstance(root, S3Uri):
            return Path(s3_artifacts.download(root, path, None))
        return artifacts.resolve(root, path)


def _write_bytes(root: Path | S3Uri, artifact_file: str, data: bytes) -> None:
    """One artifact file written in a run's folder or under its prefix in a bucket."""
    if isinstance(root, S3Uri):
        s3_artifacts.write_bytes(root, artifact_file, data)
    else:
        artifacts.write_bytes(root, artifact_file, data)


MlflowClient = Client
