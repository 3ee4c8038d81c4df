"""Schema versions: old stores are upgraded in place, newer ones are refused clearly.

``tests/fixtures/schema_v1.db`` was written by Carnet at schema version 1 (see
``make_schema_v1.py``). Opening a copy with the current code must upgrade it
without losing a row and leave exactly the schema a brand-new store gets. On
PostgreSQL, where no v1 file can be kept, the test builds a v1 store by
undoing the migrations on a fresh one; the SQLite test checks that this undo
reproduces the real v1 fixture's schema exactly, so the PostgreSQL test
starts from a faithful v1 store.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

import carnet
from carnet.errors import SchemaVersionError, StoreError
from carnet.store import migrations
from carnet.store.engine import dispose_engines, get_engine
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION

from .conftest import dump_store, finish, nan_safe, release, start_worker

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema_v1.db"

#: The v8 -> v9 migration undone (environment records).
DOWNGRADE_TO_V8 = ("DROP TABLE environment_records",)
#: The v7 -> v8 migration undone (logged models).
DOWNGRADE_TO_V7 = (
    *DOWNGRADE_TO_V8,
    "DROP TABLE run_outputs",
    "DROP TABLE logged_model_metrics",
    "DROP TABLE logged_model_params",
    "DROP TABLE logged_model_tags",
    "DROP TABLE logged_models",
)
#: The v6 -> v7 migration undone (the model registry); v4 -> v5 and v5 -> v6 changed no table.
DOWNGRADE_TO_V6 = (
    *DOWNGRADE_TO_V7,
    "DROP TABLE registered_model_aliases",
    "DROP TABLE model_version_tags",
    "DROP TABLE registered_model_tags",
    "DROP TABLE model_versions",
    "DROP TABLE registered_models",
)
#: The v3 -> v4 migration undone (run inputs).
DOWNGRADE_TO_V3 = (*DOWNGRADE_TO_V6, "DROP TABLE inputs", "DROP TABLE datasets")
#: The v2 -> v3 migration undone on a store whose histories are all tail rows.
DOWNGRADE_TO_V2 = (
    *DOWNGRADE_TO_V3,
    "DROP TABLE metric_chunks",
    'CREATE INDEX ix_tags_key_value ON tags ("key", value)',
)
#: Then the v1 -> v2 migration undone: what a v1 store's indexes were.
DOWNGRADE_TO_V1 = (
    *DOWNGRADE_TO_V2,
    "DROP INDEX ix_runs_experiment_status",
    "DROP INDEX ix_metrics_history",
    'CREATE INDEX ix_metrics_run_key_step ON metrics (run_id, "key", step)',
)
#: Parents first, so foreign keys hold while copying rows.
TABLES = (
    "carnet_schema",
    "experiments",
    "experiment_tags",
    "runs",
    "params",
    "tags",
    "metrics",
    "metric_summaries",
)


def data_only(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows that hold data; a table an upgrade added and left empty holds none."""
    return nan_safe({t: rows for t, rows in dump.items() if t != "carnet_schema" and rows})


def schema_shape(uri: str) -> dict[str, Any]:
    """Tables, columns (type, nullability), keys and indexes, as SQLAlchemy reflects them."""
    engine = create_engine(uri)
    try:
        insp = inspect(engine)
        shape: dict[str, Any] = {}
        for table in sorted(insp.get_table_names()):
            shape[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
                ],
                "pk": insp.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in insp.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in insp.get_unique_constraints(table)
                ),
            }
        return shape
    finally:
        engine.dispose()


def sqlite_master(path: Path) -> list[tuple[str, str, str, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()


def fresh_store(uri: str) -> None:
    """The current schema with no rows (a Client would add the Default experiment)."""
    get_engine(uri)
    dispose_engines()


def downgrade_to_v1(uri: str) -> None:
    """Turn a fresh current store into a v1 store (valid while SCHEMA_VERSION is 9)."""
    downgrade(uri, DOWNGRADE_TO_V1, 1)


def downgrade(uri: str, statements: tuple[str, ...], version: int) -> None:
    assert SCHEMA_VERSION == 9, "extend the DOWNGRADE_TO_* lists with the newer migrations' undo"
    engine = create_engine(uri)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
        conn.execute(text("DELETE FROM carnet_schema"))
        conn.execute(
            text("INSERT INTO carnet_schema (version, migrated_at) VALUES (:v, 0)"), {"v": version}
        )
    engine.dispose()


def copy_fixture_rows(engine: Engine) -> None:
    """Load the v1 fixture's rows into another (v1, empty) store, ids and all."""
    with sqlite3.connect(FIXTURE) as src, engine.begin() as conn:
        conn.execute(text("DELETE FROM carnet_schema"))
        for table in TABLES:
            cur = src.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cur.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
            if table in ("metrics", "metric_summaries"):
                for row in rows:
                    row["is_nan"] = bool(row["is_nan"])
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(f":{c}" for c in columns)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), rows)
        if engine.dialect.name == "postgresql":
            for table, column in (
                ("experiments", "experiment_id"),
                ("runs", "id"),
                ("metrics", "id"),
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"
                    )
                )


