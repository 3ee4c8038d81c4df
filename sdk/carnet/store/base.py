"""What every part of the SQL store shares: the engine, the paramstyle, run lookups.

The store is split by concern — experiments (experiments.py), reads of runs
(run_reads.py) and writes of runs (run_writes.py) — over this one base;
sql_store.py joins them into ``SqlStore``, the single object callers use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.engine import Engine

from carnet import settings
from carnet.artifact_location import configured_root
from carnet.entities import LifecycleStage, RunStatus
from carnet.errors import (
    ExperimentNotFoundError,
    ReadOnlyError,
    RunNotActiveError,
    RunNotFoundError,
)
from carnet.store.engine import ensure_schema, get_engine, sqlite_path, write_group
from carnet.store.sql_helpers import Cursor, Sql, insert_rows, now_ms, statement_style
from carnet.utils.s3_uri import S3Uri

#: Experiment ids are 32-bit on PostgreSQL; outside this range no experiment can exist.
EXPERIMENT_ID_RANGE = range(-(2**31), 2**31)


class StoreBase:
    """One tracking URI's engine, dialect and the lookups every operation needs."""

    def __init__(self, uri: str, *, read_only: bool = False) -> None:
        self.uri = uri
        self.read_only = read_only
        self.engine: Engine = get_engine(uri, read_only=read_only)
        self.dialect = self.engine.dialect.name
        #: Our own fixed statements, in the DBAPI's placeholder style.
        self._sql: Sql = statement_style(self.dialect)
        path = sqlite_path(uri)
        default_root = (
            path.parent / "carnet-artifacts" if path is not None else Path("carnet-artifacts")
        )
        configured = configured_root()
        self.artifact_root = (
            configured if isinstance(configured, Path) else default_root
        ).resolve()
        #: Where new experiments' locations go: the local root, or an ``s3://`` root.
        self.new_experiments_root: Path | S3Uri = (
            configured if isinstance(configured, S3Uri) else self.artifact_root
        )

    def check_writable(self) -> None:
        """Raise ReadOnlyError on a read-only store, before anything is written."""
        if self.read_only:
            raise ReadOnlyError(
                f"this client opened {self.uri} read-only; open a writable Client to change it."
            )

    def write_group(self) -> AbstractContextManager[None]:
        """Commit every write this thread makes inside the block together (SQLite only).

        The server's single writer uses it for group commit: each write of the
        block (a ``log_batch``...) is a savepoint that fails alone, and the
        ones that succeed share one commit. See :func:`carnet.store.engine.write_group`.
        """
        self.check_writable()
        return write_group(self.engine)

    def reconnect(self) -> None:
        """Drop the engine's pooled connections, then check the store as a fresh open would."""
        self.engine.dispose()
        ensure_schema(self.engine, read_only=self.read_only)

    @staticmethod
    def _experiment_pk(experiment_id: str | int) -> int:
        """The integer key of an experiment id, or ExperimentNotFoundError.

        An id too large for the column names no experiment; it is refused here
        the same way on both backends, before SQLite overflows or PostgreSQL
        rejects the bound value.
        """
        try:
            pk = int(experiment_id)
        except (TypeError, ValueError):
            raise ExperimentNotFoundError(
                f"no experiment with id {experiment_id!r}: experiment ids are numbers as text, "
                "e.g. '1'; look one up with get_experiment_by_name."
            ) from None
        if isinstance(experiment_id, bool) or pk not in EXPERIMENT_ID_RANGE:
            shown = str(experiment_id)
            shown = shown if len(shown) <= 40 else shown[:40] + "..."
            raise ExperimentNotFoundError(
                f"no experiment with id {shown!r}: experiment ids are numbers below 2**31; "
                "list them with search_experiments() or look one up with get_experiment_by_name."
            )
        return pk

    def _run_row(self, cur: Cursor, run_id: str) -> tuple[int, str, str]:
        """(pk, status, lifecycle) of a run, or RunNotFoundError."""
        check_run_id(run_id)
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

    def _active_run_pk(self, cur: Cursor, run_id: str) -> int:
        """The pk of a run that may take data: any run not deleted, finished ones too, as
        on MLflow (code that tags the best run after a sweep relies on it)."""
        pk, _status, stage = self._run_row(cur, run_id)
        if stage == LifecycleStage.DELETED:
            raise RunNotActiveError(
                f"run {run_id} is deleted; restore it with restore_run before logging to it."
            )
        return pk

    def _insert_run(
        self,
        cur: Cursor,
        *,
        run_uuid: str,
        experiment_pk: int,
        run_name: str,
        user_id: str,
        start_time: int,
        artifact_uri: str,
        parent_run_id: str | None,
        tags: dict[str, str],
    ) -> int:
        """Insert a new RUNNING run and its tags inside the caller's transaction; its pk."""
        cur.execute(
            self._sql(
                "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, "
                "start_time, heartbeat_time, lifecycle_stage, artifact_uri, parent_run_uuid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
            ),
            (
                run_uuid,
                experiment_pk,
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
        insert_rows(
            cur,
            self._sql,
            "INSERT INTO tags (run_id, key, value)",
            [(run_pk, key, value) for key, value in tags.items()],
        )
        return run_pk

    def crash_cutoff(self) -> int:
        """The heartbeat time (ms) before which a RUNNING run reads as CRASHED, as of now.

        A read computes it once, reading CARNET_HEARTBEAT_TIMEOUT, and passes it to
        :meth:`status_of` for each of its rows.
        """
        return now_ms() - int(settings.HEARTBEAT_TIMEOUT.get() * 1000)

    def status_of(self, status: str, heartbeat: int | None, start: int, cutoff: int) -> str:
        """The status a reader shows: a RUNNING run with a stale heartbeat is CRASHED."""
        if status == "RUNNING" and (heartbeat or start) < cutoff:
            return RunStatus.CRASHED.value
        return status


def check_run_id(run_id: object) -> None:
    """A run id of another type matches no run (PostgreSQL would refuse to compare it)."""
    if not isinstance(run_id, str):
        raise RunNotFoundError(
            f"no run with id {run_id!r}: run ids are the 32-character hex strings in "
            "run.info.run_id, passed as str."
        )
