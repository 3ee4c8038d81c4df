"""Security: user text never becomes SQL, artifacts stay in their folder, readers cannot write.

The statement tracer (``sql_trace`` in conftest) records every statement the
SDK sends to SQLite or PostgreSQL, whatever layer sends it. Logging and
searching with unique marker literals must leave no marker in any statement's
text: they travel as bound parameters only.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import carnet
from carnet.errors import ArtifactPathError, ReadOnlyError, StoreError
from carnet.store.engine import get_engine

from .conftest import dump_store, files_under_root

MARKERS = {
    "experiment": "zqexp_5c1e",
    "run": "zqrun_8a2f",
    "param_key": "zqkey_3b7d",
    "param_value": "zqval_91e4",
    "metric_key": "zqmet_77aa",
    "tag_key": "zqtag_k",
    "tag_value": "zqtag_v'; DROP TABLE runs; --",
    "in_value": "zqin_2c0f",
    "exp_tag": "zqetag_40b1",
}
#: Numbers chosen to appear nowhere else: a literal one in SQL text would show.
NUMBERS = ("987654.321", "987654.3", "424242", "1234567890123", "7777")


def test_no_user_literal_reaches_the_sql_text(any_uri: str, sql_trace: list[str]) -> None:
    m = MARKERS
    carnet.set_tracking_uri(any_uri)
    experiment = carnet.set_experiment(m["experiment"])
    carnet.set_experiment_tag(m["exp_tag"], m["exp_tag"])
    with carnet.start_run(run_name=m["run"], tags={m["tag_key"]: m["tag_value"]}) as run:
        carnet.log_param(m["param_key"], m["param_value"])
        carnet.log_metric(m["metric_key"], 987654.321, step=424242, timestamp=1234567890123)
        carnet.log_metric(m["metric_key"], 1.5, synchronous=False)
    client = carnet.Client(any_uri)
    ids = [experiment.experiment_id]
    where = (
        f"params.{m['param_key']} = '{m['param_value']}' "
        f"and metrics.{m['metric_key']} > 987654.3 "
        f"and tags.{m['tag_key']} LIKE 'zqtag_v%' "
        f"and attributes.run_name IN ('{m['run']}', '{m['in_value']}') "
        f"and metrics.{m['metric_key']}.count = 2 "
        f"and not params.`{m['param_key']}` IS NULL"
    )
    order = [f"params.{m['param_key']} DESC", f"metrics.{m['metric_key']}.max ASC"]
    found = client.search_runs(ids, where, order_by=order, max_results=7777)
    assert [r.info.run_id for r in found] == [run.info.run_id], "the search found nothing"
    frame = client.search_runs_frame(ids, where, order_by=order, max_results=7777)
    assert list(frame["run_id"]) == [run.info.run_id]
    assert client.count_runs(ids, where) == 1
    assert client.search_experiments(filter_string=f"name = '{m['experiment']}'")
    assert client.get_metric_history(run.info.run_id, m["metric_key"])
    assert client.get_experiment_by_name(m["experiment"]) is not None

    assert any("INSERT INTO params" in s for s in sql_trace), "the tracer saw no logging"
    assert sum("SELECT" in s.upper() for s in sql_trace) > 5, "the tracer saw no searches"
    leaks = [
        s for s in sql_trace for lit in (*MARKERS.values(), *NUMBERS) if lit.lower() in s.lower()
    ]
    assert not leaks, "user literals in SQL text:\n" + "\n".join(leaks)


def test_the_tracer_does_see_a_literal_when_there_is_one(
    any_uri: str, sql_trace: list[str]
) -> None:
    """The control: the same tracer catches a literal formatted into a statement."""
    carnet.Client(any_uri)
    with get_engine(any_uri).connect() as conn:
        conn.execute(text(f"SELECT '{MARKERS['run']}'"))
    assert any(MARKERS["run"] in s for s in sql_trace)


# -- artifacts ---------------------------------------------------------------------------


def test_a_symlink_inside_the_artifact_folder_cannot_lead_out(
    tracking: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not copy")
    client = carnet.Client(tracking)
    with carnet.start_run() as run:
        carnet.log_text("inside", "notes/kept.txt")
        root = client.get_artifact_path(run.info.run_id)
        os.symlink(outside, root / "link")
        with pytest.raises(ArtifactPathError, match="leaves the run's artifact folder"):
            carnet.log_text("x", "link/planted.txt")
        with pytest.raises(ArtifactPathError, match="leaves the run's artifact folder"):
            client.download_artifacts(run.info.run_id, "link/secret.txt", str(tmp_path / "dl"))
        with pytest.raises(ArtifactPathError, match="leaves the run's artifact folder"):
            client.list_artifacts(run.info.run_id, "link")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not (tmp_path / "dl").exists()


def test_escaping_artifact_paths_write_nothing_anywhere(tracking: str, tmp_path: Path) -> None:
    before = files_under_root(tmp_path)
    with carnet.start_run():
        for bad in ("../x.txt", "a/../../x.txt", "..\\x.txt", str(tmp_path / "x.txt"), "C:\\x.txt"):
            with pytest.raises(ArtifactPathError):
                carnet.log_text("x", bad)
            with pytest.raises(ArtifactPathError):
                carnet.log_dict({"a": 1}, bad)
    after = [f for f in files_under_root(tmp_path) if "x.txt" in f[0]]
    assert after == [] and len(files_under_root(tmp_path)) >= len(before)


# -- read-only ---------------------------------------------------------------------------

READ_ONLY_WRITES: list[tuple[str, Any]] = [
    ("create_experiment", lambda c, e, r: c.create_experiment("new")),
    ("delete_experiment", lambda c, e, r: c.delete_experiment(e)),
    ("restore_experiment", lambda c, e, r: c.restore_experiment(e)),
    ("rename_experiment", lambda c, e, r: c.rename_experiment(e, "renamed")),
    ("set_experiment_tag", lambda c, e, r: c.set_experiment_tag(e, "k", "v")),
    ("create_run", lambda c, e, r: c.create_run(e)),
    ("set_terminated", lambda c, e, r: c.set_terminated(r)),
    ("update_run", lambda c, e, r: c.update_run(r, name="renamed")),
    ("delete_run", lambda c, e, r: c.delete_run(r)),
    ("restore_run", lambda c, e, r: c.restore_run(r)),
    ("log_batch", lambda c, e, r: c.log_batch(r, [("m", 1.0, 0, 0)], [("p", 1)], [("t", 1)])),
    ("log_metric", lambda c, e, r: c.log_metric(r, "m", 1.0)),
    ("log_param", lambda c, e, r: c.log_param(r, "p", 1)),
    ("set_tag", lambda c, e, r: c.set_tag(r, "t", "v")),
    ("delete_tag", lambda c, e, r: c.delete_tag(r, "mlflow.runName")),
    ("log_metric(synchronous=False)", lambda c, e, r: c.log_metric(r, "m", 1.0, synchronous=False)),
    ("log_text", lambda c, e, r: c.log_text(r, "x", "ro.txt")),
    ("log_dict", lambda c, e, r: c.log_dict(r, {"a": 1}, "ro.json")),
]


@pytest.mark.parametrize(
    "write",
    [pytest.param(f, id=n) for n, f in READ_ONLY_WRITES],
)
def test_a_read_only_client_refuses_every_write(
    any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Any
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    writer = carnet.Client(any_uri)
    exp = writer.create_experiment("ro")
    run = writer.create_run(exp).info.run_id
    reader = carnet.Client(any_uri, read_only=True)
    before, files = dump_store(any_uri), files_under_root(tmp_path)
    try:
        with pytest.raises(ReadOnlyError, match="read-only"):
            write(reader, exp, run)
    finally:  # a queued point must not reach a later test's output as a lost-point warning
        if reader._writer is not None:
            reader._writer.queue.clear()
            reader._writer.errors.clear()
    assert dump_store(any_uri) == before
    assert files_under_root(tmp_path) == files


def test_the_read_only_connection_itself_cannot_write(any_uri: str) -> None:
    """Defence in depth: even SQL that bypasses the SDK's checks is refused by the database."""
    carnet.Client(any_uri).create_experiment("ro")
    engine = get_engine(any_uri, read_only=True)
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        with pytest.raises(Exception) as info:
            cur.execute("DELETE FROM experiments")
        message = str(info.value).lower()
        assert "readonly" in message or "read-only" in message, message
    finally:
        conn.rollback()
        conn.close()
    assert carnet.Client(any_uri).get_experiment_by_name("ro") is not None


def test_a_read_only_sqlite_open_never_creates_or_changes_files(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    with pytest.raises(StoreError, match="no Carnet store at"):
        carnet.Client(f"sqlite:///{missing}", read_only=True)
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="no Carnet tables in this store yet"):
        carnet.Client(f"sqlite:///{empty}", read_only=True)
    assert sqlite3.connect(empty).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_the_dashboard_reads_through_a_read_only_client(uri: str) -> None:
    """The client dashboard/data.py hands every page is the read-only one."""
    from dashboard import data

    carnet.Client(uri).create_experiment("shown")
    client = data.client(uri)
    assert client.store.read_only
    with pytest.raises(ReadOnlyError):
        client.create_experiment("written by the dashboard")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "shown"]