def assert_fixture_content(uri: str) -> None:
    """The fixture's runs, read through the public API after the upgrade."""
    client = carnet.Client(uri)
    sweep = client.get_experiment_by_name("fixture-sweep")
    gone = client.get_experiment_by_name("fixture-deleted")
    assert sweep is not None and gone is not None
    assert sweep.tags == {"team": "reliability"}
    assert gone.lifecycle_stage == "deleted"
    runs = {r.info.run_name: r for r in client.search_runs([sweep.experiment_id], max_results=None)}
    assert sorted(runs) == ["run-0", "run-1", "run-2", "run-3"]
    assert [runs[f"run-{i}"].info.status for i in range(4)] == [
        "FINISHED",
        "FAILED",
        "KILLED",
        "FINISHED",
    ]
    parent = runs["run-0"].info.run_id
    for i in range(4):
        run = runs[f"run-{i}"]
        assert run.data.params["solver"] == "saga"
        assert run.data.params["depth"] == str(i)
        assert run.data.tags["note"] == f"ünïcode {i} ✓"
        assert run.data.tags.get("mlflow.parentRunId") == (parent if i else None)
        assert math.isnan(run.data.metrics["acc"]) and run.data.metrics["inf"] == math.inf
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.value for m in history] == [1.0 / (s + 1 + i) for s in range(10)]
    found = client.search_runs(
        [sweep.experiment_id], "params.alpha > 0.25 and metrics.loss.min < 0.1"
    )
    assert sorted(r.info.run_name for r in found) == ["run-2", "run-3"]


# -- SQLite: the real v1 file --------------------------------------------------------------


@pytest.fixture
def v1_copy(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, path)
    yield path


def test_the_fixture_is_a_v1_store() -> None:
    with sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT version FROM carnet_schema").fetchall() == [(1,)]
        assert conn.execute("SELECT count(*) FROM metrics").fetchone() == (48,)


def test_every_schema_version_has_its_migration() -> None:
    assert len(migrations.MIGRATIONS) == SCHEMA_VERSION - 1


def test_v1_store_is_upgraded_in_place_without_loss(v1_copy: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{v1_copy}"
    before = dump_store(uri)
    assert check_store(uri).schema_version == 1
    assert_fixture_content(uri)  # opening it is what upgrades it
    dispose_engines()
    after = dump_store(uri)
    assert data_only(after) == data_only(before), "the upgrade changed or lost rows"
    assert [r[0] for r in after["carnet_schema"]] == [1, SCHEMA_VERSION]

    fresh = tmp_path / "fresh.db"
    fresh_store(f"sqlite:///{fresh}")
    assert sqlite_master(v1_copy) == sqlite_master(fresh)
    assert schema_shape(uri) == schema_shape(f"sqlite:///{fresh}")
    report = check_store(uri)
    assert report.ok, report.format()

    client = carnet.Client(uri)  # and it takes new data
    experiment = client.get_experiment_by_name("fixture-sweep")
    assert experiment is not None
    run = client.create_run(experiment.experiment_id, run_name="after-upgrade")
    client.log_batch(run.info.run_id, metrics=[("loss", 0.5, 1, 0)], params=[("alpha", 1)])
    assert client.get_run(run.info.run_id).data.params == {"alpha": "1"}


def test_undoing_the_migrations_gives_the_real_v1_schema(tmp_path: Path) -> None:
    """Keeps the PostgreSQL test honest: its hand-made v1 store matches a real one."""
    path = tmp_path / "made.db"
    fresh_store(f"sqlite:///{path}")
    downgrade_to_v1(f"sqlite:///{path}")
    assert sqlite_master(path) == sqlite_master(FIXTURE)


def test_explicit_upgrade_reports_versions_and_is_idempotent(v1_copy: Path) -> None:
    uri = f"sqlite:///{v1_copy}"
    assert upgrade_store(uri) == (1, SCHEMA_VERSION)
    assert upgrade_store(uri) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert check_store(uri).ok


def test_a_read_only_open_does_not_upgrade(v1_copy: Path) -> None:
    uri = f"sqlite:///{v1_copy}"
    with pytest.raises(StoreError, match="carnet db upgrade"):
        carnet.Client(uri, read_only=True)
    assert check_store(uri).schema_version == 1


def test_processes_opening_an_old_store_at_once_upgrade_it_once(
    v1_copy: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{v1_copy}"
    before = data_only(dump_store(uri))
    upgrade_race(uri, tmp_path)
    after = dump_store(uri)
    assert data_only(after) == before
    assert [r[0] for r in after["carnet_schema"]] == [1, SCHEMA_VERSION]
    with sqlite3.connect(v1_copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def upgrade_race(uri: str, tmp_path: Path, processes: int = 4) -> None:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(processes)]
    procs = [
        start_worker("open_store", {"uri": uri, "ready": str(r), "go": str(go)}) for r in ready
    ]
    release(go, ready, procs)
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 0, err
        assert json.loads(out) == {"experiments": 2}


# -- newer than the code ------------------------------------------------------------------


def test_a_store_newer_than_the_code_is_refused_clearly(any_uri: str) -> None:
    fresh_store(any_uri)
    engine = create_engine(any_uri)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO carnet_schema (version, migrated_at) VALUES (:v, 0)"),
            {"v": SCHEMA_VERSION + 1},
        )
    engine.dispose()
    before = dump_store(any_uri)
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError, match=r"upgrade Carnet \(pip install -U carnet\)"):
            carnet.Client(any_uri, read_only=read_only)
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        upgrade_store(any_uri)
    report = check_store(any_uri)
    assert not report.ok and report.schema_version == SCHEMA_VERSION + 1
    assert any("upgrade Carnet" in p for p in report.problems)
    assert dump_store(any_uri) == before


