"""A small diabetes Elastic-Net sweep, stored once per backend, for the query tests.

The rows go in with SQLAlchemy Core, so these tests depend only on the schema,
not on the SDK. Every run has a label (r01..r12); tests state expected results
as labels. ``Store.search`` runs a real ``build_run_search`` statement.

PostgreSQL: set CARNET_TEST_POSTGRES_URL to a ``postgresql+psycopg://`` URL
where schemas may be created; without it the PostgreSQL variants skip (under CI
the skip fails the test: see tests/conftest.py).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.sql import Select

from carnet.entities import ViewType
from carnet.store import schema
from carnet.store.engine import get_engine
from carnet.store.sql_search import build_experiment_search, build_run_search, count_runs
from carnet.validation import numeric_value

PG_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
NOW = 1_700_000_000_000  # 2023-11-14T22:13:20Z
TIMEOUT = 60_000
NAN = float("nan")
INF = float("inf")


def ms(day: str) -> int:
    """Milliseconds of an ISO date (UTC)."""
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def run_uuid(label: str) -> str:
    return label[1:] + "a" * 30


@dataclass
class R:
    """One run of the fixture sweep."""

    label: str
    exp: str = "diabetes"
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "FINISHED"
    user: str = "alice"
    start: str = "2023-11-01"
    duration_s: float | None = 60
    heartbeat: int | None = None
    deleted: bool = False
    name: str | None = None
    #: Start in milliseconds, for runs written through the SDK (``start`` is then unused).
    start_ms: int | None = None


def _p(alpha: str | None, l1: str | None, **more: str) -> dict[str, str]:
    out = {"alpha": alpha, "l1_ratio": l1, **more}
    return {k: v for k, v in out.items() if v is not None}


# fmt: off
RUNS = [
    R("r01", params=_p("0.01", "0.0"), metrics={"MSE": [2900], "R2": [0.52], "loss": [3, 2, 1.5]},
      tags={"team": "med-ai", "fold": "b"}, start="2023-11-01", duration_s=60),
    R("r02", params=_p("0.01", "0.5"), metrics={"MSE": [3000], "R2": [0.49], "loss": [2, NAN]},
      tags={"team": "Med-AI", "fold": "a"}, user="bob", start="2023-11-02", duration_s=120),
    R("r03", params=_p("0.1", "1.0", solver="saga"), metrics={"MSE": [3100.5], "R2": [0.45]},
      tags={"team": "bio", "fold": "c"}, status="FAILED", start="2023-11-03", duration_s=30),
    R("r04", params=_p("0.1", "1"), metrics={"MSE": [NAN], "loss": [NAN, NAN]},
      status="KILLED", user="bob", start="2023-11-04", duration_s=10),
    R("r05", params=_p("1.0", "0.5"), metrics={"MSE": [5000], "R2": [0.1]},
      tags={"team": "med-ai", "fold": "a"}, status="RUNNING", start="2023-11-05",
      duration_s=None, heartbeat=NOW - 1000),
    R("r06", params=_p("1e-3", "0.25", solver="lbfgs"), metrics={"MSE": [2500], "R2": [0.6]},
      tags={"team": "O'Brien"}, status="RUNNING", user="carol", start="2023-11-06",
      duration_s=None, heartbeat=NOW - 3_600_000),
    R("r07", params=_p("auto", "0.75"), metrics={"MSE": [INF], "R2": [-0.5]},
      tags={"team": "a%b_c", "fold": "b"}, user="bob", start="2023-11-07", duration_s=3600),
    R("r08", metrics={"val.loss": [0.3], "val.min": [0.9], "my metric": [7]},
      tags={"my tag": "x y"}, start="2023-11-08", duration_s=5),
    R("r09", params=_p("0.05", "0.5"),
      metrics={"MSE": [3000], "R2": [0.49], "loss": [5, 4, 3, 2, 1]}, tags={"team": "med-ai"},
      status="SCHEDULED", user="", start="2023-11-09", duration_s=None),
    R("r10", params=_p("0.01", None), metrics={"MSE": [1000]}, tags={"team": "med-ai"},
      start="2023-11-10", deleted=True),
    R("r11", exp="other", params=_p("0.01", None), metrics={"MSE": [100]},
      tags={"team": "med-ai"}, user="dave", start="2023-10-01"),
    R("r12", exp="other", params=_p("0.5", None), metrics={"MSE": [200]}, status="FAILED",
      user="dave", start="2023-10-02", name="it's \"quoted\""),
]
# fmt: on
ACTIVE = frozenset(r.label for r in RUNS if not r.deleted)
EXPERIMENTS = {  # name: (creation, last update, deleted, tags)
    "diabetes": (1000, 5000, False, {"team": "med-ai", "project": "enet"}),
    "other": (2000, 3000, False, {"team": "bio"}),
    "archived": (500, 500, True, {}),
}


def _summary(values: list[float]) -> dict[str, Any]:
    finite = [v for v in values if not math.isnan(v)]
    last = values[-1]
    return {
        "value": None if math.isnan(last) else last,
        "is_nan": math.isnan(last),
        "step": len(values) - 1,
        "timestamp": NOW,
        "min_value": min(finite) if finite else None,
        "max_value": max(finite) if finite else None,
        "count": len(values),
    }


def populate(engine: Engine) -> dict[str, int]:
    """Insert the sweep; return label -> runs.id."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        exp_ids = {}
        for i, (name, (created, updated, deleted, tags)) in enumerate(EXPERIMENTS.items(), 1):
            conn.execute(
                insert(schema.experiments).values(
                    experiment_id=i,
                    name=name,
                    artifact_location=f"file:///art/{name}",
                    lifecycle_stage="deleted" if deleted else "active",
                    creation_time=created,
                    last_update_time=updated,
                )
            )
            exp_ids[name] = i
            for k, v in tags.items():
                conn.execute(insert(schema.experiment_tags).values(experiment_id=i, key=k, value=v))
        for i, run in enumerate(RUNS, 1):
            start = ms(run.start)
            end = None if run.duration_s is None else start + int(run.duration_s * 1000)
            conn.execute(
                insert(schema.runs).values(
                    id=i,
                    run_uuid=run_uuid(run.label),
                    experiment_id=exp_ids[run.exp],
                    name=run.name or run.label,
                    user_id=run.user,
                    status=run.status,
                    start_time=start,
                    end_time=end,
                    heartbeat_time=run.heartbeat,
                    lifecycle_stage="deleted" if run.deleted else "active",
                    artifact_uri=f"file:///art/{run.label}/artifacts",
                )
            )
            ids[run.label] = i
            for k, v in run.params.items():
                conn.execute(
                    insert(schema.params).values(
                        run_id=i, key=k, value=v, value_num=numeric_value(v)
                    )
                )
            for k, v in run.tags.items():
                conn.execute(insert(schema.tags).values(run_id=i, key=k, value=v))
            for k, values in run.metrics.items():
                for step, value in enumerate(values):
                    conn.execute(
                        insert(schema.metrics).values(
                            run_id=i,
                            key=k,
                            step=step,
                            timestamp=NOW,
                            value=None if math.isnan(value) else value,
                            is_nan=math.isnan(value),
                        )
                    )
                conn.execute(
                    insert(schema.metric_summaries).values(run_id=i, key=k, **_summary(values))
                )
    return ids


