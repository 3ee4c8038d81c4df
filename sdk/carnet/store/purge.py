"""Purge deleted runs for good: their rows, then their artifact folders.

``delete_run`` only marks a run deleted (it can be restored); ``collect_garbage``
removes such runs, and every run of a deleted experiment, permanently, and then
the deleted experiments themselves (which frees their names), and deleted
logged models (``delete_logged_model``) with their files, except one a
registered model version was made from (purging it would break the version;
delete the version first). Rows go first,
in short transactions of a few hundred runs, re-checking inside each one that
the runs are still deleted (a concurrent ``restore_run`` wins). Artifact
folders are removed after their rows are gone, and only when the folder is
recognisably the run's own (its path names the run id), so a strange
``artifact_uri`` can never make gc delete something else.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import ClauseElement, ColumnElement, delete, or_, select
from sqlalchemy.sql.compiler import SQLCompiler

from carnet.entities import LifecycleStage
from carnet.errors import InvalidInputError
from carnet.store import schema
from carnet.store.base import EXPERIMENT_ID_RANGE
from carnet.store.engine import get_engine, write_transaction
from carnet.store.sql_helpers import Cursor

BATCH = 500


@dataclass
class GcReport:
    """What ``collect_garbage`` removed (or, with ``dry_run``, would remove)."""

    run_ids: list[str] = field(default_factory=list)
    experiment_ids: list[str] = field(default_factory=list)
    model_ids: list[str] = field(default_factory=list)
    artifact_folders: int = 0
    bytes_freed: int = 0
    #: Artifact folders left in place, with the reason.
    kept: list[str] = field(default_factory=list)
    dry_run: bool = False


def _execute(cur: Cursor, dialect: Any, statement: ClauseElement) -> Cursor:
    """Run a Core statement on a DBAPI cursor of ``write_transaction``, with bound values."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = compiled.params
    if compiled.positional:
        cur.execute(str(compiled), [params[name] for name in compiled.positiontup or ()])
    else:
        cur.execute(str(compiled), params)
    return cur


def _doomed(
    run_ids: Sequence[str] | None, experiment_ids: Sequence[str] | None
) -> ColumnElement[bool]:
    """Runs gc may purge: deleted ones, and all runs of deleted experiments."""
    runs, experiments = schema.runs, schema.experiments
    deleted_experiments = select(experiments.c.experiment_id).where(
        experiments.c.lifecycle_stage == LifecycleStage.DELETED
    )
    condition = or_(
        runs.c.lifecycle_stage == LifecycleStage.DELETED,
        runs.c.experiment_id.in_(deleted_experiments),
    )
    if run_ids is not None:
        condition = condition & runs.c.run_uuid.in_(list(run_ids))
    if experiment_ids is not None:
        condition = condition & runs.c.experiment_id.in_(_experiment_pks(experiment_ids))
    return condition


def _experiment_pks(experiment_ids: Sequence[str]) -> list[int]:
    """Experiment ids as keys; text that names no possible experiment is refused."""
    pks = []
    for ident in experiment_ids:
        try:
            pk: int | None = int(ident)
        except ValueError:
            pk = None
        if pk is None or pk not in EXPERIMENT_ID_RANGE:
            raise InvalidInputError(
                f"experiment ids are numbers below 2**31, got {list(experiment_ids)!r}; see "
                "'carnet experiments list --all'."
            )
        pks.append(pk)
    return pks


