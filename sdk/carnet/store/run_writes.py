"""Writes of runs: creation, the one write primitive ``log_batch``, lifecycle changes.

Run data goes through :meth:`RunWrites.log_batch` (the one write primitive)
or a handful of small lifecycle statements. Hot paths talk to the DBAPI
cursor with fixed statements and bound parameters: an ORM round trip per
metric point would cost more than the commit itself. Callers (``Client``)
validate keys and values; the store enforces what needs the database: run
state and param immutability, each inside the transaction that writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from carnet.artifact_location import run_artifact_uri
from carnet.entities import LifecycleStage, Run, RunData, RunInfo, RunStatus
from carnet.errors import (
    DeletedError,
    ExperimentNotFoundError,
    InvalidInputError,
    ParamOverwriteError,
    RunNotFoundError,
)
from carnet.store import history
from carnet.store.base import StoreBase, check_run_id
from carnet.store.engine import write_transaction
from carnet.store.protocol import MetricPoint
from carnet.store.sql_helpers import (
    CHUNK,
    MULTI_ROW_MAX,
    Cursor,
    insert_rows,
    now_ms,
    placeholders,
    row_placeholders,
)
from carnet.validation import RUN_NAME_TAG, numeric_value

_SUMMARY_INSERT = """
INSERT INTO metric_summaries
    (run_id, key, value, is_nan, step, timestamp, min_value, max_value, count)"""
_SUMMARY_CONFLICT = """
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
    " AND (excluded.timestamp > metric_summaries.timestamp"
    " OR (excluded.timestamp = metric_summaries.timestamp"
    " AND (metric_summaries.value IS NULL OR excluded.value >= metric_summaries.value)))))"
)


def summarize(points: Iterable[MetricPoint]) -> dict[str, list[Any]]:
    """Fold a batch into one summary row per key: last, min, max, count.

    "Last" is the greatest (step, timestamp, value), MLflow's latest-metric
    rule, with NaN ranked below every number (-inf included): at the same step
    and timestamp a number beats a NaN, whichever came first. It is thus the
    last point of ``get_metric_history``, which orders NaN first. (MLflow
    stores a NaN as 0 with an ``is_nan`` flag, so there a NaN ranks as 0 and
    beats a negative value logged at the same instant.) ``count`` counts NaN
    points; ``min`` and ``max`` skip them and stay None when every point is
    NaN. In the table a NaN last value is NULL with ``is_nan`` set, so no
    comparison (``metrics.k > 0``) matches it; on PostgreSQL a stored NaN
    would compare greater than every number. ``_SUMMARY_CONFLICT`` applies the
    same rules in SQL.
    """
    out: dict[str, list[Any]] = {}
    for key, value, ts, step in points:
        nan = value != value
        row = out.get(key)
        if row is None:
            out[key] = [value, nan, step, ts, None if nan else value, None if nan else value, 1]
            continue
        if (
            step > row[2]
            or (step == row[2] and ts > row[3])
            or (step == row[2] and ts == row[3] and (row[1] or (not nan and value >= row[0])))
        ):
            row[0], row[1], row[2], row[3] = value, nan, step, ts
        if not nan:
            if row[4] is None or value < row[4]:
                row[4] = value
            if row[5] is None or value > row[5]:
                row[5] = value
        row[6] += 1
    return out


