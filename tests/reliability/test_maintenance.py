"""``carnet db check`` finds what is wrong, never changes the store, and ``upgrade`` refuses typos.

Each problem is made on purpose (rows whose run is gone, a summary that
disagrees with its history, a damaged SQLite page, a foreign database) and
must show in the report; a healthy store must report ok.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import carnet
from carnet.errors import StoreError
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION

from .conftest import dump_store


def filled(uri: str, runs: int = 3, points: int = 50) -> list[str]:
    client = carnet.Client(uri)
    exp = client.create_experiment("check", tags={"team": "x"})
    ids = []
    for i in range(runs):
        run = client.create_run(exp, run_name=f"r{i}")
        client.log_batch(
            run.info.run_id,
            metrics=[("loss", 1.0 / (s + 1), 0, s) for s in range(points)],
            params=[("alpha", i)],
            tags=[("k", "v")],
        )
        ids.append(run.info.run_id)
    return ids


def raw(uri: str, *statements: str) -> None:
    """Damage on purpose, as a bug or a hand edit would (foreign keys off on PostgreSQL)."""
    dispose_engines()
    engine = create_engine(uri)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_a_healthy_store_is_ok_and_the_check_changes_nothing(any_uri: str) -> None:
    filled(any_uri)
    before = dump_store(any_uri)
    report = check_store(any_uri)
    assert report.ok, report.format()
    assert (report.schema_version, report.code_schema_version) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert report.integrity == "ok" and report.summary_mismatches == 0
    assert set(report.orphan_rows) == {
        "params", "tags", "metrics", "metric_chunks", "metric_summaries", "runs",
        "experiment_tags", "logged_models", "logged_model_tags", "logged_model_params",
        "logged_model_metrics", "run_outputs",
    }  # fmt: skip
    assert not any(report.orphan_rows.values())
    assert report.format().endswith("\nok")
    assert dump_store(any_uri) == before


def test_orphan_rows_are_counted_per_table(any_uri: str) -> None:
    filled(any_uri)
    raw(
        any_uri,
        "INSERT INTO params (run_id, key, value, value_num) VALUES (9999, 'lost', '1', 1)",
        "INSERT INTO tags (run_id, key, value) VALUES (9999, 'lost', 'x')",
        "INSERT INTO tags (run_id, key, value) VALUES (9998, 'lost', 'x')",
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (777, 'k', 'v')",
    )
    report = check_store(any_uri)
    assert not report.ok
    assert report.orphan_rows["params"] == 1 and report.orphan_rows["tags"] == 2
    assert report.orphan_rows["experiment_tags"] == 1 and report.orphan_rows["metrics"] == 0
    assert "2 rows of tags belong to no run." in report.problems
    assert "orphan rows:     4 (params=1, tags=2, experiment_tags=1)" in report.format()


def test_a_run_whose_experiment_is_gone_is_an_orphan(any_uri: str) -> None:
    filled(any_uri, runs=1)
    raw(any_uri, "UPDATE runs SET experiment_id = 4242")
    report = check_store(any_uri)
    assert report.orphan_rows["runs"] == 1 and not report.ok


def test_a_summary_that_disagrees_with_its_history_is_reported(any_uri: str) -> None:
    filled(any_uri, runs=2)
    raw(any_uri, "UPDATE metric_summaries SET count = count + 1 WHERE run_id = 1")
    report = check_store(any_uri)
    assert report.summary_mismatches == 1
    assert any("disagree with their histories" in p for p in report.problems)


def test_packed_histories_are_checked_too(any_uri: str) -> None:
    """A lost chunk and a truncated one: both histories are reported."""
    filled(any_uri, runs=2, points=1500)  # each history: one packed chunk and a tail
    assert check_store(any_uri).ok
    raw(
        any_uri,
        "DELETE FROM metric_chunks WHERE run_id = 1",
        "UPDATE metric_chunks SET data = substr(data, 1, 24) WHERE run_id = 2",
    )
    report = check_store(any_uri)
    assert report.summary_mismatches == 2 and not report.ok


def test_a_damaged_sqlite_file_is_reported_not_raised(uri: str, tmp_path: Path) -> None:
    filled(uri, runs=20, points=60)  # fewer than BATCH_POINTS a key: rows, so an index
    dispose_engines()
    path = Path(uri.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        [(root,)] = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_metrics_history'"
        ).fetchall()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start + 100 : start + page_size - 100] = bytes(page_size - 200)
    path.write_bytes(bytes(data))
    report = check_store(uri)
    assert not report.ok and report.integrity != "ok"
    assert "ix_metrics_history" in report.integrity or "never used" in report.integrity
    assert any(".recover" in p for p in report.problems)
    assert "orphan rows:     not checked" in report.format()


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 200)
    report = check_store(str(path))
    assert not report.ok and "not a database" in report.integrity


def test_a_sqlite_file_without_carnet_tables_is_not_a_carnet_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (x)")
    conn.close()
    report = check_store(str(path))
    assert report.schema_version is None and report.integrity == "ok"
    assert report.problems == ("this is not a Carnet store (no schema table); check the URI.",)
    with pytest.raises(StoreError, match="no Carnet schema to upgrade"):
        upgrade_store(str(path))


def test_a_mistyped_path_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    for call in (check_store, upgrade_store):
        with pytest.raises(StoreError, match="no Carnet store at"):
            call(str(tmp_path / "typo.db"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_postgres_missing_table_is_reported(pg_uri: str) -> None:
    filled(pg_uri, runs=1)
    raw(pg_uri, "DROP TABLE experiment_tags")
    report = check_store(pg_uri)
    assert "table experiment_tags is missing" in report.integrity and not report.ok
