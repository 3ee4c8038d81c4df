"""Logged models (MLflow 3) in the SQL store: create, read, finalise, tag, search, link.

A logged model has its own id (``m-<32 hex>``), belongs to an experiment, may
name the run that produced it (``source_run_id``), and keeps its files in one
folder, ``artifact_location``: by default ``<experiment location>/models/<model_id>/artifacts``
as in MLflow 3 (models written before schema v6 keep their run's folder). The
folder is read and written only inside an allowed artifact root, as a run's is.
A run's ``outputs`` list the models it logged. Callers validate keys and values
(``Client`` does); every failed call writes nothing.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carnet import artifact_location
from carnet.entities import (
    LifecycleStage,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Run,
    RunOutputs,
)
from carnet.errors import (
    DeletedError,
    ExperimentNotFoundError,
    InvalidInputError,
    LoggedModelNotFoundError,
)
from carnet.model_ids import MODEL_ID
from carnet.query import parse_filter, parse_order_by
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.logged_model_protocol import ModelMetricPoint
from carnet.store.page_tokens import decode_page_token, encode_page_token
from carnet.store.run_reads import RunReads
from carnet.store.sql_helpers import Cursor, now_ms, placeholders
from carnet.store.sql_search.logged_model_filter import (
    build_logged_model_search,
    compile_logged_model_filter,
)

_COLUMNS = (
    "id, model_id, experiment_id, name, artifact_location, creation_timestamp, "
    "last_updated_timestamp, status, status_message, source_run_id, model_type"
)


def check_model_id(model_id: object) -> str:
    """A model id of the right shape, or LoggedModelNotFoundError saying what one looks like."""
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        shown = repr(model_id)[:60]
        raise LoggedModelNotFoundError(
            f"no logged model with id {shown}: model ids are 'm-' and 32 hex digits, as in "
            "ModelInfo.model_id or LoggedModel.model_id."
        )
    return model_id


def _status(value: LoggedModelStatus | str) -> str:
    try:
        return LoggedModelStatus(value).value
    except ValueError:
        names = ", ".join(s.value for s in LoggedModelStatus)
        raise InvalidInputError(
            f"unknown logged model status {value!r}; use one of {names}."
        ) from None


class LoggedModelStore(RunReads):
    """The logged-model part of the SQL store, and run outputs in ``get_run``."""

    # -- writes ---------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        *,
        name: str,
        source_run_id: str | None = None,
        tags: Sequence[tuple[str, str]] = (),
        params: Sequence[tuple[str, str]] = (),
        model_type: str | None = None,
        status: LoggedModelStatus | str = LoggedModelStatus.PENDING,
    ) -> LoggedModel:
        """A new model of an active experiment, PENDING unless ``status`` says otherwise."""
        self.check_writable()
        experiment_pk = self._experiment_pk(experiment_id)
        model_id = f"m-{uuid.uuid4().hex}"
        stamp = now_ms()
        with write_transaction(self.engine) as cur:
            location = self._experiment_location(cur, experiment_pk)
            if source_run_id is not None:
                self._run_row(cur, source_run_id)
            cur.execute(
                self._sql(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location,"
                    " creation_timestamp, last_updated_timestamp, status, source_run_id,"
                    " model_type, lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING id"
                ),
                (
                    model_id,
                    experiment_pk,
                    name,
                    f"{location.rstrip('/')}/models/{model_id}/artifacts",
                    stamp,
                    stamp,
                    _status(status),
                    source_run_id,
                    model_type,
                    LifecycleStage.ACTIVE,
                ),
            )
            pk = int(cur.fetchone()[0])
            self._upsert(cur, "logged_model_tags", pk, tags)
            self._upsert(cur, "logged_model_params", pk, params)
        return self.get_logged_model(model_id)

    def _experiment_location(self, cur: Cursor, experiment_pk: int) -> str:
        cur.execute(
            self._sql(
                "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?"
            ),
            (experiment_pk,),
        )
        row = cur.fetchone()
        if row is None:
            raise ExperimentNotFoundError(
                f"no experiment with id '{experiment_pk}'; list them with search_experiments()."
            )
        if row[1] == LifecycleStage.DELETED:
            raise DeletedError(
                f"experiment {experiment_pk} is deleted; restore it or log the model to "
                "another experiment."
            )
        return str(row[0])

    def _upsert(self, cur: Cursor, table: str, pk: int, items: Sequence[tuple[str, str]]) -> None:
        if not items:
            return
        cur.executemany(
            self._sql(
                f'INSERT INTO {table} (model_id, "key", value) VALUES (?, ?, ?) '
                'ON CONFLICT (model_id, "key") DO UPDATE SET value = excluded.value'
            ),
            [(pk, key, value) for key, value in dict(items).items()],
        )

    def _model_pk(self, cur: Cursor, model_id: str, *, allow_deleted: bool = False) -> int:
        check_model_id(model_id)
        cur.execute(
            self._sql("SELECT id, lifecycle_stage FROM logged_models WHERE model_id = ?"),
            (model_id,),
        )
        row = cur.fetchone()
        if row is None or (row[1] == LifecycleStage.DELETED and not allow_deleted):
            raise LoggedModelNotFoundError(
                f"no logged model with id {model_id!r} in this store; check the id "
                "(ModelInfo.model_id) and the tracking URI."
            )
        return int(row[0])

    def _touch(self, cur: Cursor, pk: int, extra: str = "", params: tuple[Any, ...] = ()) -> None:
        cur.execute(
            self._sql(f"UPDATE logged_models SET last_updated_timestamp = ?{extra} WHERE id = ?"),
            (now_ms(), *params, pk),
        )

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a model's status (READY once its files are written, or FAILED)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            self._touch(cur, pk, ", status = ?, status_message = ?",
                        (_status(status), status_message))  # fmt: skip
        return self.get_logged_model(model_id)

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted: searches and ``models:/`` no longer find it; files stay."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            self._touch(cur, pk, ", lifecycle_stage = ?", (LifecycleStage.DELETED,))

    def set_logged_model_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Set (or overwrite) tags of a model, all or none."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            self._upsert(cur, "logged_model_tags", pk, tags)
            self._touch(cur, pk)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove one tag of a model; ``InvalidInputError`` when the model lacks it."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            cur.execute(
                self._sql('DELETE FROM logged_model_tags WHERE model_id = ? AND "key" = ?'),
                (pk, key),
            )
            if cur.rowcount == 0:
                raise InvalidInputError(f"logged model {model_id} has no tag {key!r}.")
            self._touch(cur, pk)

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        """Add params to a model (a key given again takes the new value, as in MLflow)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            self._upsert(cur, "logged_model_params", pk, params)
            self._touch(cur, pk)

    def log_logged_model_metrics(self, model_id: str, points: Sequence[ModelMetricPoint]) -> None:
        """Link metric points to a model (MLflow 3's metrics with a ``model_id``)."""
        self.check_writable()
        if not points:
            return
        with write_transaction(self.engine) as cur:
            pk = self._model_pk(cur, model_id)
            rows = []
            for key, value, timestamp, step, run_id in points:
                nan = math.isnan(value)
                rows.append((pk, key, step, timestamp, None if nan else value, nan, run_id))
            cur.executemany(
                self._sql(
                    'INSERT INTO logged_model_metrics (model_id, "key", step, timestamp, value,'
                    " is_nan, run_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT"
                    ' (model_id, "key", step, timestamp) DO UPDATE SET value = excluded.value,'
                    " is_nan = excluded.is_nan, run_id = excluded.run_id"
                ),
                rows,
            )

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record models as outputs of a run (MLflow 3's ``log_outputs``); a repeat changes
        nothing."""
        self.check_writable()
        if not models:
            return
        with write_transaction(self.engine) as cur:
            run_pk = self._run_row(cur, run_id)[0]
            for output in models:
                model_pk = self._model_pk(cur, output.model_id)
                cur.execute(
                    self._sql(
                        "INSERT INTO run_outputs (run_id, model_id, step) VALUES (?, ?, ?)"
                        " ON CONFLICT (run_id, model_id) DO NOTHING"
                    ),
                    (run_pk, model_pk, int(output.step)),
                )

    # -- reads ----------------------------------------------------------------------------

    def get_logged_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        """One model with its tags, params and linked metrics."""
        with read_cursor(self.engine) as cur:
            pk = self._model_pk(cur, model_id, allow_deleted=allow_deleted)
            return self._models(cur, [pk])[0]

    def _models(self, cur: Cursor, pks: Sequence[int]) -> list[LoggedModel]:
        """The models with these surrogate ids, in the order given."""
        if not pks:
            return []
        marks = placeholders(len(pks))
        cur.execute(self._sql(f"SELECT {_COLUMNS} FROM logged_models WHERE id IN ({marks})"),
                    tuple(pks))  # fmt: skip
        rows = {int(r[0]): r for r in cur.fetchall()}
        children: dict[str, dict[int, dict[str, str]]] = {}
        for table in ("logged_model_tags", "logged_model_params"):
            found: dict[int, dict[str, str]] = {}
            cur.execute(
                self._sql(
                    f'SELECT model_id, "key", value FROM {table} WHERE model_id IN ({marks}) '
                    'ORDER BY "key"'
                ),
                tuple(pks),
            )
            for pk, key, value in cur.fetchall():
                found.setdefault(int(pk), {})[key] = value
            children[table] = found
        metrics: dict[int, list[Metric]] = {}
        cur.execute(
            self._sql(
                'SELECT model_id, "key", value, is_nan, timestamp, step FROM logged_model_metrics'
                f' WHERE model_id IN ({marks}) ORDER BY "key", step, timestamp'
            ),
            tuple(pks),
        )
        for pk, key, value, is_nan, timestamp, step in cur.fetchall():
            number = math.nan if is_nan else float(value)
            metrics.setdefault(int(pk), []).append(Metric(key, number, int(timestamp), int(step)))
        out = []
        for pk in pks:
            r = rows[pk]
            out.append(
                LoggedModel(
                    model_id=r[1],
                    experiment_id=str(r[2]),
                    name=r[3],
                    artifact_location=r[4],
                    creation_timestamp=int(r[5]),
                    last_updated_timestamp=int(r[6]),
                    status=LoggedModelStatus(r[7]),
                    status_message=r[8],
                    source_run_id=r[9],
                    model_type=r[10],
                    tags=children["logged_model_tags"].get(pk, {}),
                    params=children["logged_model_params"].get(pk, {}),
                    metrics=metrics.get(pk, []),
                )
            )
        return out

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        """One page of the active models of these experiments that match, newest first
        unless ``order_by`` says otherwise, and the next page's token (None: the last)."""
        condition = compile_logged_model_filter(parse_filter(filter_string, entity="logged_model"))
        order = parse_order_by(order_by, entity="logged_model")
        pks = [self._experiment_pk(e) for e in experiment_ids]
        offset = decode_page_token(page_token)
        limit = None if max_results is None else max_results + 1
        stmt = build_logged_model_search(pks, condition, order, limit, offset)
        with self.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(stmt)]
        token = None
        if max_results is not None and len(ids) > max_results:
            ids, token = ids[:max_results], encode_page_token(offset + max_results)
        with read_cursor(self.engine) as cur:
            return self._models(cur, ids), token

    def run_outputs(self, run_id: str) -> RunOutputs:
        """The models a run logged, oldest first."""
        with read_cursor(self.engine) as cur:
            cur.execute(
                self._sql(
                    "SELECT m.model_id, o.step FROM run_outputs o"
                    " JOIN logged_models m ON m.id = o.model_id"
                    " JOIN runs r ON r.id = o.run_id WHERE r.run_uuid = ? ORDER BY m.id"
                ),
                (run_id,),
            )
            rows = cur.fetchall()
        return RunOutputs([LoggedModelOutput(r[0], int(r[1])) for r in rows])

    def get_run(self, run_id: str) -> Run:
        """A run with its data, inputs and the models it logged (``run.outputs``)."""
        run = super().get_run(run_id)
        outputs = self.run_outputs(run_id)
        return dataclasses.replace(run, outputs=outputs) if outputs.model_outputs else run

    def logged_model_artifact_root(self, model_id: str) -> Path:
        """The model's folder, refused unless it lies inside an allowed artifact root."""
        model = self.get_logged_model(model_id)
        roots = artifact_location.allowed_roots(self.artifact_root, self.uri)
        return artifact_location.run_folder(model.artifact_location, model_id, roots)
