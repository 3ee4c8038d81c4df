"""The import: MLflow's experiments and runs mapped into Carnet, safely repeatable.

Experiments are matched by name. Each run gets a new Carnet run id and lands
in three steps (see :mod:`carnet.store.bulk_import`): the run with its name,
user, start time, tags and params, marked ``carnet.importing``; its full
metric history through the store's ``log_batch``, in large batches that are
packed; then, after its artifacts are copied, its status, end time and
lifecycle, with the marker swapped for ``carnet.imported_from`` (the MLflow
run id). A run with that tag is skipped by the next import; a run still
marked as importing was left by an interrupted import, and is deleted and
copied again.

What Carnet cannot hold (a key it refuses, a value too long, a NUL character)
is left out with a warning in the report; the rest of the run is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from carnet.client import Client
from carnet.entities import LifecycleStage, RunStatus
from carnet.errors import ConfigurationError, InvalidInputError, NotFoundError
from carnet.mlflow_import.artifacts import copy_artifacts, is_local
from carnet.mlflow_import.records import MetricPoint, Source, SourceExperiment, SourceRun
from carnet.mlflow_import.sources import open_source
from carnet.store.sql_helpers import now_ms
from carnet.store.sql_store import SqlStore
from carnet.sysinfo import current_user, generate_run_name
from carnet.validation import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    PARENT_RUN_TAG,
    RUN_NAME_TAG,
    param_value_text,
    run_tag,
    validate_key,
    validate_name,
    validate_step,
    validate_timestamp,
)

#: The tag of a completely imported run: its MLflow run id.
IMPORTED_FROM = "carnet.imported_from"
#: The tag of a run being imported: its MLflow run id.
IMPORTING = "carnet.importing"
#: Points written per ``log_batch``: large enough to be packed, small enough to stream.
_METRIC_BATCH = 50_000
#: Steps and timestamps the store holds (64-bit); the checks name anything outside.
_INT64 = range(-(2**63), 2**63)
_ENDED = frozenset({RunStatus.FINISHED.value, RunStatus.FAILED.value, RunStatus.KILLED.value})


@dataclass
class ImportReport:
    """What an import did; ``warnings`` lists everything left out, with the reason."""

    source: str
    experiments_created: int = 0
    runs_imported: int = 0
    runs_skipped: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    artifact_files: int = 0
    runs_retried: int = 0
    warnings: list[str] = field(default_factory=list)

    def format(self) -> str:
        """The report as the CLI prints it: one count a line, then the warnings."""
        lines = [
            f"source:              {self.source}",
            f"experiments created: {self.experiments_created}",
            f"runs imported:       {self.runs_imported}",
            f"runs already there:  {self.runs_skipped}",
            f"metric points:       {self.metric_points}",
            f"params:              {self.params}",
            f"tags:                {self.tags}",
            f"artifact files:      {self.artifact_files}",
        ]
        if self.runs_retried:
            lines.append(f"half-imported runs deleted and copied again: {self.runs_retried}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def import_mlflow(
    source: str | Path,
    *,
    tracking_uri: str | None = None,
    artifacts_dir: str | Path | None = None,
    experiment_names: Sequence[str] | None = None,
    on_run: Callable[[SourceRun], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import an MLflow store into the Carnet store at ``tracking_uri``; safe to repeat.

    ``source`` is MLflow's SQLite file, a database URL MLflow wrote to, or an
    ``mlruns`` folder; ``artifacts_dir`` names where its artifacts are when not
    at the paths it records. ``experiment_names`` limits the import to those
    experiments. ``on_start(n)`` is told how many runs will be looked at,
    ``on_run(run)`` after each one (a progress bar).
    """
    client = Client(tracking_uri)
    store = client.store
    if not isinstance(store, SqlStore):
        raise ConfigurationError(
            f"cannot import into {client.tracking_uri}: an import writes to a SQLite or "
            "PostgreSQL store directly; pass that store's URI (the server's --db)."
        )
    src = open_source(source, artifacts_dir=artifacts_dir)
    try:
        return _Importer(client, store, src, experiment_names).run(on_start, on_run)
    finally:
        src.close()


