"""MLflow's SQL store, read with SQLAlchemy: a SQLite file or a database server.

MLflow need not be installed: its tables (experiments, experiment_tags, runs,
params, tags, metrics) are read with fixed statements, values bound as
parameters. A SQLite file is opened read-only. MLflow saves a metric's NaN as
0 with an ``is_nan`` flag and infinity as ±1.797e308; both come back as they
were logged.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from carnet.errors import InvalidInputError, NotFoundError, StoreError
from carnet.mlflow_import.artifacts import FoundArtifacts, find_artifact_folder
from carnet.mlflow_import.records import MetricPoint, SourceExperiment, SourceRun, optional_int

_FLOAT_MAX = sys.float_info.max
#: Metric rows fetched from the database at a time.
_FETCH_ROWS = 10_000
_TABLES = frozenset({"experiments", "runs", "metrics", "params", "tags"})


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names, or None for another URL."""
    if url.startswith("sqlite:///"):
        return Path(unquote(url[len("sqlite:///") :])).expanduser()
    return None


def redacted(url: str) -> str:
    """The URL without its password, for reports."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def metric_value(value: Any, is_nan: bool) -> float:
    """A metric value as logged, from MLflow's (value, is_nan) columns."""
    if is_nan or value is None:
        return math.nan
    number = float(value)
    if abs(number) == _FLOAT_MAX:  # how MLflow's SQL store saves ±inf
        return math.copysign(math.inf, number)
    return number


class SqlSource:
    """MLflow's SQL schema, read from ``url``; artifacts under ``base_dir`` or ``artifacts_dir``."""

    def __init__(self, url: str, base_dir: Path, artifacts_dir: Path | None) -> None:
        self.description = redacted(url)
        self.base_dir = base_dir
        self.artifacts_dir = artifacts_dir
        path = sqlite_file(url)
        if path is not None:
            if not path.is_file():
                raise NotFoundError(f"no MLflow database at {path}; check the path.")
            read_only = f"file:{quote(str(path))}?mode=ro"
            self.engine = create_engine(
                "sqlite://", creator=lambda: sqlite3.connect(read_only, uri=True)
            )
        else:
            if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, as Carnet uses
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            self.engine = create_engine(url)
        self._has_experiment_tags = self._check()

    def _check(self) -> bool:
        """Refuse a database without MLflow's tables; whether it has experiment tags."""
        try:
            tables = set(inspect(self.engine).get_table_names())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {self.description}: {exc}") from None
        missing = _TABLES - tables
        if missing:
            raise InvalidInputError(
                f"{self.description} is not an MLflow tracking database (no table "
                f"{', '.join(sorted(missing))}); pass MLflow's backend store, e.g. mlflow.db."
            )
        return "experiment_tags" in tables

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def experiments(self) -> list[SourceExperiment]:
        """Every experiment with its tags."""
        tags: dict[str, dict[str, str]] = {}
        if self._has_experiment_tags:
            for key, value, eid in self._rows(
                "SELECT key, value, experiment_id FROM experiment_tags"
            ):
                tags.setdefault(str(eid), {})[key] = value or ""
        rows = self._rows(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments ORDER BY experiment_id"
        )
        return [
            SourceExperiment(str(eid), name, stage or "active", tags.get(str(eid), {}))
            for eid, name, stage in rows
        ]

    def runs(self) -> list[SourceRun]:
        """Every run with its params and tags, oldest first."""
        params: dict[str, dict[str, str]] = {}
        for key, value, rid in self._rows("SELECT key, value, run_uuid FROM params"):
            params.setdefault(rid, {})[key] = value or ""
        tags: dict[str, dict[str, str]] = {}
        for key, value, rid in self._rows("SELECT key, value, run_uuid FROM tags"):
            tags.setdefault(rid, {})[key] = value or ""
        rows = self._rows(
            "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
            "lifecycle_stage, artifact_uri FROM runs ORDER BY start_time, run_uuid"
        )
        return [
            SourceRun(
                run_id=rid,
                experiment_id=str(eid),
                name=name or None,
                user_id=user or None,
                status=status or "FINISHED",
                start_time=optional_int(start),
                end_time=optional_int(end),
                lifecycle_stage=stage or "active",
                artifact_uri=uri,
                params=params.get(rid, {}),
                tags=tags.get(rid, {}),
            )
            for rid, eid, name, user, status, start, end, stage, uri in rows
        ]

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]:
        """The run's points, streamed from the database key by key."""
        sql = text(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = :rid "
            "ORDER BY key, step, timestamp"
        )
        with self.engine.connect() as conn:
            for rows in conn.execute(sql, {"rid": run.run_id}).partitions(_FETCH_ROWS):
                for key, value, ts, step, nan in rows:
                    yield key, metric_value(value, bool(nan)), int(ts or 0), int(step or 0)

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts:
        """Under ``mlruns/`` or ``mlartifacts/`` beside the database, or ``artifacts_dir``."""
        roots = [self.base_dir / "mlruns", self.base_dir / "mlartifacts", self.artifacts_dir]
        return find_artifact_folder(
            run.artifact_uri,
            run.experiment_id,
            run.run_id,
            base_dir=self.base_dir,
            artifacts_dir=self.artifacts_dir,
            run_dir=None,
            roots=roots,
        )

    def close(self) -> None:
        """Close the source's connections."""
        self.engine.dispose()
