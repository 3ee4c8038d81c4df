"""Runs copied from another tracker, landed as they were recorded there.

``create_run`` decides a new run's status, times and lifecycle itself and
refuses deleted experiments and deleted parents, as a live run must. A run
copied from another store arrives with all of these already decided, so an
import writes each run in three steps, each one transaction:

1. :meth:`RunImports.begin_run_import` inserts the run RUNNING and active,
   with its name, user, start time, tags and params, in its experiment even
   when that experiment is deleted, and under its parent even when the parent
   is deleted (as they were in the source).
2. Its metric history goes through ``log_batch``, the store's one write
   primitive, which packs a large batch of one key into chunks.
3. :meth:`RunImports.finish_run_import` gives it its final status, end time
   and lifecycle and swaps its tags (an "in progress" marker for a "done"
   one), so a reader sees a run either still being imported or complete.

:meth:`RunImports.runs_with_tags` finds runs by such markers in every
experiment, deleted ones included, so an import can skip what it already
copied and clear what an interrupted import left half-written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from carnet.artifact_location import run_artifact_uri
from carnet.entities import LifecycleStage, RunStatus
from carnet.errors import ExperimentNotFoundError, InvalidValueError, RunNotFoundError
from carnet.store.base import StoreBase
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.sql_helpers import placeholders
from carnet.validation import PARENT_RUN_TAG, RUN_NAME_TAG, numeric_value

#: What a stored run's status can be; CRASHED is derived from the heartbeat, never stored.
STORED_STATUSES = frozenset(s.value for s in RunStatus if s is not RunStatus.CRASHED)
_ENDED = frozenset({RunStatus.FINISHED.value, RunStatus.FAILED.value, RunStatus.KILLED.value})
_STAGES = frozenset({LifecycleStage.ACTIVE, LifecycleStage.DELETED})


class TaggedRun(NamedTuple):
    """One tag of one run, with the run's lifecycle stage."""

    run_id: str
    lifecycle_stage: str
    key: str
    value: str


class RunImports(StoreBase):
    """Writes for runs copied from another store (see the module docstring)."""

    def begin_run_import(
        self,
        experiment_id: str,
        *,
        run_name: str,
        user_id: str,
        start_time: int,
        tags: Mapping[str, str],
        params: Mapping[str, str],
        parent_run_id: str | None = None,
    ) -> str:
        """Insert a RUNNING, active run with its tags and params; return its new run id.

        Tags, params and the name are checked by the caller, as ``Client``
        checks them for ``create_run``. The run-name tag is set from
        ``run_name`` and, with a parent, the parent tag from ``parent_run_id``,
        as ``create_run`` sets them. The experiment and the parent must exist;
        either may be deleted. Everything is written in one transaction.
        """
        self.check_writable()
        pk = self._experiment_pk(experiment_id)
        run_uuid = uuid.uuid4().hex
        all_tags = {**tags, RUN_NAME_TAG: run_name}
        if parent_run_id is not None:
            all_tags[PARENT_RUN_TAG] = parent_run_id
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql("SELECT artifact_location FROM experiments WHERE experiment_id = ?"),
                (pk,),
            )
            row = cur.fetchone()
            if row is None:
                raise ExperimentNotFoundError(
                    f"no experiment with id {experiment_id!r}; create it before importing into it."
                )
            if parent_run_id is not None:
                cur.execute(self._sql("SELECT 1 FROM runs WHERE run_uuid = ?"), (parent_run_id,))
                if cur.fetchone() is None:
                    raise RunNotFoundError(
                        f"no parent run with id {parent_run_id!r}; import the parent first."
                    )
            run_pk = self._insert_run(
                cur,
                run_uuid=run_uuid,
                experiment_pk=pk,
                run_name=run_name,
                user_id=user_id,
                start_time=start_time,
                artifact_uri=run_artifact_uri(row[0], run_uuid),
                parent_run_id=parent_run_id,
                tags=dict(all_tags),
            )
            if params:
                cur.executemany(
                    self._sql(
                        "INSERT INTO params (run_id, key, value, value_num) VALUES (?, ?, ?, ?)"
                    ),
                    [(run_pk, key, value, numeric_value(value)) for key, value in params.items()],
                )
        return run_uuid

    def finish_run_import(
        self,
        run_id: str,
        *,
        status: str,
        end_time: int | None,
        lifecycle_stage: str,
        tags: Mapping[str, str],
        drop_tags: Sequence[str] = (),
    ) -> None:
        """Give an imported run its final state and swap its marker tags, in one transaction.

        ``status`` is a stored status (not CRASHED), ``lifecycle_stage`` is
        ``active`` or ``deleted``. An ended run (FINISHED, FAILED, KILLED)
        also gets ``end_time`` as its last heartbeat, as ``set_terminated``
        gives it. ``tags`` are set and ``drop_tags`` removed; the run-name and
        parent tags are refused here, since the run's columns mirror them.
        """
        self.check_writable()
        if status not in STORED_STATUSES:
            raise InvalidValueError(
                f"status {status!r} cannot be stored; use one of {sorted(STORED_STATUSES)}."
            )
        if lifecycle_stage not in _STAGES:
            raise InvalidValueError(
                f"lifecycle stage {lifecycle_stage!r} is not one of {sorted(_STAGES)}."
            )
        fixed = {RUN_NAME_TAG, PARENT_RUN_TAG} & {*tags, *drop_tags}
        if fixed:
            raise InvalidValueError(
                f"tag {sorted(fixed)[0]!r} is set when the import begins; "
                "pass it to begin_run_import."
            )
        heartbeat = end_time if status in _ENDED else None
        with write_transaction(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            cur.execute(
                self._sql(
                    "UPDATE runs SET status = ?, end_time = ?, lifecycle_stage = ?, "
                    "heartbeat_time = COALESCE(?, heartbeat_time) WHERE id = ?"
                ),
                (status, end_time, lifecycle_stage, heartbeat, pk),
            )
            if drop_tags:
                cur.executemany(
                    self._sql("DELETE FROM tags WHERE run_id = ? AND key = ?"),
                    [(pk, key) for key in drop_tags],
                )
            if tags:
                cur.executemany(
                    self._sql(
                        "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value"
                    ),
                    [(pk, key, value) for key, value in tags.items()],
                )

    def runs_with_tags(self, keys: Sequence[str]) -> list[TaggedRun]:
        """Every run, in any experiment and any lifecycle stage, carrying one of ``keys``.

        One row per (run, matching tag), so an import sees both its markers.
        """
        if not keys:
            return []
        with read_cursor(self.engine) as cur:
            cur.execute(
                self._sql(
                    "SELECT r.run_uuid, r.lifecycle_stage, t.key, t.value FROM tags t "
                    f"JOIN runs r ON r.id = t.run_id WHERE t.key IN ({placeholders(len(keys))}) "
                    "ORDER BY r.id, t.key"
                ),
                tuple(keys),
            )
            return [TaggedRun(*row) for row in cur.fetchall()]