class _Importer:
    """One import: the target, the source, and what has been mapped so far."""

    def __init__(
        self, client: Client, store: SqlStore, source: Source, names: Sequence[str] | None
    ) -> None:
        self.client = client
        self.store = store
        self.source = source
        self.names = set(names) if names is not None else None
        self.report = ImportReport(source=source.description)
        self.run_map: dict[str, str] = {}  # MLflow run id -> Carnet run id
        self.exp_map: dict[str, str] = {}  # MLflow experiment id -> Carnet experiment id

    def run(
        self,
        on_start: Callable[[int], None] | None,
        on_run: Callable[[SourceRun], None] | None,
    ) -> ImportReport:
        experiments = [
            e for e in self.source.experiments() if self.names is None or e.name in self.names
        ]
        if self.names is not None:
            missing = self.names - {e.name for e in experiments}
            if missing:
                raise NotFoundError(
                    f"no experiment named {', '.join(sorted(map(repr, missing)))} in "
                    f"{self.source.description}."
                )
        self.run_map, leftovers = self._earlier_imports()
        for run_id in leftovers:
            self.store.delete_run(run_id)
        self.report.runs_retried = len(leftovers)
        for exp in experiments:
            self._experiment(exp)
        runs = [r for r in self.source.runs() if r.experiment_id in self.exp_map]
        if on_start is not None:
            on_start(len(runs))
        for run in _parents_first(runs):
            if run.run_id in self.run_map:
                self.report.runs_skipped += 1
            else:
                self._run(run)
            if on_run is not None:
                on_run(run)
        return self.report

    def _earlier_imports(self) -> tuple[dict[str, str], list[str]]:
        """(MLflow id -> Carnet id of runs imported before, active runs left half-imported)."""
        done: dict[str, str] = {}
        started: set[str] = set()
        for tagged in self.store.runs_with_tags([IMPORTED_FROM, IMPORTING]):
            if tagged.key == IMPORTED_FROM:
                done[tagged.value] = tagged.run_id
            elif tagged.lifecycle_stage == LifecycleStage.ACTIVE:
                started.add(tagged.run_id)
        return done, sorted(started - set(done.values()))

    def _experiment(self, exp: SourceExperiment) -> None:
        """Find or create the experiment by name; a new one is deleted if the source's is."""
        target = self.client.get_experiment_by_name(exp.name)
        if target is None:
            experiment_id = self.client.create_experiment(exp.name)
            self.report.experiments_created += 1
            existing_tags: dict[str, str] = {}
        elif target.lifecycle_stage == LifecycleStage.DELETED and exp.lifecycle_stage == "active":
            self.report.warnings.append(
                f"experiment {exp.name!r} is deleted in Carnet; its runs were not "
                "imported (restore it with 'carnet experiments restore' and import again)."
            )
            return
        else:
            experiment_id = target.experiment_id
            existing_tags = dict(target.tags)
        for key, value in exp.tags.items():
            if key not in existing_tags:
                self._try(
                    f"experiment {exp.name!r} tag {key!r}",
                    partial(self.client.set_experiment_tag, experiment_id, key, value),
                )
        if target is None and exp.lifecycle_stage == LifecycleStage.DELETED:
            # Still empty, so deleting it deletes no run; imported runs keep their own stage.
            self.client.delete_experiment(experiment_id)
        self.exp_map[exp.experiment_id] = experiment_id

    def _try(self, what: str, action: Callable[[], object]) -> bool:
        """Run a check or a write; what Carnet refuses becomes a warning, not an error."""
        try:
            action()
        except InvalidInputError as exc:
            self.report.warnings.append(f"{what} left out: {exc}")
            return False
        return True

    def _run(self, run: SourceRun) -> None:
        """Import one run: begin it, copy its history and artifacts, then finish it."""
        label = f"run {run.run_id}"
        tags = dict(run.tags)
        parent = self.run_map.get(tags.get(PARENT_RUN_TAG, ""))
        if parent is not None:
            del tags[PARENT_RUN_TAG]  # set again, to the parent's Carnet id
        name = self._run_name(run, tags.pop(RUN_NAME_TAG, None), label)
        if run.user_id and "mlflow.user" not in tags:
            tags["mlflow.user"] = run.user_id
        good_tags: dict[str, str] = {}
        for key, value in tags.items():
            if len(value) > MAX_TAG_VALUE_LENGTH:
                self.report.warnings.append(f"{label}: tag {key!r} is too long; left out.")
            else:
                self._try(f"{label}: tag {key!r}", partial(_add, good_tags, key, value))
        good_tags[IMPORTING] = run.run_id
        params: dict[str, str] = {}
        for key, value in run.params.items():
            if len(value) > MAX_PARAM_VALUE_LENGTH:
                self.report.warnings.append(
                    f"{label}: param {key!r} is {len(value)} characters, over Carnet's "
                    f"{MAX_PARAM_VALUE_LENGTH}; left out."
                )
            else:
                self._try(f"{label}: param {key!r}", partial(_add_param, params, key, value))
        start = self._time(run.start_time, label, "start time")
        rid = self.store.begin_run_import(
            self.exp_map[run.experiment_id],
            run_name=name,
            user_id=good_tags.get("mlflow.user") or current_user(),
            start_time=now_ms() if start is None else start,
            tags=good_tags,
            params=params,
            parent_run_id=parent,
        )
        self._history(rid, run, label)
        self._artifacts(rid, run, label)
        status = run.status.upper()
        end_time = None
        if status in _ENDED:
            end = self._time(run.end_time, label, "end time")
            end_time = end if end is not None else start if start is not None else now_ms()
        elif status != RunStatus.SCHEDULED.value:
            status = RunStatus.RUNNING.value
        self.store.finish_run_import(
            rid,
            status=status,
            end_time=end_time,
            lifecycle_stage=(
                LifecycleStage.DELETED
                if run.lifecycle_stage == LifecycleStage.DELETED
                else LifecycleStage.ACTIVE
            ),
            tags={IMPORTED_FROM: run.run_id},
            drop_tags=[IMPORTING],
        )
        self.run_map[run.run_id] = rid
        self.report.runs_imported += 1
        self.report.params += len(params)
        self.report.tags += len(good_tags)  # IMPORTING gave way to IMPORTED_FROM

    def _run_name(self, run: SourceRun, tagged: str | None, label: str) -> str:
        """The source's name (cut to Carnet's limit), or a generated one if it has none."""
        name = run.name or tagged
        if name is None:
            return generate_run_name()
        name = name[:MAX_RUN_NAME_LENGTH]
        if self._try(
            f"{label}: run name {name!r}",
            partial(validate_name, name, "run name", MAX_RUN_NAME_LENGTH),
        ):
            return name
        return generate_run_name()

    def _time(self, value: int | None, label: str, what: str) -> int | None:
        """A start or end time the store can hold, or None (with a warning)."""
        if value is None or value in _INT64:
            return value
        self.report.warnings.append(
            f"{label}: {what} {value} is outside the 64-bit range Carnet keeps; left out."
        )
        return None

    def _history(self, rid: str, run: SourceRun, label: str) -> None:
        """Every point of every key Carnet accepts, in large batches."""
        bad_keys: set[str] = set()
        good_keys: set[str] = set()
        dropped: dict[str, tuple[int, str]] = {}  # key -> (points left out, the first reason)
        batch: list[MetricPoint] = []
        for point in self.source.metric_history(run):
            key = point[0]
            if key not in good_keys:
                if key in bad_keys:
                    continue
                if not self._try(f"{label}: metric {key!r}", partial(validate_key, key, "metric")):
                    bad_keys.add(key)
                    continue
                good_keys.add(key)
            if point[2] not in _INT64 or point[3] not in _INT64:
                try:
                    validate_timestamp(key, point[2])
                    validate_step(key, point[3])
                except InvalidInputError as exc:
                    count, reason = dropped.get(key, (0, str(exc)))
                    dropped[key] = (count + 1, reason)
                    continue
            batch.append(point)
            if len(batch) >= _METRIC_BATCH:
                self.store.log_batch(rid, metrics=batch)
                self.report.metric_points += len(batch)
                batch = []
        if batch:
            self.store.log_batch(rid, metrics=batch)
            self.report.metric_points += len(batch)
        self.report.warnings += [
            f"{label}: metric {key!r}: {count} point(s) left out: {reason}"
            for key, (count, reason) in dropped.items()
        ]

    def _artifacts(self, rid: str, run: SourceRun, label: str) -> None:
        """Copy the run's artifact folder, if it is one of the source's own."""
        found = self.source.artifact_folder(run)
        if found.refused is not None:
            self.report.warnings.append(f"{label}: {found.refused}")
        if found.folder is not None:
            copied = copy_artifacts(self.client, rid, found.folder)
            self.report.artifact_files += copied.files
            self.report.warnings += [
                f"{label}: artifact {link!r} is a symbolic link; not copied."
                for link in copied.links
            ]
        elif run.artifact_uri and not is_local(run.artifact_uri):
            self.report.warnings.append(
                f"{label}: artifacts at {run.artifact_uri} are not local files; not copied."
            )


def _add(tags: dict[str, str], key: str, value: str) -> None:
    """Add a run tag if Carnet accepts it (else InvalidInputError)."""
    clean_key, clean_value = run_tag(key, value)
    tags[clean_key] = clean_value


def _add_param(params: dict[str, str], key: str, value: str) -> None:
    """Add a param if Carnet accepts it (else InvalidInputError)."""
    clean_key = validate_key(key, "param")
    params[clean_key] = param_value_text(clean_key, value)


def _parents_first(runs: Iterable[SourceRun]) -> list[SourceRun]:
    """Runs ordered so a parent comes before its children (so the link can be kept)."""
    runs = list(runs)
    by_id = {r.run_id: r for r in runs}

    def depth(run: SourceRun) -> int:
        seen = {run.run_id}
        d = 0
        parent = run.tags.get(PARENT_RUN_TAG)
        while parent in by_id and parent not in seen:
            seen.add(parent)
            d += 1
            parent = by_id[parent].tags.get(PARENT_RUN_TAG)
        return d

    return sorted(runs, key=depth)  # stable: start-time order within a depth