class RunWrites(StoreBase):
    """The writing half of the run store."""

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
        """A new RUNNING run; the parent, if any, must exist and not be deleted."""
        self.check_writable()
        pk = self._experiment_pk(experiment_id)
        run_uuid = uuid.uuid4().hex
        with write_transaction(self.engine) as cur:
            if parent_run_id is not None:
                self._check_parent(cur, parent_run_id)
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
            artifact_uri = run_artifact_uri(row[0], run_uuid)
            self._insert_run(
                cur,
                run_uuid=run_uuid,
                experiment_pk=pk,
                run_name=run_name,
                user_id=user_id,
                start_time=start_time,
                artifact_uri=artifact_uri,
                parent_run_id=parent_run_id,
                tags=dict(tags) if tags else {},
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

    def _check_parent(self, cur: Cursor, parent_run_id: str) -> None:
        cur.execute(
            self._sql("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?"), (parent_run_id,)
        )
        row = cur.fetchone()
        if row is None:
            raise RunNotFoundError(
                f"no parent run with id {parent_run_id!r}; pass the run_id of an existing run "
                "as parent_run_id (or start the child inside the parent's start_run block)."
            )
        if row[0] == LifecycleStage.DELETED:
            raise DeletedError(
                f"parent run {parent_run_id} is deleted; restore it with restore_run, or "
                "start the child under another run."
            )

    def _write_tags(self, cur: Cursor, pk: int, tags: Sequence[tuple[str, str]]) -> None:
        """Upsert checked run tags; the run-name tag also renames the run, as in MLflow."""
        insert_rows(
            cur,
            self._sql,
            "INSERT INTO tags (run_id, key, value)",
            [(pk, k, v) for k, v in dict(tags).items()],  # one row a key: the last value
            " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
        )
        names = [v for k, v in tags if k == RUN_NAME_TAG]
        if names:
            cur.execute(self._sql("UPDATE runs SET name = ? WHERE id = ?"), (names[-1], pk))

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """The one write primitive: all of it commits, or none of it does."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._active_run_pk(cur, run_id)
            if params:
                self._insert_params(cur, pk, run_id, params)
            if tags:
                self._write_tags(cur, pk, tags)
            if metrics:
                self._insert_metrics(cur, pk, metrics)

    def _insert_params(
        self, cur: Cursor, pk: int, run_id: str, params: Sequence[tuple[str, str]]
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
        insert_rows(cur, self._sql, "INSERT INTO params (run_id, key, value, value_num)", new)

    def _insert_metrics(self, cur: Cursor, pk: int, metrics: Sequence[MetricPoint]) -> None:
        """Summaries first (on PostgreSQL that locks each (run, key)), then the history.

        A key is packed into a chunk, with its tail, when this write brings it
        ``history.BATCH_POINTS`` points or more, or takes its count past a
        multiple of ``history.TAIL_POINTS``; the other points become tail rows.
        """
        sql = self._sql
        folded = sorted(summarize(metrics).items())  # one lock order: no deadlocks
        summary = [
            (pk, key, None if r[1] else r[0], r[1], r[2], r[3], r[4], r[5], r[6])
            for key, r in folded
        ]
        few = {key: r[6] for key, r in folded if r[6] < history.BATCH_POINTS}
        if len(summary) <= MULTI_ROW_MAX:  # one statement, returning the counts
            flat = [value for row in summary for value in row]
            cur.execute(
                sql(
                    f"{_SUMMARY_INSERT} VALUES {row_placeholders(9, len(summary))}"
                    f"{_SUMMARY_CONFLICT} RETURNING key, count"
                ),
                flat,
            )
            after = {key: int(n) for key, n in cur.fetchall()}
        else:
            cur.executemany(
                sql(f"{_SUMMARY_INSERT} VALUES {row_placeholders(9, 1)}{_SUMMARY_CONFLICT}"),
                summary,
            )
            after = self._summary_counts(cur, pk, list(few)) if few else {}
        full = history.crossings({key: (after[key] - n, after[key]) for key, n in few.items()})
        full = sorted({*full, *(key for key, _ in folded if key not in few)})
        rows = metrics
        if full:
            batches: dict[str, list[history.Point]] = {key: [] for key in full}
            loose: list[MetricPoint] = []
            for point in metrics:
                batch = batches.get(point[0])
                if batch is None:
                    loose.append(point)
                else:
                    batch.append((point[3], point[2], point[1]))
            for key in full:
                history.pack_key(cur, sql, pk, key, batches[key])
            rows = loose
        if rows:
            insert_rows(
                cur,
                sql,
                "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan)",
                [
                    (pk, k, s, t, None, True) if v != v else (pk, k, s, t, v, False)
                    for k, v, t, s in rows
                ],
            )

    def _summary_counts(self, cur: Cursor, pk: int, keys: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            cur.execute(
                self._sql(
                    "SELECT key, count FROM metric_summaries WHERE run_id = ? "
                    f"AND key IN ({placeholders(len(chunk))})"
                ),
                (pk, *chunk),
            )
            counts.update((key, int(n)) for key, n in cur.fetchall())
        return counts

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        """End a run with a terminal status (checked by the caller) at ``end_time``."""
        self.check_writable()
        check_run_id(run_id)
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    "UPDATE runs SET status = ?, end_time = ?, heartbeat_time = ? "
                    "WHERE run_uuid = ?"
                ),
                (status, end_time, end_time, run_id),
            )
            if cur.rowcount == 0:
                self._run_row(cur, run_id)  # raises RunNotFoundError

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> None:
        """Change a run's status (with its end time) and/or its name."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            if status is not None:
                cur.execute(
                    self._sql("UPDATE runs SET status = ?, end_time = ? WHERE id = ?"),
                    (status, end_time, pk),
                )
            if run_name is not None:
                self._write_tags(cur, pk, [(RUN_NAME_TAG, run_name)])

    def resume_run(self, run_id: str, tags: Sequence[tuple[str, str]] = ()) -> None:
        """Make a run RUNNING again (no end time) and add checked tags, in one transaction.

        A deleted run is refused before anything changes.
        """
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk, _, stage = self._run_row(cur, run_id)
            if stage == LifecycleStage.DELETED:
                raise DeletedError(f"run {run_id} is deleted; restore it with restore_run first.")
            cur.execute(
                self._sql(
                    "UPDATE runs SET status = ?, end_time = NULL, heartbeat_time = ? WHERE id = ?"
                ),
                (RunStatus.RUNNING.value, now_ms(), pk),
            )
            if tags:
                self._write_tags(cur, pk, tags)

    def _set_lifecycle(self, run_id: str, stage: str) -> None:
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            cur.execute(self._sql("UPDATE runs SET lifecycle_stage = ? WHERE id = ?"), (stage, pk))

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (``carnet gc`` purges it for good)."""
        self._set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Make a deleted run active again."""
        self._set_lifecycle(run_id, LifecycleStage.ACTIVE)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one tag of an active run; InvalidInputError when the run lacks it."""
        self.check_writable()
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
                    f"({placeholders(len(run_ids))})"
                ),
                (now_ms(), *run_ids),
            )