@dataclass
class Store:
    """A populated store and helpers that speak in run labels."""

    backend: str
    engine: Engine
    ids: dict[str, int]
    labels: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = {v: k for k, v in self.ids.items()}

    def run_select(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        view: ViewType = ViewType.ACTIVE_ONLY,
        experiments: Sequence[int] = (1, 2),
    ) -> Select[Any]:
        return build_run_search(
            experiment_ids=experiments,
            filter_string=filter_string,
            order_by=order_by,
            view_type=view,
            now_ms=NOW,
            crash_timeout_ms=TIMEOUT,
            limit=limit,
            offset=offset,
        )

    def search(
        self, filter_string: str | None = None, order_by: Sequence[str] | None = None, **kw: Any
    ) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(self.run_select(filter_string, order_by, **kw)).fetchall()
        return [self.labels[r[0]] for r in rows]

    def count(
        self, filter_string: str | None = None, *, view: ViewType = ViewType.ACTIVE_ONLY
    ) -> int:
        stmt = count_runs(
            experiment_ids=(1, 2),
            filter_string=filter_string,
            view_type=view,
            now_ms=NOW,
            crash_timeout_ms=TIMEOUT,
        )
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def experiments(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        view: ViewType = ViewType.ACTIVE_ONLY,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[str]:
        stmt = build_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view,
            limit=limit,
            offset=offset,
        )
        names = {i: n for i, n in enumerate(EXPERIMENTS, 1)}
        with self.engine.connect() as conn:
            return [names[r[0]] for r in conn.execute(stmt)]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, to prove a query changed nothing."""
        out = {}
        with self.engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                rows = conn.execute(select(table)).fetchall()
                out[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return out


def _pg_engine() -> Iterator[Engine]:
    if PG_URL is None:
        pytest.skip("CARNET_TEST_POSTGRES_URL is not set (no PostgreSQL)")
    import psycopg

    name = "q_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield get_engine(f"{PG_URL}{sep}options={quote(f'-csearch_path={name}')}")
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """The sweep on a SQLite file, and on PostgreSQL when one is configured."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("query") / "q.db"
        engine = get_engine(f"sqlite:///{path}")
        yield Store("sqlite", engine, populate(engine))
        engine.dispose()
        return
    gen = _pg_engine()
    engine = next(gen)
    try:
        yield Store("postgres", engine, populate(engine))
        engine.dispose()
    finally:
        gen.close()


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The sweep on SQLite only, for the slower property tests."""
    path = tmp_path_factory.mktemp("query-sqlite") / "q.db"
    engine = get_engine(f"sqlite:///{path}")
    yield Store("sqlite", engine, populate(engine))
    engine.dispose()
