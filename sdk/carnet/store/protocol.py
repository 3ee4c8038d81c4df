"""``Store``: the operations ``Client`` needs from a tracking store, as a typed protocol.

``Client``, the fluent functions, the buffered writer, the run-frame builder
and the dashboard talk to a store only through these methods, so a backend is
any object that has them: the SQL store (SQLite, PostgreSQL) today, a store
speaking MLflow's REST API to a Carnet server next. The protocol is only a
type: calls go straight to the backend's methods, with no layer between.

Callers validate keys and values before a store sees them (``Client`` does);
a store enforces what needs its data: run state, param immutability,
experiment-name uniqueness. Every failed call writes nothing. Experiment and
run ids are strings; times are milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from carnet.entities import (
    DatasetInput,
    EnvironmentRecord,
    Experiment,
    FileInfo,
    Metric,
    Run,
    RunInputs,
    ViewType,
)
from carnet.store.logged_model_protocol import LoggedModelStoreProtocol

#: A metric point as the store takes it: key, value, timestamp (ms), step.
MetricPoint = tuple[str, float, int, int]

#: The fixed columns of a runs frame, before the ``metrics.``, ``params.`` and ``tags.`` ones.
RUN_ATTRIBUTE_COLUMNS = (
    "run_id",
    "experiment_id",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
    "run_name",
    "user_id",
    "lifecycle_stage",
    "parent_run_id",
)


@runtime_checkable
class Store(LoggedModelStoreProtocol, Protocol):
    """One tracking store: experiments, runs, their data, reads and searches, and
    logged models (:class:`LoggedModelStoreProtocol`)."""

    #: The normalised tracking URI this store was opened on.
    uri: str
    #: True when every write is refused with ``ReadOnlyError``.
    read_only: bool

    # -- the store itself -----------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``ReadOnlyError`` on a read-only store, before anything is queued or written."""
        ...

    def data_version(self) -> tuple[Any, ...]:
        """A cheap token that changes with every commit: what read caches are keyed on."""
        ...

    def reconnect(self) -> None:
        """Drop pooled connections and check the store as a fresh open would.

        For a reader that must notice the store being replaced under it (a
        SQLite file deleted or rewritten); raises a ``StoreError`` when what is
        there now cannot be opened.
        """
        ...

    # -- experiments ----------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        experiment_id: int | None = None,
    ) -> str:
        """A new experiment's id; ``experiment_id`` only for MLflow's "Default" (id 0).

        Raises ``ExperimentExistsError`` when the name (or id) is taken, and
        ``ArtifactLocationError`` for a location outside the allowed roots.
        """
        ...

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        """The experiment with this id, deleted or not; ``ExperimentNotFoundError`` otherwise."""
        ...

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this exact name, or None."""
        ...

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        """One page of matching experiments and the token of the next page (None: last page).

        ``max_results=None`` returns every match on one page.
        """
        ...

    def delete_experiment(self, experiment_id: str | int) -> None:
        """Mark an experiment and its runs deleted (restorable until purged)."""
        ...

    def restore_experiment(self, experiment_id: str | int) -> None:
        """Make a deleted experiment and its runs active again."""
        ...

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        """Rename an experiment; ``ExperimentExistsError`` when another one has the name."""
        ...

    def set_experiment_tags(self, experiment_id: str | int, tags: dict[str, str]) -> None:
        """Set (or overwrite) checked experiment tags: all of them are written, or none."""
        ...

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        """Remove one experiment tag; ``InvalidInputError`` when the experiment lacks it."""
        ...

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str,
        user_id: str,
        start_time: int,
        tags: Sequence[tuple[str, str]] = (),
        parent_run_id: str | None = None,
    ) -> Run:
        """A new RUNNING run with checked tags; the parent, if any, must exist and be active."""
        ...

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags, last metrics and metric summaries."""
        ...

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> None:
        """Change a run's status (with its end time) and/or its name."""
        ...

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        """End a run with a terminal status at ``end_time``."""
        ...

    def resume_run(self, run_id: str, tags: Sequence[tuple[str, str]] = ()) -> None:
        """Make a run RUNNING again (no end time) and add checked tags, in one transaction.

        A deleted run is refused with ``DeletedError`` before anything changes.
        """
        ...

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (restorable until purged)."""
        ...

    def restore_run(self, run_id: str) -> None:
        """Make a deleted run active again."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one tag of an active run; ``InvalidInputError`` when the run lacks it."""
        ...

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Mark these RUNNING runs alive; readers show a run with a stale beat as CRASHED.

        Quietly does nothing on a read-only store.
        """
        ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """The one write primitive for run data: all of it commits, or none of it does.

        The run must be RUNNING (or SCHEDULED) and not deleted; a param logged
        again with another value raises ``ParamOverwriteError``.
        """
        ...

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        """Record datasets as inputs of a RUNNING run (MLflow's ``log_inputs``), all or none.

        A dataset is kept once per experiment, name and digest; logging a dataset
        the run already has as an input changes nothing. ``get_run`` returns the
        inputs in ``run.inputs.dataset_inputs``.
        """
        ...

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, RunInputs]:
        """The dataset inputs of each of ``run_ids`` that has some (unknown runs are left out)."""
        ...

    def put_environment_record(self, record: EnvironmentRecord) -> None:
        """Keep what runs need to be run again under its digest (checked against the
        content); the same record put again writes nothing."""
        ...

    def get_environment_record(self, digest: str) -> EnvironmentRecord:
        """The environment record kept under ``digest``; NotFoundError when there is none."""
        ...

    # -- reads ----------------------------------------------------------------------------

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """One page of matching runs and the token of the next page (None: last page)."""
        ...

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs match, without reading them."""
        ...

    def search_run_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        *,
        summaries: bool = False,
    ) -> dict[str, list[Any]]:
        """Matching runs as columns, in search order, without building ``Run`` objects.

        The columns are :data:`RUN_ATTRIBUTE_COLUMNS` and then ``metrics.<k>``,
        ``params.<k>`` and ``tags.<k>`` (sorted), one value a run, None where a
        run lacks the key; a NaN metric is NaN. With ``summaries`` each metric
        also gets ``.min``, ``.max`` and ``.count`` columns. What a search
        into a DataFrame is built from.
        """
        ...

    def list_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """Sorted metric, param and tag keys (``"metrics"``, ``"params"``, ``"tags"``)
        of the active runs of these experiments."""
        ...

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, by step, then timestamp, NaN before numbers."""
        ...

    def get_metric_history_page(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[int], list[int], list[float], int]:
        """Points ``offset`` to ``offset + limit`` of a history, in the order of
        :meth:`get_metric_history`, as steps, timestamps and values, and the history's size
        (what a server answering a page at a time reads, without a Metric a point)."""
        ...

    def get_metric_history_sampled(self, run_id: str, key: str, max_points: int) -> list[Metric]:
        """About ``max_points`` points of a history that keep its envelope (for charts).

        Steps are cut into ``max_points // 2`` equal buckets, each giving its
        lowest and its highest value; ``max_points`` below 2 is refused.
        """
        ...

    def get_metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, list[Any]]:
        """Histories of several runs (of these keys, or all) as columns:
        ``run_id``, ``key``, ``step``, ``timestamp``, ``value``."""
        ...

    # -- artifacts ------------------------------------------------------------------------

    def run_artifact_root(self, run_id: str) -> Path:
        """The local folder of a run's artifacts, refused with ``ArtifactLocationError``
        unless it lies inside an allowed artifact root."""
        ...


@runtime_checkable
class RemoteArtifactStore(Protocol):
    """A store whose runs keep their artifacts behind its own API instead of in a local
    folder (the REST store: a tracking server holds them).

    ``Client`` sends a run's artifact calls here when its store has these
    methods, and to the folder of :meth:`Store.run_artifact_root` otherwise.
    Paths are relative to the run's artifact root, with ``/`` between names.
    """

    def upload_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None
    ) -> None:
        """Copy one local file into the run's artifacts (under ``artifact_path``)."""
        ...

    def upload_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None
    ) -> None:
        """Copy a local folder's tree into the run's artifacts (under ``artifact_path``)."""
        ...

    def write_artifact(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Store ``data`` as the artifact file ``artifact_file``."""
        ...

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path`` (paths relative to the run's root)."""
        ...

    def download_artifacts(self, run_id: str, path: str, dst_path: str | Path | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)
        and return the local path of the copy."""
        ...

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The content of one artifact file."""
        ...
