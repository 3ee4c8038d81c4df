"""The store's tables, as SQLModel classes (``...Table``) and the Core tables they declare.

Runs get an integer surrogate key so the big tables (metric history, the
per-run summary, params and tags) stay narrow and their indexes small; the
public 32-hex ``run_uuid`` lives only on ``runs``. NaN cannot be stored in a
SQLite REAL (it becomes NULL), so metric values carry an ``is_nan`` flag and a
NULL value, the same way on PostgreSQL. A metric's history is mostly packed
chunks (``metric_chunks``) with a short tail of rows (``metrics``): see history.py.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    literal,
)
from sqlmodel import Field, SQLModel

#: Bumped with every schema change; each bump ships a migration in migrations.py.
SCHEMA_VERSION = 9

_BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class SchemaVersionTable(SQLModel, table=True):
    """One row per schema version the store was migrated to, and when."""

    __tablename__ = "carnet_schema"
    version: int = Field(primary_key=True)
    migrated_at: int = Field(sa_type=BigInteger)


class ExperimentTable(SQLModel, table=True):
    """Experiments: name, artifact location, lifecycle stage and times."""

    __tablename__ = "experiments"
    experiment_id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=Text, unique=True)
    artifact_location: str = Field(sa_type=Text)
    lifecycle_stage: str = Field(default="active", sa_type=Text)
    creation_time: int = Field(sa_type=BigInteger)
    last_update_time: int = Field(sa_type=BigInteger)


class ExperimentTagTable(SQLModel, table=True):
    """Experiment tags, one row per experiment and key."""

    __tablename__ = "experiment_tags"
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id"), primary_key=True)
    )
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class RunTable(SQLModel, table=True):
    """Runs, keyed by an integer surrogate (``id``) that the big tables reference;
    ``run_uuid`` is the public run id. ``heartbeat_time`` is what CRASHED is read from.
    """

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_start", "experiment_id", "start_time"),
        Index("ix_runs_parent", "parent_run_uuid"),
        Index("ix_runs_experiment_status", "experiment_id", "lifecycle_stage", "status"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    run_uuid: str = Field(sa_type=Text, unique=True)
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id"), nullable=False)
    )
    name: str = Field(sa_type=Text)
    user_id: str = Field(default="", sa_type=Text)
    status: str = Field(sa_type=Text)
    start_time: int = Field(sa_type=BigInteger)
    end_time: int | None = Field(default=None, sa_type=BigInteger)
    heartbeat_time: int | None = Field(default=None, sa_type=BigInteger)
    lifecycle_stage: str = Field(default="active", sa_type=Text)
    artifact_uri: str = Field(sa_type=Text)
    parent_run_uuid: str | None = Field(default=None, sa_type=Text)


def _run_fk() -> Column[int]:
    return Column(_BigIntId, ForeignKey("runs.id"), primary_key=True)


class ParamTable(SQLModel, table=True):
    """Params, one row per run and key: the text and, for a number, its numeric value."""

    __tablename__ = "params"
    __table_args__ = (
        Index("ix_params_key_num", "key", "value_num"),
        Index("ix_params_key_value", "key", "value"),
    )
    run_id: int = Field(sa_column=_run_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)
    #: The value as a number when the text is one, so params compare numerically.
    value_num: float | None = Field(default=None, sa_type=Float)


class TagTable(SQLModel, table=True):
    """Run tags; read by run (the primary key). No (key, value) index since v3: no
    query used it, and a run's ~15 tags would write ~15 of its pages at every run start."""

    __tablename__ = "tags"
    run_id: int = Field(sa_column=_run_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class MetricTable(SQLModel, table=True):
    """One point of a metric's history; read by (run, key) in step order."""

    __tablename__ = "metrics"
    # Covering: a history read is one contiguous index range with no table lookups
    # (about twice as fast as (run_id, key, step) alone, which it replaced in v2).
    __table_args__ = (Index("ix_metrics_history", "run_id", "key", "step", "timestamp", "value"),)
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    run_id: int = Field(sa_column=Column(_BigIntId, ForeignKey("runs.id"), nullable=False))
    key: str = Field(sa_type=Text)
    step: int = Field(sa_type=BigInteger)
    timestamp: int = Field(sa_type=BigInteger)
    value: float | None = Field(default=None, sa_type=Float)
    is_nan: bool = Field(default=False)


class MetricChunkTable(SQLModel, table=True):
    """Up to ``history.CHUNK_POINTS`` sorted points of one history, packed."""

    __tablename__ = "metric_chunks"
    run_id: int = Field(sa_column=_run_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    #: Chunks of a (run, key) are numbered 0, 1, ... in the order they were packed.
    seq: int = Field(primary_key=True)
    n: int
    min_step: int = Field(sa_type=BigInteger)
    max_step: int = Field(sa_type=BigInteger)
    #: n steps (int64), n timestamps (int64), n values (float64), little-endian.
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MetricSummaryTable(SQLModel, table=True):
    """Last, min, max and count per run and key: what tables, filters and sorting read."""

    __tablename__ = "metric_summaries"
    __table_args__ = (Index("ix_metric_summaries_key_value", "key", "value"),)
    run_id: int = Field(sa_column=_run_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    #: The last value (greatest step, then timestamp); NULL with is_nan when it is NaN.
    value: float | None = Field(default=None, sa_type=Float)
    is_nan: bool = Field(default=False)
    step: int = Field(sa_type=BigInteger)
    timestamp: int = Field(sa_type=BigInteger)
    #: Min and max ignore NaN; NULL when every point is NaN.
    min_value: float | None = Field(default=None, sa_type=Float)
    max_value: float | None = Field(default=None, sa_type=Float)
    count: int = Field(sa_type=BigInteger)


class DatasetTable(SQLModel, table=True):
    """Datasets logged as run inputs, one row per experiment, name and digest (MLflow's fields)."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint(
            "experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"
        ),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id"), nullable=False)
    )
    name: str = Field(sa_type=Text)
    digest: str = Field(sa_type=Text)
    source_type: str = Field(sa_type=Text)
    source: str = Field(sa_type=Text)
    #: JSON text, as MLflow keeps them; NULL when the dataset has none.
    dataset_schema: str | None = Field(
        default=None, sa_column=Column("schema", Text, nullable=True)
    )
    profile: str | None = Field(default=None, sa_type=Text)


class InputTable(SQLModel, table=True):
    """Which datasets a run used: the context (``mlflow.data.context``) and the input's tags."""

    __tablename__ = "inputs"
    __table_args__ = (Index("ix_inputs_dataset", "dataset_id"),)
    run_id: int = Field(sa_column=_run_fk())
    dataset_id: int = Field(
        sa_column=Column(_BigIntId, ForeignKey("datasets.id"), primary_key=True)
    )
    #: The ``mlflow.data.context`` tag's value (e.g. ``training``), kept apart for filters.
    context: str | None = Field(default=None, sa_type=Text)
    #: Every tag of the input as a JSON object (the context included).
    tags: str = Field(default="{}", sa_type=Text)


class RegisteredModelTable(SQLModel, table=True):
    """Registered models of the model registry, by unique name; versions reference the id,
    so a rename changes one row."""

    __tablename__ = "registered_models"
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    name: str = Field(sa_type=Text, unique=True)
    creation_time: int = Field(sa_type=BigInteger)
    last_updated_time: int = Field(sa_type=BigInteger)
    description: str | None = Field(default=None, sa_type=Text)
    #: The highest version number ever given: a deleted version's number is never reused.
    last_version: int = Field(default=0)


def _registered_model_fk() -> Column[int]:
    return Column(_BigIntId, ForeignKey("registered_models.id"), primary_key=True)


class ModelVersionTable(SQLModel, table=True):
    """Versions of a registered model, numbered 1, 2, ... per model (MLflow's fields)."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("registered_model_id", "version", name="uq_model_versions_model_version"),
        Index("ix_model_versions_run_id", "run_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    registered_model_id: int = Field(
        sa_column=Column(_BigIntId, ForeignKey("registered_models.id"), nullable=False)
    )
    version: int
    creation_time: int = Field(sa_type=BigInteger)
    last_updated_time: int = Field(sa_type=BigInteger)
    description: str | None = Field(default=None, sa_type=Text)
    user_id: str | None = Field(default=None, sa_type=Text)
    source: str = Field(sa_type=Text)
    run_id: str | None = Field(default=None, sa_type=Text)
    run_link: str | None = Field(default=None, sa_type=Text)
    status: str = Field(sa_type=Text)
    status_message: str | None = Field(default=None, sa_type=Text)
    storage_location: str | None = Field(default=None, sa_type=Text)
    #: The logged model's id (``m-<hex>``) when the version was made from one.
    model_id: str | None = Field(default=None, sa_type=Text)


class RegisteredModelTagTable(SQLModel, table=True):
    """Tags of registered models, one row per model and key."""

    __tablename__ = "registered_model_tags"
    registered_model_id: int = Field(sa_column=_registered_model_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class ModelVersionTagTable(SQLModel, table=True):
    """Tags of model versions, one row per version and key."""

    __tablename__ = "model_version_tags"
    model_version_id: int = Field(
        sa_column=Column(_BigIntId, ForeignKey("model_versions.id"), primary_key=True)
    )
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class RegisteredModelAliasTable(SQLModel, table=True):
    """Aliases (``champion``) of a registered model, each naming one of its versions."""

    __tablename__ = "registered_model_aliases"
    registered_model_id: int = Field(sa_column=_registered_model_fk())
    alias: str = Field(sa_type=Text, primary_key=True)
    version: int


class LoggedModelTable(SQLModel, table=True):
    """MLflow 3's logged models: an id (``m-<hex>``), a name, where its files are, its status.

    ``id`` is the surrogate the child tables reference; ``model_id`` the public id.
    ``source_run_id`` is the producing run's public id (no key: a model outlives its run).
    """

    __tablename__ = "logged_models"
    __table_args__ = (
        Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp"),
        Index("ix_logged_models_source_run", "source_run_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(_BigIntId, primary_key=True))
    model_id: str = Field(sa_type=Text, unique=True)
    experiment_id: int = Field(
        sa_column=Column(Integer, ForeignKey("experiments.experiment_id"), nullable=False)
    )
    name: str = Field(sa_type=Text)
    artifact_location: str = Field(sa_type=Text)
    creation_timestamp: int = Field(sa_type=BigInteger)
    last_updated_timestamp: int = Field(sa_type=BigInteger)
    status: str = Field(sa_type=Text)
    status_message: str | None = Field(default=None, sa_type=Text)
    source_run_id: str | None = Field(default=None, sa_type=Text)
    model_type: str | None = Field(default=None, sa_type=Text)
    lifecycle_stage: str = Field(default="active", sa_type=Text)


def _model_fk() -> Column[int]:
    return Column(_BigIntId, ForeignKey("logged_models.id"), primary_key=True)


class LoggedModelTagTable(SQLModel, table=True):
    """Tags of logged models, one row per model and key."""

    __tablename__ = "logged_model_tags"
    model_id: int = Field(sa_column=_model_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class LoggedModelParamTable(SQLModel, table=True):
    """Params of logged models (MLflow 3 copies the source run's params), one row per key."""

    __tablename__ = "logged_model_params"
    model_id: int = Field(sa_column=_model_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    value: str = Field(sa_type=Text)


class LoggedModelMetricTable(SQLModel, table=True):
    """Metric points linked to a logged model (MLflow 3's ``Metric.model_id``)."""

    __tablename__ = "logged_model_metrics"
    model_id: int = Field(sa_column=_model_fk())
    key: str = Field(sa_type=Text, primary_key=True)
    step: int = Field(sa_type=BigInteger, primary_key=True)
    timestamp: int = Field(sa_type=BigInteger, primary_key=True)
    value: float | None = Field(default=None, sa_type=Float)
    is_nan: bool = Field(default=False)
    run_id: str | None = Field(default=None, sa_type=Text)
    dataset_name: str | None = Field(default=None, sa_type=Text)
    dataset_digest: str | None = Field(default=None, sa_type=Text)


class RunOutputTable(SQLModel, table=True):
    """The models a run logged, and at which step (MLflow 3's run outputs)."""

    __tablename__ = "run_outputs"
    __table_args__ = (Index("ix_run_outputs_model", "model_id"),)
    run_id: int = Field(sa_column=_run_fk())
    model_id: int = Field(sa_column=_model_fk())
    step: int = Field(default=0, sa_type=BigInteger)


class EnvironmentRecordTable(SQLModel, table=True):
    """What runs need to be run again (packages, entry point, commit, uncommitted patch),
    kept once per distinct content: runs point at a record by its digest (a tag), so a
    process starting a thousand runs stores it once."""

    __tablename__ = "environment_records"
    #: sha256 of the record and patch (see ``environment_records.record_digest``).
    digest: str = Field(sa_type=Text, primary_key=True)
    #: The record, JSON.
    record: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: ``git diff HEAD --binary`` of the working tree, when there was one to keep.
    patch: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created: int = Field(sa_type=BigInteger)


experiments = ExperimentTable.__table__  # type: ignore[attr-defined]
experiment_tags = ExperimentTagTable.__table__  # type: ignore[attr-defined]
runs = RunTable.__table__  # type: ignore[attr-defined]
params = ParamTable.__table__  # type: ignore[attr-defined]
tags = TagTable.__table__  # type: ignore[attr-defined]
metrics = MetricTable.__table__  # type: ignore[attr-defined]
metric_chunks = MetricChunkTable.__table__  # type: ignore[attr-defined]
metric_summaries = MetricSummaryTable.__table__  # type: ignore[attr-defined]
datasets = DatasetTable.__table__  # type: ignore[attr-defined]
inputs = InputTable.__table__  # type: ignore[attr-defined]
registered_models = RegisteredModelTable.__table__  # type: ignore[attr-defined]
model_versions = ModelVersionTable.__table__  # type: ignore[attr-defined]
registered_model_tags = RegisteredModelTagTable.__table__  # type: ignore[attr-defined]
model_version_tags = ModelVersionTagTable.__table__  # type: ignore[attr-defined]
registered_model_aliases = RegisteredModelAliasTable.__table__  # type: ignore[attr-defined]
logged_models = LoggedModelTable.__table__  # type: ignore[attr-defined]
logged_model_tags = LoggedModelTagTable.__table__  # type: ignore[attr-defined]
logged_model_params = LoggedModelParamTable.__table__  # type: ignore[attr-defined]
logged_model_metrics = LoggedModelMetricTable.__table__  # type: ignore[attr-defined]
run_outputs = RunOutputTable.__table__  # type: ignore[attr-defined]
environment_records = EnvironmentRecordTable.__table__  # type: ignore[attr-defined]
schema_info = SchemaVersionTable.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata


def effective_status(now_ms: int, timeout_ms: int) -> ColumnElement[str]:
    """The status a reader sees: a RUNNING run whose heartbeat went stale is CRASHED."""
    stale = and_(
        runs.c.status == "RUNNING",
        func.coalesce(runs.c.heartbeat_time, runs.c.start_time) < now_ms - timeout_ms,
    )
    return case((stale, literal("CRASHED")), else_=runs.c.status)
