"""The SQL store: every read and write Carnet makes, on SQLite or PostgreSQL.

Writes go through :meth:`SqlStore.log_batch` (the one write primitive for run
data) or a handful of small lifecycle statements. Hot paths talk to the DBAPI
cursor with fixed statements and bound parameters: an ORM round trip per
metric point would cost more than the commit itself. Callers (``Client``)
validate keys and values; the store enforces what needs the database: run
state, param immutability and experiment-name uniqueness, each inside the
transaction that writes.
"""

from __future__ import annotations

import base64
import gc
import json
import math
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from carnet.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    MetricSummary,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from carnet.errors import (
    DeletedError,
    ExperimentExistsError,
    ExperimentNotFoundError,
    InvalidInputError,
    ParamOverwriteError,
    ReadOnlyError,
    RunNotActiveError,
    RunNotFoundError,
)
from carnet.store.engine import get_engine, read_cursor, sqlite_path, write_transaction
from carnet.validation import numeric_value

#: A RUNNING run whose heartbeat is older than this reads as CRASHED.
HEARTBEAT_TIMEOUT_S = float(os.environ.get("CARNET_HEARTBEAT_TIMEOUT", "60"))
_CHUNK = 4000
_NAN = float("nan")

MetricPoint = tuple[str, float, int, int]  # key, value, timestamp ms, step


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building 10^5 small tuples would trigger needless cyclic-GC passes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


_SUMMARY_UPSERT = """
INSERT INTO metric_summaries
    (run_id, key, value, is_nan, step, timestamp, min_value, max_value, count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, key) DO UPDATE SET
    value = CASE WHEN {newer} THEN excluded.value ELSE metric_summaries.value END,
    is_nan = CASE WHEN {newer} THEN excluded.is_nan ELSE metric_summaries.is_nan END,
    step = CASE WHEN {newer} THEN excluded.step ELSE metric_summaries.step END,
    timestamp = CASE WHEN {newer} THEN excluded.timestamp ELSE metric_summaries.timestamp END,
    min_value = CASE
        WHEN excluded.min_value IS NULL THEN metric_summaries.min_value
        WHEN metric_summaries.min_value IS NULL
             OR excluded.min_value < metric_summaries.min_value THEN excluded.min_value
        ELSE metric_summaries.min_value END,
    max_value = CASE
        WHEN excluded.max_value IS NULL THEN metric_summaries.max_value
        WHEN metric_summaries.max_value IS NULL
             OR excluded.max_value > metric_summaries.max_value THEN excluded.max_value
        ELSE metric_summaries.max_value END,
    count = metric_summaries.count + excluded.count
""".format(
    newer="(excluded.step > metric_summaries.step OR (excluded.step = metric_summaries.step"
    " AND excluded.timestamp >= metric_summaries.timestamp))"
)

_RUN_COLUMNS = (
    "r.id, r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, "
    "r.end_time, r.heartbeat_time, r.lifecycle_stage, r.artifact_uri"
)


def summarize(points: Iterable[MetricPoint]) -> dict[str, list[Any]]:
    """Fold a batch into one summary row per key: last, min, max, count."""
    out: dict[str, list[Any]] = {}
    for key, value, ts, step in points:
        nan = value != value
        row = out.get(key)
        if row is None:
            out[key] = [value, nan, step, ts, None if nan else value, None if nan else value, 1]
            continue
        if step > row[2] or (step == row[2] and ts >= row[3]):
            row[0], row[1], row[2], row[3] = value, nan, step, ts
        if not nan:
            if row[4] is None or value < row[4]:
                row[4] = value
            if row[5] is None or value > row[5]:
                row[5] = value
        row[6] += 1
    return out