# -- PostgreSQL: a v1 store made by undoing the migrations ---------------------------------


@pytest.mark.postgres
def test_v1_postgres_store_is_upgraded_in_place_without_loss(pg_uri: str, tmp_path: Path) -> None:
    fresh = dump_shape_of_fresh_pg = schema_shape_after_fresh(pg_uri)
    downgrade_to_v1(pg_uri)
    engine = create_engine(pg_uri)
    copy_fixture_rows(engine)
    engine.dispose()
    assert check_store(pg_uri).schema_version == 1
    before = data_only(dump_store(pg_uri))
    upgrade_race(pg_uri, tmp_path)
    dispose_engines()
    after = dump_store(pg_uri)
    assert data_only(after) == before
    assert [r[0] for r in after["carnet_schema"]] == [1, SCHEMA_VERSION]
    assert schema_shape(pg_uri) == fresh == dump_shape_of_fresh_pg
    assert_fixture_content(pg_uri)
    report = check_store(pg_uri)
    assert report.ok, report.format()


def schema_shape_after_fresh(uri: str) -> dict[str, Any]:
    fresh_store(uri)
    return schema_shape(uri)


# -- v2 -> v3: long histories are packed into chunks -----------------------------------------


def test_v2_histories_are_packed_on_upgrade_and_read_the_same(
    any_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v2 store kept every point as a row; the upgrade packs the long histories."""
    from carnet.store import history

    monkeypatch.setattr(history, "TAIL_POINTS", 10**9)  # write v2's layout: rows only
    monkeypatch.setattr(history, "BATCH_POINTS", 10**9)
    client = carnet.Client(any_uri)
    run_id = client.create_run(client.create_experiment("v2")).info.run_id
    n = 3 * 1024 + 5  # three packs' worth of points, and not a multiple
    long = [("long", math.nan if i % 7 == 0 else i / 3, 1000 + i, (i * 37) % n) for i in range(n)]
    client.log_batch(run_id, metrics=long)
    client.log_batch(run_id, metrics=[("short", float(i), 5, i) for i in range(10)])
    expected = {k: client.get_metric_history(run_id, k) for k in ("long", "short")}
    monkeypatch.undo()
    dispose_engines()
    downgrade(any_uri, DOWNGRADE_TO_V2, 2)
    assert check_store(any_uri).schema_version == 2

    client = carnet.Client(any_uri)  # opening it upgrades it
    for key, points in expected.items():
        assert nan_safe({key: client.get_metric_history(run_id, key)}) == nan_safe({key: points})
    assert [m.step for m in expected["long"]] == sorted(m.step for m in expected["long"])
    dispose_engines()
    dump = dump_store(any_uri)
    assert sum(row[3] for row in dump["metric_chunks"]) == n
    assert sorted(row[2] for row in dump["metrics"]) == ["short"] * 10  # short stays a tail
    assert check_store(any_uri).ok
