"""Experiments: create, find, search, rename, delete and restore, with their tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carnet.artifact_location import (
    allowed_roots,
    experiment_location,
    new_experiment_location,
)
from carnet.entities import Experiment, LifecycleStage, ViewType
from carnet.errors import ExperimentExistsError, ExperimentNotFoundError, InvalidInputError
from carnet.store.base import StoreBase
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.page_tokens import decode_page_token, encode_page_token
from carnet.store.sql_helpers import CHUNK, now_ms, placeholders
from carnet.store.sql_search import build_experiment_search

#: MLflow's default experiment, which every MLflow store has from the start.
DEFAULT_EXPERIMENT_NAME = "Default"
DEFAULT_EXPERIMENT_ID = 0


class ExperimentStore(StoreBase):
    """The experiment half of the store."""

    def ensure_default_experiment(self) -> None:
        """Create ``Default`` (id 0) in a store that has no experiment at all, as MLflow does.

        MLflow code expects it (``search_experiments()`` on a fresh store lists it,
        ``experiment_ids=["0"]`` names it). A store with experiments, deleted ones
        included, is left as it is; a process that loses the race to create it
        finds it created.
        """
        with read_cursor(self.engine) as cur:
            cur.execute("SELECT 1 FROM experiments LIMIT 1")
            if cur.fetchone() is not None:
                return
        try:
            self.create_experiment(DEFAULT_EXPERIMENT_NAME, experiment_id=DEFAULT_EXPERIMENT_ID)
        except ExperimentExistsError:
            pass

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        experiment_id: int | None = None,
    ) -> str:
        """A new experiment; ``experiment_id`` is only for MLflow's "Default" (id 0).

        An explicit ``artifact_location`` must be a local folder inside an allowed
        artifact root (see :mod:`carnet.artifact_location`); it is stored normalised.
        """
        self.check_writable()
        if artifact_location:
            roots = allowed_roots(self.artifact_root, self.uri)
            artifact_location = new_experiment_location(artifact_location, roots)
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
            if experiment_id is not None:
                cur.execute(
                    self._sql("SELECT 1 FROM experiments WHERE experiment_id = ?"),
                    (experiment_id,),
                )
                if cur.fetchone() is not None:
                    raise ExperimentExistsError(f"experiment id {experiment_id} is taken.")
                cur.execute(
                    self._sql(
                        "INSERT INTO experiments (experiment_id, name, artifact_location, "
                        "lifecycle_stage, creation_time, last_update_time) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING experiment_id"
                    ),
                    (experiment_id, name, artifact_location or "", LifecycleStage.ACTIVE, now, now),
                )
            else:
                cur.execute(
                    self._sql(
                        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                        "creation_time, last_update_time) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING RETURNING experiment_id"
                    ),
                    (name, artifact_location or "", LifecycleStage.ACTIVE, now, now),
                )
            created = cur.fetchone()
            if created is None:  # on PostgreSQL another writer can commit it after our check
                what = f"named {name!r}"
                if experiment_id is not None:
                    what += f" or with id {experiment_id}"
                raise ExperimentExistsError(
                    f"an experiment {what} was created by another writer just now; "
                    "use set_experiment to log into it, or pick another name."
                )
            experiment_id = int(created[0])
            if not artifact_location:
                location = experiment_location(self.new_experiments_root, str(experiment_id))
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

    def _experiments_where(self, column: str, values: Sequence[Any]) -> list[Experiment]:
        if not values:
            return []
        found: list[Experiment] = []
        with read_cursor(self.engine) as cur:
            for start in range(0, len(values), CHUNK):
                chunk = list(values[start : start + CHUNK])
                marks = placeholders(len(chunk))
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
                        f"WHERE experiment_id IN ({placeholders(len(rows))})"
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
        """The experiment with this id, deleted or not; ExperimentNotFoundError otherwise."""
        pk = self._experiment_pk(experiment_id)
        found = self._experiments_where("experiment_id", [pk])
        if not found:
            raise ExperimentNotFoundError(
                f"no experiment with id {experiment_id!r}; list them with search_experiments()."
            )
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this exact name, or None."""
        found = self._experiments_where("name", [name])
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        """One page of matching experiments and the next page's token (None: the last)."""
        offset = decode_page_token(page_token)
        select = build_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            limit=None if max_results is None else max_results + 1,
            offset=offset,
        )
        with self.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(select)]
        token = None
        if max_results is not None and len(ids) > max_results:
            ids, token = ids[:max_results], encode_page_token(offset + max_results)
        by_id = {e.experiment_id: e for e in self._experiments_where("experiment_id", ids)}
        return [by_id[str(i)] for i in ids], token

    def _set_experiment_field(
        self, experiment_id: str | int, sql: str, params: tuple[Any, ...], runs_stage: str = ""
    ) -> None:
        self.check_writable()
        pk = self._experiment_pk(experiment_id)
        with write_transaction(self.engine) as cur:
            cur.execute(self._sql(sql), (*params, now_ms(), pk))
            if cur.rowcount == 0:
                raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}.")
            if runs_stage:  # as MLflow: an experiment's runs are deleted and restored with it
                cur.execute(
                    self._sql("UPDATE runs SET lifecycle_stage = ? WHERE experiment_id = ?"),
                    (runs_stage, pk),
                )

    def delete_experiment(self, experiment_id: str | int) -> None:
        """Mark an experiment and its runs deleted."""
        self._set_experiment_field(
            experiment_id,
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
            "WHERE experiment_id = ?",
            (LifecycleStage.DELETED,),
            runs_stage=LifecycleStage.DELETED,
        )

    def restore_experiment(self, experiment_id: str | int) -> None:
        """Make a deleted experiment and its runs active again."""
        self._set_experiment_field(
            experiment_id,
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
            "WHERE experiment_id = ?",
            (LifecycleStage.ACTIVE,),
            runs_stage=LifecycleStage.ACTIVE,
        )

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        """Remove one experiment tag; InvalidInputError when the experiment lacks it."""
        self.check_writable()
        pk = self._experiment_pk(experiment_id)
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?"),
                (pk, key),
            )
            if cur.rowcount == 0:
                raise InvalidInputError(
                    f"experiment {experiment_id} has no tag {key!r}; see experiment.tags."
                )

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        """Rename an experiment; ExperimentExistsError when another one has the name."""
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

    def set_experiment_tags(self, experiment_id: str | int, tags: dict[str, str]) -> None:
        """Set checked tags in one transaction: all of them are written, or none."""
        self.check_writable()
        pk = self._experiment_pk(experiment_id)
        with write_transaction(self.engine) as cur:
            cur.execute(self._sql("SELECT 1 FROM experiments WHERE experiment_id = ?"), (pk,))
            if cur.fetchone() is None:
                raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r}.")
            if tags:
                cur.executemany(
                    self._sql(
                        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value"
                    ),
                    [(pk, key, value) for key, value in tags.items()],
                )