def collect_garbage(
    uri: str | None = None,
    *,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    model_ids: Sequence[str] | None = None,
    dry_run: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> GcReport:
    """Permanently remove deleted runs (optionally only ``run_ids`` / in ``experiment_ids``)
    and deleted logged models (only ``model_ids`` when given; none when only ``run_ids``
    are). A named model that is not deleted raises InvalidInputError before anything goes.

    ``on_start(n)`` gets the number of runs to purge, ``on_batch(k)`` the number
    just purged (for a progress bar).
    """
    from carnet.uri import resolve_uri

    engine = get_engine(resolve_uri(uri))
    if model_ids is not None:
        _check_models_deleted(engine, model_ids)
    runs = schema.runs
    condition = _doomed(run_ids, experiment_ids)
    report = GcReport(dry_run=dry_run)
    with engine.connect() as conn:
        candidates = [
            (str(r[0]), str(r[1]))
            for r in conn.execute(select(runs.c.run_uuid, runs.c.artifact_uri).where(condition))
        ]
    if on_start is not None:
        on_start(len(candidates))
    purged: list[tuple[str, str]] = []
    for start in range(0, len(candidates), BATCH):
        chunk = [rid for rid, _ in candidates[start : start + BATCH]]
        if dry_run:
            done = candidates[start : start + BATCH]
        else:
            done = _purge_rows(engine, condition & runs.c.run_uuid.in_(chunk))
        purged.extend(done)
        if on_batch is not None:
            on_batch(len(chunk))
    report.run_ids = [rid for rid, _ in purged]
    for rid, artifact_uri in purged:
        _remove_artifacts(rid, artifact_uri, report)
    if run_ids is None or model_ids is not None:
        _purge_deleted_models(engine, experiment_ids, model_ids, report)
    if run_ids is None:
        report.experiment_ids = _purge_experiments(engine, experiment_ids, dry_run)
    return report


def _check_models_deleted(engine: Any, model_ids: Sequence[str]) -> None:
    models = schema.logged_models
    with engine.connect() as conn:
        query = select(models.c.model_id, models.c.lifecycle_stage)
        found = dict(conn.execute(query.where(models.c.model_id.in_(list(model_ids)))).all())
    for model_id in model_ids:
        if model_id not in found:
            raise InvalidInputError(f"no logged model {model_id!r} to purge.")
        if found[model_id] != LifecycleStage.DELETED:
            raise InvalidInputError(
                f"logged model {model_id} is not deleted: gc purges only deleted models "
                "(delete it with delete_logged_model first)."
            )


def _purge_deleted_models(
    engine: Any,
    experiment_ids: Sequence[str] | None,
    model_ids: Sequence[str] | None,
    report: GcReport,
) -> None:
    """Deleted logged models (of the given experiments, or the given ids): rows, then files.
    A model a registered version was made from is kept, and said so."""
    models, versions, experiments = schema.logged_models, schema.model_versions, schema.experiments
    deleted_experiments = select(experiments.c.experiment_id).where(
        experiments.c.lifecycle_stage == LifecycleStage.DELETED
    )  # their models go with them (_purge_experiments), registered or not
    condition = (
        models.c.lifecycle_stage == LifecycleStage.DELETED
    ) & models.c.experiment_id.not_in(deleted_experiments)
    if experiment_ids is not None:
        condition = condition & models.c.experiment_id.in_(_experiment_pks(experiment_ids))
    if model_ids is not None:
        condition = condition & models.c.model_id.in_(list(model_ids))
    registered = select(versions.c.model_id).where(versions.c.model_id.is_not(None))
    with engine.connect() as conn:
        held = conn.execute(
            select(models.c.model_id).where(condition & models.c.model_id.in_(registered))
        ).all()
    for (model_id,) in held:
        report.kept.append(f"logged model {model_id}: a registered model version uses it; kept")
    condition = condition & models.c.model_id.not_in(registered)
    dialect = engine.dialect
    if report.dry_run:
        with engine.connect() as conn:
            found = conn.execute(select(models.c.model_id).where(condition)).all()
        report.model_ids = [str(r[0]) for r in found]
        return
    with write_transaction(engine) as cur:
        query = select(models.c.id, models.c.model_id, models.c.artifact_location)
        found = _execute(cur, dialect, query.where(condition)).fetchall()
        pks = [int(r[0]) for r in found]
        if pks:
            _delete_model_rows(cur, dialect, pks)
    for _, model_id, location in found:
        _remove_model_folder(str(model_id), str(location))
    report.model_ids = [str(r[1]) for r in found]


def _purge_rows(engine: Any, condition: ColumnElement[bool]) -> list[tuple[str, str]]:
    runs = schema.runs
    dialect = engine.dialect
    with write_transaction(engine) as cur:
        rows = _execute(cur, dialect, select(runs.c.id, runs.c.run_uuid, runs.c.artifact_uri)
                        .where(condition)).fetchall()  # fmt: skip
        if not rows:
            return []
        pks = [int(r[0]) for r in rows]
        history = (schema.metric_chunks, schema.metrics, schema.metric_summaries)
        for table in (*history, schema.params, schema.tags, schema.inputs, schema.run_outputs):
            _execute(cur, dialect, delete(table).where(table.c.run_id.in_(pks)))
        _execute(cur, dialect, delete(runs).where(runs.c.id.in_(pks)))
    return [(str(r[1]), str(r[2])) for r in rows]


def _purge_experiments(
    engine: Any, experiment_ids: Sequence[str] | None, dry_run: bool
) -> list[str]:
    """Deleted experiments with no runs left: their tags, datasets, logged models and rows."""
    experiments, runs, tags = schema.experiments, schema.runs, schema.experiment_tags
    condition = experiments.c.lifecycle_stage == LifecycleStage.DELETED
    if experiment_ids is not None:
        condition = condition & experiments.c.experiment_id.in_(_experiment_pks(experiment_ids))
    if dry_run:  # every run of a deleted experiment would have gone
        with engine.connect() as conn:
            found = conn.execute(select(experiments.c.experiment_id).where(condition))
            return [str(r[0]) for r in found]
    empty = ~select(runs.c.id).where(runs.c.experiment_id == experiments.c.experiment_id).exists()
    condition = condition & empty
    dialect = engine.dialect
    with write_transaction(engine) as cur:
        query = select(experiments.c.experiment_id, experiments.c.artifact_location)
        found = _execute(cur, dialect, query.where(condition)).fetchall()
        ids = [int(r[0]) for r in found]
        if ids:
            _execute(cur, dialect, delete(tags).where(tags.c.experiment_id.in_(ids)))
            datasets = schema.datasets
            _execute(cur, dialect, delete(datasets).where(datasets.c.experiment_id.in_(ids)))
            models = _purge_models(cur, dialect, ids)
            _execute(cur, dialect, delete(experiments).where(experiments.c.experiment_id.in_(ids)))
    for model_id, location in models if ids else []:
        _remove_model_folder(model_id, location)
    for experiment_id, location in found:
        _remove_empty_folder(str(experiment_id), str(location))
    return [str(i) for i in ids]


def _purge_models(cur: Cursor, dialect: Any, experiment_pks: list[int]) -> list[tuple[str, str]]:
    """The logged models of purged experiments, and their tags, params, metrics and run
    links: (model id, artifact location) of each."""
    models = schema.logged_models
    query = select(models.c.id, models.c.model_id, models.c.artifact_location)
    rows = _execute(cur, dialect, query.where(models.c.experiment_id.in_(experiment_pks)))
    found = rows.fetchall()
    pks = [int(r[0]) for r in found]
    if pks:
        _delete_model_rows(cur, dialect, pks)
    return [(str(r[1]), str(r[2])) for r in found]


def _delete_model_rows(cur: Cursor, dialect: Any, pks: list[int]) -> None:
    """Logged models' rows: their tags, params, metrics and run links, then the models."""
    models = schema.logged_models
    children = (schema.logged_model_tags, schema.logged_model_params,
                schema.logged_model_metrics, schema.run_outputs)  # fmt: skip
    for table in children:
        _execute(cur, dialect, delete(table).where(table.c.model_id.in_(pks)))
    _execute(cur, dialect, delete(models).where(models.c.id.in_(pks)))


def _remove_model_folder(model_id: str, location: str) -> None:
    """A purged model's own folder (``.../models/<model_id>/artifacts``), and ``models/``
    once empty; a location that does not name the model is kept."""
    from carnet.artifacts import local_root
    from carnet.errors import ConfigurationError

    try:
        root = local_root(location)
    except ConfigurationError:
        return
    if root.name == "artifacts" and root.parent.name == model_id and root.parent.is_dir():
        shutil.rmtree(root.parent, ignore_errors=True)
        try:
            root.parent.parent.rmdir()  # ``models/``: fails, as meant, while it holds others
        except OSError:
            pass


def _remove_empty_folder(experiment_id: str, location: str) -> None:
    """The experiment's own artifact folder, if gc emptied it (never anything with files)."""
    from carnet.artifacts import local_root
    from carnet.errors import ConfigurationError

    try:
        folder = local_root(location)
    except ConfigurationError:
        return
    if folder.name == experiment_id and folder.is_dir():
        try:
            folder.rmdir()  # fails, and is meant to, when anything is left inside
        except OSError:
            pass


def _run_folder(run_id: str, artifact_uri: str) -> Path | None:
    """The folder that belongs to this run alone, or None when that is not certain."""
    from carnet.artifacts import local_root
    from carnet.errors import ConfigurationError

    try:
        root = local_root(artifact_uri)
    except ConfigurationError:
        return None
    if root.name == run_id:
        return root
    if root.name == "artifacts" and root.parent.name == run_id:
        return root.parent
    if run_id in root.parts:
        return root
    return None


def _remove_artifacts(run_id: str, artifact_uri: str, report: GcReport) -> None:
    folder = _run_folder(run_id, artifact_uri)
    if folder is None:
        report.kept.append(f"{artifact_uri} (run {run_id}): path does not name the run; kept")
        return
    if not folder.exists():
        return
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if not report.dry_run:
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            report.kept.append(f"{folder} (run {run_id}): {exc}")
            return
    report.artifact_folders += 1
    report.bytes_freed += size


__all__ = ["GcReport", "collect_garbage"]