class SqlStore:
    """Reads and writes for one tracking URI (an engine per URI is shared per process)."""

    def __init__(self, uri: str, *, read_only: bool = False) -> None:
        self.uri = uri
        self.read_only = read_only
        self.engine: Engine = get_engine(uri, read_only=read_only)
        self.dialect = self.engine.dialect.name
        self._sqlite = self.dialect == "sqlite"
        self._sql_cache: dict[str, str] = {}
        path = sqlite_path(uri)
        default_root = (
            path.parent / "carnet-artifacts" if path is not None else Path("carnet-artifacts")
        )
        self.artifact_root = (
            Path(os.environ.get("CARNET_ARTIFACT_ROOT", str(default_root))).expanduser().resolve()
        )

    # -- plumbing -------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        """Our own fixed statements, with the DBAPI's placeholder style."""
        if self._sqlite:
            return text
        cached = self._sql_cache.get(text)
        if cached is None:
            cached = self._sql_cache[text] = text.replace("?", "%s")
        return cached

    def _writing(self) -> None:
        if self.read_only:
            raise ReadOnlyError(
                f"this client opened {self.uri} read-only; open a writable Client to change it."
            )

    # -- experiments ----------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        self._writing()
        now = now_ms()
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql("SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?"),
                (name,),
            )
            row = cur.fetchone()
            if row is not None:
                hint = (
                    " (it is deleted: restore it with restore_experiment, or pick another name)"
                    if row[1] == LifecycleStage.DELETED
                    else "; use set_experiment to log into it, or pick another name"
                )
                raise ExperimentExistsError(
                    f"an experiment named {name!r} already exists with id {row[0]}{hint}."
                )
            cur.execute(
                self._sql(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                    "creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
                    "RETURNING experiment_id"
                ),
                (name, artifact_location or "", LifecycleStage.ACTIVE, now, now),
            )
            experiment_id = int(cur.fetchone()[0])
            if not artifact_location:
                location = (self.artifact_root / str(experiment_id)).as_uri()
                cur.execute(
                    self._sql(
                        "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?"
                    ),
                    (location, experiment_id),
                )
            if tags:
                cur.executemany(
                    self._sql(
                        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)"
                    ),
                    [(experiment_id, k, v) for k, v in tags.items()],
                )
        return str(experiment_id)

    @staticmethod
    def _experiment_pk(experiment_id: str | int) -> int:
        try:
            return int(experiment_id)
        except (TypeError, ValueError):
            raise ExperimentNotFoundError(
                f"no experiment with id {experiment_id!r}: experiment ids are numbers as text, "
                "e.g. '1'; look one up with get_experiment_by_name."
            ) from None

    def _experiments_where(self, column: str, values: Sequence[Any]) -> list[Experiment]:
        if not values:
            return []
        found: list[Experiment] = []
        with read_cursor(self.engine) as cur:
            for start in range(0, len(values), _CHUNK):
                chunk = list(values[start : start + _CHUNK])
                marks = _placeholders(len(chunk))
                cur.execute(
                    self._sql(
                        "SELECT experiment_id, name, artifact_location, lifecycle_stage, "
                        f"creation_time, last_update_time FROM experiments WHERE {column} IN "
                        f"({marks})"
                    ),
                    chunk,
                )
                rows = cur.fetchall()
                cur.execute(
                    self._sql(
                        "SELECT experiment_id, key, value FROM experiment_tags "
                        f"WHERE experiment_id IN ({_placeholders(len(rows))})"
                    )
                    if rows
                    else self._sql(
                        "SELECT experiment_id, key, value FROM experiment_tags WHERE 0=1"
                    ),
                    [r[0] for r in rows],
                )
                tags: dict[int, dict[str, str]] = {}
                for eid, key, value in cur.fetchall():
                    tags.setdefault(eid, {})[key] = value
                found.extend(
                    Experiment(
                        experiment_id=str(r[0]),
                        name=r[1],
                        artifact_location=r[2],
                        lifecycle_stage=r[3],
                        tags=tags.get(r[0], {}),
                        creation_time=r[4],
                        last_update_time=r[5],
                    )
                    for r in rows
                )
        return found

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        pk = self._experiment_pk(experiment_id)
        found = self._experiments_where("experiment_id", [pk])
        if not found:
            raise ExperimentNotFoundError(
                f"no experiment with id {experiment_id!r}; list them with search_experiments()."
            )
        return found[0]

    def get_experiments(self, experiment_ids: Sequence[str | int]) -> list[Experiment]:
        pks = [self._experiment_pk(e) for e in experiment_ids]
        by_id = {e.experiment_id: e for e in self._experiments_where("experiment_id", pks)}
        return [by_id[str(pk)] for pk in pks if str(pk) in by_id]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._experiments_where("name", [name])
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
    ) -> list[Experiment]:
        from carnet.query import build_experiment_search

        select = build_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            limit=max_results,
            offset=offset,
        )
        with self.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(select)]
        by_id = {e.experiment_id: e for e in self._experiments_where("experiment_id", ids)}
        return [by_id[str(i)] for i in ids]

    def _set_experiment_field(
        self, experiment_id: str | int, sql: str, params: tuple[Any, ...]
    ) -> None:
        self._writing()
        pk = self._experiment_pk(experiment_id)
        with write_transaction(self.engine) as cur:
            cur.execute(self._sql(sql), (*params, now_ms(), pk))
            if cur.rowcount == 0:
                raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}.")

    def delete_experiment(self, experiment_id: str | int) -> None:
        self._set_experiment_field(
            experiment_id,
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
            "WHERE experiment_id = ?",
            (LifecycleStage.DELETED,),
        )

    def restore_experiment(self, experiment_id: str | int) -> None:
        self._set_experiment_field(
            experiment_id,
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
            "WHERE experiment_id = ?",
            (LifecycleStage.ACTIVE,),
        )

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        other = self.get_experiment_by_name(new_name)
        if other is not None and other.experiment_id != str(experiment_id):
            raise ExperimentExistsError(
                f"cannot rename: an experiment named {new_name!r} already exists "
                f"(id {other.experiment_id}); pick another name."
            )
        self._set_experiment_field(
            experiment_id,
            "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
            (new_name,),
        )

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: str) -> None:
        self._writing()
        pk = self._experiment_pk(experiment_id)
        with write_transaction(self.engine) as cur:
            cur.execute(self._sql("SELECT 1 FROM experiments WHERE experiment_id = ?"), (pk,))
            if cur.fetchone() is None:
                raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}.")
            cur.execute(
                self._sql(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"
                ),
                (pk, key, value),
            )

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
        self._writing()
        pk = self._experiment_pk(experiment_id)
        run_uuid = uuid.uuid4().hex
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    "SELECT artifact_location, lifecycle_stage FROM experiments "
                    "WHERE experiment_id = ?"
                ),
                (pk,),
            )
            row = cur.fetchone()
            if row is None:
                raise ExperimentNotFoundError(
                    f"no experiment with id {experiment_id!r}; create it with "
                    "create_experiment or set_experiment first."
                )
            if row[1] == LifecycleStage.DELETED:
                raise DeletedError(
                    f"experiment {experiment_id} is deleted; restore it with "
                    "restore_experiment or log into another experiment."
                )
            artifact_uri = f"{row[0].rstrip('/')}/{run_uuid}/artifacts"
            cur.execute(
                self._sql(
                    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, "
                    "start_time, heartbeat_time, lifecycle_stage, artifact_uri, parent_run_uuid) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
                ),
                (
                    run_uuid,
                    pk,
                    run_name,
                    user_id,
                    RunStatus.RUNNING.value,
                    start_time,
                    now_ms(),
                    LifecycleStage.ACTIVE,
                    artifact_uri,
                    parent_run_id,
                ),
            )
            run_pk = int(cur.fetchone()[0])
            if tags:
                cur.executemany(
                    self._sql("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)"),
                    [(run_pk, k, v) for k, v in dict(tags).items()],
                )
        info = RunInfo(
            run_id=run_uuid,
            experiment_id=str(pk),
            run_name=run_name,
            user_id=user_id,
            status=RunStatus.RUNNING.value,
            start_time=start_time,
            end_time=None,
            artifact_uri=artifact_uri,
            lifecycle_stage=LifecycleStage.ACTIVE,
        )
        return Run(info=info, data=RunData(tags=dict(tags)))

    def _run_row(self, cur: Any, run_id: str) -> tuple[int, str, str]:
        """(pk, status, lifecycle) of a run, or RunNotFoundError."""
        _check_run_id(run_id)
        cur.execute(
            self._sql("SELECT id, status, lifecycle_stage FROM runs WHERE run_uuid = ?"), (run_id,)
        )
        row = cur.fetchone()
        if row is None:
            raise RunNotFoundError(
                f"no run with id {run_id!r}; run ids are the 32-character hex strings in "
                "run.info.run_id."
            )
        return int(row[0]), row[1], row[2]

    def _active_run_pk(self, cur: Any, run_id: str) -> int:
        pk, status, stage = self._run_row(cur, run_id)
        if stage == LifecycleStage.DELETED:
            raise RunNotActiveError(
                f"run {run_id} is deleted; restore it with restore_run before logging to it."
            )
        if status not in ("RUNNING", "SCHEDULED"):
            raise RunNotActiveError(
                f"run {run_id} is {status} and takes no more data; start a new run, or "
                "log inside the run's `with start_run():` block."
            )
        return pk

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """The one write primitive: all of it commits, or none of it does."""
        self._writing()
        sql = self._sql
        with write_transaction(self.engine) as cur:
            pk = self._active_run_pk(cur, run_id)
            if params:
                self._insert_params(cur, pk, run_id, params)
            if tags:
                cur.executemany(
                    sql(
                        "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
                    ),
                    [(pk, k, v) for k, v in tags],
                )
            if metrics:
                self._insert_metrics(cur, pk, metrics)

    def _insert_params(
        self, cur: Any, pk: int, run_id: str, params: Sequence[tuple[str, str]]
    ) -> None:
        wanted: dict[str, str] = {}
        for key, value in params:
            if wanted.get(key, value) != value:
                raise ParamOverwriteError(
                    f"param {key!r} appears twice in one call with different values "
                    f"({wanted[key]!r} and {value!r}); log it once."
                )
            wanted[key] = value
        cur.execute(self._sql("SELECT key, value FROM params WHERE run_id = ?"), (pk,))
        existing = dict(cur.fetchall())
        new = []
        for key, value in wanted.items():
            old = existing.get(key)
            if old is None:
                new.append((pk, key, value, numeric_value(value)))
            elif old != value:
                raise ParamOverwriteError(
                    f"param {key!r} of run {run_id} is already {old!r} and cannot change to "
                    f"{value!r}: params are immutable. Log the new value under another key, "
                    "or start a new run."
                )
        if new:
            cur.executemany(
                self._sql("INSERT INTO params (run_id, key, value, value_num) VALUES (?, ?, ?, ?)"),
                new,
            )

    def _insert_metrics(self, cur: Any, pk: int, metrics: Sequence[MetricPoint]) -> None:
        rows = [
            (pk, k, s, t, None, True) if v != v else (pk, k, s, t, v, False)
            for k, v, t, s in metrics
        ]
        cur.executemany(
            self._sql(
                "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            rows,
        )
        summary = [
            (pk, key, None if r[1] else r[0], r[1], r[2], r[3], r[4], r[5], r[6])
            for key, r in summarize(metrics).items()
        ]
        cur.executemany(self._sql(_SUMMARY_UPSERT), summary)

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        self._writing()
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            cur.execute(
                self._sql(
                    "UPDATE runs SET status = ?, end_time = ?, heartbeat_time = ? WHERE id = ?"
                ),
                (status, end_time, end_time, pk),
            )

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> None:
        self._writing()
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            if status is not None:
                cur.execute(
                    self._sql("UPDATE runs SET status = ?, end_time = ? WHERE id = ?"),
                    (status, end_time, pk),
                )
            if run_name is not None:
                cur.execute(self._sql("UPDATE runs SET name = ? WHERE id = ?"), (run_name, pk))
                cur.execute(
                    self._sql(
                        "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
                    ),
                    (pk, "mlflow.runName", run_name),
                )

    def _set_lifecycle(self, run_id: str, stage: str) -> None:
        self._writing()
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            cur.execute(self._sql("UPDATE runs SET lifecycle_stage = ? WHERE id = ?"), (stage, pk))

    def delete_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, LifecycleStage.ACTIVE)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._writing()
        with write_transaction(self.engine) as cur:
            pk = self._active_run_pk(cur, run_id)
            cur.execute(self._sql("DELETE FROM tags WHERE run_id = ? AND key = ?"), (pk, key))
            if cur.rowcount == 0:
                raise InvalidInputError(
                    f"run {run_id} has no tag {key!r}; see run.data.tags for the tags it has."
                )

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Mark runs of this process alive; readers derive CRASHED from a stale beat."""
        if not run_ids or self.read_only:
            return
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    f"UPDATE runs SET heartbeat_time = ? WHERE status = 'RUNNING' AND run_uuid IN "
                    f"({_placeholders(len(run_ids))})"
                ),
                (now_ms(), *run_ids),
            )

    # -- reads ----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        _check_run_id(run_id)
        with read_cursor(self.engine) as cur:
            cur.execute(
                self._sql(f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?"), (run_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise RunNotFoundError(
                    f"no run with id {run_id!r}; run ids are the 32-character hex strings in "
                    "run.info.run_id."
                )
            return self._build_runs(cur, [row])[0]

    def get_runs(self, pks: Sequence[int]) -> list[Run]:
        """Runs by internal id, in the order given (what a search returned)."""
        out: dict[int, Run] = {}
        with read_cursor(self.engine) as cur:
            for start in range(0, len(pks), _CHUNK):
                chunk = list(pks[start : start + _CHUNK])
                cur.execute(
                    self._sql(
                        f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.id IN "
                        f"({_placeholders(len(chunk))})"
                    ),
                    chunk,
                )
                rows = cur.fetchall()
                for row, run in zip(rows, self._build_runs(cur, rows), strict=True):
                    out[int(row[0])] = run
        return [out[pk] for pk in pks if pk in out]

    def status_of(self, status: str, heartbeat: int | None, start: int, now: int) -> str:
        if status == "RUNNING" and (heartbeat or start) < now - HEARTBEAT_TIMEOUT_S * 1000:
            return RunStatus.CRASHED.value
        return status

    def _build_runs(self, cur: Any, rows: Sequence[Any]) -> list[Run]:
        if not rows:
            return []
        pks = [int(r[0]) for r in rows]
        marks = _placeholders(len(pks))
        params: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        tags: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        metrics: dict[int, dict[str, float]] = {pk: {} for pk in pks}
        summaries: dict[int, dict[str, MetricSummary]] = {pk: {} for pk in pks}
        cur.execute(
            self._sql(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})"), pks
        )
        for rid, key, value in cur.fetchall():
            params[rid][key] = value
        cur.execute(
            self._sql(f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})"), pks
        )
        for rid, key, value in cur.fetchall():
            tags[rid][key] = value
        cur.execute(
            self._sql(
                "SELECT run_id, key, value, is_nan, step, timestamp, min_value, max_value, count "
                f"FROM metric_summaries WHERE run_id IN ({marks})"
            ),
            pks,
        )
        for rid, key, value, is_nan, step, ts, lo, hi, count in cur.fetchall():
            last = _NAN if is_nan else float(value)
            metrics[rid][key] = last
            summaries[rid][key] = MetricSummary(
                key=key,
                last=last,
                step=int(step),
                timestamp=int(ts),
                min=_NAN if lo is None else float(lo),
                max=_NAN if hi is None else float(hi),
                count=int(count),
            )
        now = now_ms()
        runs = []
        for r in rows:
            pk = int(r[0])
            info = RunInfo(
                run_id=r[1],
                experiment_id=str(r[2]),
                run_name=r[3],
                user_id=r[4],
                status=self.status_of(r[5], r[8], r[6], now),
                start_time=r[6],
                end_time=r[7],
                artifact_uri=r[10],
                lifecycle_stage=r[9],
            )
            data = RunData(metrics=metrics[pk], params=params[pk], tags=tags[pk])
            runs.append(Run(info=info, data=data, summaries=summaries[pk]))
        return runs

    def run_columns(self, pks: Sequence[int], *, summaries: bool = False) -> dict[str, list[Any]]:
        """Runs as columns (MLflow's search_runs layout), without building entities."""
        n = len(pks)
        index = {pk: i for i, pk in enumerate(pks)}
        cols: dict[str, list[Any]] = {
            name: [None] * n
            for name in (
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
        }
        dynamic: dict[str, list[Any]] = {}

        def put(name: str, i: int, value: Any) -> None:
            column = dynamic.get(name)
            if column is None:
                column = dynamic[name] = [None] * n
            column[i] = value

        now = now_ms()
        with read_cursor(self.engine) as cur:
            for start in range(0, n, _CHUNK):
                chunk = list(pks[start : start + _CHUNK])
                marks = _placeholders(len(chunk))
                cur.execute(
                    self._sql(
                        "SELECT id, run_uuid, experiment_id, status, artifact_uri, start_time, "
                        "end_time, name, user_id, lifecycle_stage, parent_run_uuid, "
                        f"heartbeat_time FROM runs WHERE id IN ({marks})"
                    ),
                    chunk,
                )
                for row in cur.fetchall():
                    i = index[row[0]]
                    cols["run_id"][i] = row[1]
                    cols["experiment_id"][i] = str(row[2])
                    cols["status"][i] = self.status_of(row[3], row[11], row[5], now)
                    cols["artifact_uri"][i] = row[4]
                    cols["start_time"][i] = row[5]
                    cols["end_time"][i] = row[6]
                    cols["run_name"][i] = row[7]
                    cols["user_id"][i] = row[8]
                    cols["lifecycle_stage"][i] = row[9]
                    cols["parent_run_id"][i] = row[10]
                cur.execute(
                    self._sql(
                        f"SELECT run_id, key, value, is_nan FROM metric_summaries "
                        f"WHERE run_id IN ({marks})"
                    )
                    if not summaries
                    else self._sql(
                        "SELECT run_id, key, value, is_nan, min_value, max_value, count "
                        f"FROM metric_summaries WHERE run_id IN ({marks})"
                    ),
                    chunk,
                )
                for row in cur.fetchall():
                    i = index[row[0]]
                    put("metrics." + row[1], i, _NAN if row[3] else row[2])
                    if summaries:
                        put(f"metrics.{row[1]}.min", i, _NAN if row[4] is None else row[4])
                        put(f"metrics.{row[1]}.max", i, _NAN if row[5] is None else row[5])
                        put(f"metrics.{row[1]}.count", i, row[6])
                for table, prefix in (("params", "params."), ("tags", "tags.")):
                    cur.execute(
                        self._sql(
                            f"SELECT run_id, key, value FROM {table} WHERE run_id IN ({marks})"
                        ),
                        chunk,
                    )
                    for rid, key, value in cur.fetchall():
                        put(prefix + key, index[rid], value)
        for name in sorted(dynamic):
            cols[name] = dynamic[name]
        return cols

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        with read_cursor(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            with _gc_paused():
                cur.execute(
                    self._sql(
                        "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
                        "ORDER BY step, timestamp, value"
                    ),
                    (pk, key),
                )
                rows = cur.fetchall()
                if not rows:
                    return []
                values, stamps, steps = zip(*rows, strict=True)
                if None in values:
                    values = tuple(_NAN if v is None else v for v in values)
                # tuple.__new__ builds each Metric in C: no Python frame per point.
                points = zip(repeat(key), values, stamps, steps, strict=False)
                return list(map(tuple.__new__, repeat(Metric), points))

    def get_metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Histories of several runs at once, as columns: run_id, key, step, timestamp, value."""
        cols: dict[str, list[Any]] = {
            k: [] for k in ("run_id", "key", "step", "timestamp", "value")
        }
        if not run_ids:
            return cols
        with read_cursor(self.engine) as cur:
            for start in range(0, len(run_ids), _CHUNK):
                chunk = list(run_ids[start : start + _CHUNK])
                where = f"r.run_uuid IN ({_placeholders(len(chunk))})"
                args: list[Any] = list(chunk)
                if keys is not None:
                    if not keys:
                        return cols
                    where += f" AND m.key IN ({_placeholders(len(keys))})"
                    args.extend(keys)
                cur.execute(
                    self._sql(
                        "SELECT r.run_uuid, m.key, m.step, m.timestamp, m.value FROM metrics m "
                        f"JOIN runs r ON r.id = m.run_id WHERE {where} "
                        "ORDER BY m.run_id, m.key, m.step, m.timestamp, m.id"
                    ),
                    args,
                )
                for rid, key, step, ts, value in cur.fetchall():
                    cols["run_id"].append(rid)
                    cols["key"].append(key)
                    cols["step"].append(step)
                    cols["timestamp"].append(ts)
                    cols["value"].append(_NAN if value is None else value)
        return cols

    def search_run_pks(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
    ) -> list[int]:
        from carnet.query import build_run_search

        select = build_run_search(
            experiment_ids=[self._experiment_pk(e) for e in experiment_ids],
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            now_ms=now_ms(),
            crash_timeout_ms=int(HEARTBEAT_TIMEOUT_S * 1000),
            limit=max_results,
            offset=offset,
        )
        with self.engine.connect() as conn:
            return [int(r[0]) for r in conn.execute(select)]

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        from carnet.query import count_runs

        select = count_runs(
            experiment_ids=[self._experiment_pk(e) for e in experiment_ids],
            filter_string=filter_string,
            view_type=view_type,
            now_ms=now_ms(),
            crash_timeout_ms=int(HEARTBEAT_TIMEOUT_S * 1000),
        )
        with self.engine.connect() as conn:
            return int(conn.execute(select).scalar_one())

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Run], str | None]:
        offset = decode_page_token(page_token)
        limit = None if max_results is None else max_results + 1
        pks = self.search_run_pks(experiment_ids, filter_string, view_type, limit, order_by, offset)
        token = None
        if max_results is not None and len(pks) > max_results:
            pks = pks[:max_results]
            token = encode_page_token(offset + max_results)
        return self.get_runs(pks), token

    def data_version(self) -> tuple[Any, ...]:
        """Cheap and changes with every commit: what the dashboard keys its cache on."""
        path = sqlite_path(self.uri)
        if path is not None:
            stats = []
            for p in (path, path.with_name(path.name + "-wal")):
                try:
                    st = p.stat()
                    stats.append((st.st_mtime_ns, st.st_size))
                except FileNotFoundError:
                    stats.append((0, 0))
            return tuple(stats)
        with self.engine.connect() as conn:
            return (str(conn.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar()),)


def _check_run_id(run_id: object) -> None:
    """A run id of another type matches no run (PostgreSQL would refuse to compare it)."""
    if not isinstance(run_id, str):
        raise RunNotFoundError(
            f"no run with id {run_id!r}: run ids are the 32-character hex strings in "
            "run.info.run_id, passed as str."
        )


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError(
            f"invalid page token {token!r}; pass the token a previous search returned."
        ) from None


def is_nan(value: float) -> bool:
    return math.isnan(value)
