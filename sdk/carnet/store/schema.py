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
SCHEMA_VERSION = 6

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
schema_info = SchemaVersionTable.__table__  # type: ignore[attr-defined]
metadata = SQLModel.metadata


def effective_status(now_ms: int, timeout_ms: int) -> ColumnElement[str]:
    """The status a reader sees: a RUNNING run whose heartbeat went stale is CRASHED."""
    stale = and_(
        runs.c.status == "RUNNING",
        func.coalesce(runs.c.heartbeat_time, runs.c.start_time) < now_ms - timeout_ms,
    )
    return case((stale, literal("CRASHED")), else_=runs.c.status)
