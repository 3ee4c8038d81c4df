"""carnet import-mlflow: hand-made MLflow stores (both layouts) and, when it is
installed, stores written by real MLflow."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import carnet
from carnet.cli import cli
from carnet.errors import CarnetError, InvalidInputError, NotFoundError
from carnet.mlflow_import import IMPORTED_FROM, import_mlflow
from carnet.mlflow_import.file_source import read_meta_yaml
from tests.conftest import require_service
from tests.ecosystem.mlflow_stores import (
    T0,
    build_file_store,
    build_sqlite_store,
    build_with_mlflow,
    mlflow_python,
    sample_runs,
)


@pytest.fixture
def target(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "carnet-artifacts"))
    return uri


@pytest.fixture
def any_target(any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A target store on SQLite and on PostgreSQL, for the tests of what lands in it."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "carnet-artifacts"))
    return any_uri


@pytest.fixture(params=["sqlite", "mlruns"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    root = tmp_path / "mlflow"
    root.mkdir()
    if request.param == "sqlite":
        return str(build_sqlite_store(root))
    return str(build_file_store(root))


def imported(client: carnet.Client) -> dict[str, carnet.Run]:
    """Carnet runs by their MLflow run id."""
    out = {}
    for exp in client.search_experiments("ALL"):
        for run in client.search_runs([exp.experiment_id], run_view_type="ALL"):
            if IMPORTED_FROM in run.data.tags:
                out[run.data.tags[IMPORTED_FROM]] = run
    return out


def test_everything_is_copied(source: str, any_target: str) -> None:
    report = import_mlflow(source, tracking_uri=any_target)
    # the target already has Default (every store opens with it), so two are new
    assert (report.experiments_created, report.runs_imported, report.runs_skipped) == (2, 5, 0)
    assert report.metric_points == 7
    assert report.artifact_files == 2
    assert any("'huge' is 7000 characters" in w for w in report.warnings)
    client = carnet.Client(any_target)
    exps = {e.name: e for e in client.search_experiments("ALL")}
    assert set(exps) == {"Default", "diabetes", "old stuff"}
    assert exps["old stuff"].lifecycle_stage == "deleted"
    assert exps["diabetes"].tags == {"team": "med", "mlflow.note.content": "sweep"}

    runs = imported(client)
    _, originals = sample_runs()
    assert set(runs) == {r.run_id for r in originals}
    for original in originals:
        run = runs[original.run_id]
        assert run.info.run_name == original.name
        assert run.info.status == original.status or (
            original.status == "RUNNING" and run.info.status in ("RUNNING", "CRASHED")
        )
        assert run.info.start_time == original.start_time
        assert run.info.end_time == original.end_time
        assert run.info.lifecycle_stage == original.lifecycle_stage
        assert run.info.user_id == original.user_id
        assert run.data.params == {k: v for k, v in original.params.items() if k != "huge"}
        for key, value in original.tags.items():
            if key != "mlflow.parentRunId":
                assert run.data.tags[key] == value
        for key, points in original.metrics.items():
            history = client.get_metric_history(run.info.run_id, key)
            got = [(m.value, m.timestamp, m.step) for m in history]
            assert len(got) == len(points)
            for (value, ts, step), (want, want_ts, want_step) in zip(got, points, strict=True):
                assert (ts, step) == (want_ts, want_step)
                assert value == want or (math.isnan(value) and math.isnan(want))

    parent, child = runs["a" * 32], runs["b" * 32]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]
    assert math.isinf(parent.data.metrics["odd"]) and parent.data.metrics["odd"] < 0
    notes = client.get_artifact_path(parent.info.run_id, "notes.txt")
    assert notes.read_text() == "hello"
    assert client.get_artifact_path(parent.info.run_id, "model/MLmodel").is_file()
    assert runs["e" * 32].info.experiment_id == exps["old stuff"].experiment_id


def test_a_second_import_copies_nothing_twice(source: str, any_target: str) -> None:
    import_mlflow(source, tracking_uri=any_target)
    again = import_mlflow(source, tracking_uri=any_target)
    assert (again.experiments_created, again.runs_imported, again.runs_skipped) == (0, 0, 5)
    assert again.metric_points == 0 and again.artifact_files == 0
    client = carnet.Client(any_target)
    assert len(imported(client)) == 5
    assert len(client.get_metric_history(imported(client)["a" * 32].info.run_id, "loss")) == 3


def test_new_runs_in_the_source_are_picked_up(tmp_path: Path, target: str) -> None:
    root = tmp_path / "mlflow"
    root.mkdir()
    db = build_sqlite_store(root)
    import_mlflow(db, tracking_uri=target)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO runs VALUES (?, 'late', 'LOCAL', '', '', 'bob', 'FINISHED', ?, ?, '', "
        "'active', '', 1, NULL)",
        ("f" * 32, T0 + 900, T0 + 950),
    )
    conn.execute("INSERT INTO metrics VALUES ('loss', 0.1, ?, ?, 0, 0)", (T0 + 910, "f" * 32))
    conn.commit()
    conn.close()
    report = import_mlflow(f"sqlite:///{db}", tracking_uri=target)
    assert (report.runs_imported, report.runs_skipped) == (1, 5)
    late = imported(carnet.Client(target))["f" * 32]
    assert late.info.run_name == "late" and late.data.metrics == {"loss": 0.1}


def test_a_half_imported_run_is_replaced(source: str, any_target: str) -> None:
    client = carnet.Client(any_target)
    exp = client.create_experiment("diabetes")
    leftover = client.create_run(exp, tags={"carnet.importing": "a" * 32}, run_name="parent")
    client.log_batch(leftover.info.run_id, params=[("alpha", "0.1")])
    report = import_mlflow(source, tracking_uri=any_target)
    assert report.runs_retried == 1 and report.runs_imported == 5
    assert client.get_run(leftover.info.run_id).info.lifecycle_stage == "deleted"
    assert imported(client)["a" * 32].info.run_id != leftover.info.run_id


def test_only_the_named_experiments(source: str, target: str) -> None:
    report = import_mlflow(source, tracking_uri=target, experiment_names=["old stuff"])
    assert (report.experiments_created, report.runs_imported) == (1, 1)
    with pytest.raises(NotFoundError, match="no experiment named 'nope'"):
        import_mlflow(source, tracking_uri=target, experiment_names=["nope"])


def test_a_deleted_carnet_experiment_is_not_imported_into(source: str, target: str) -> None:
    client = carnet.Client(target)
    client.delete_experiment(client.create_experiment("diabetes"))
    report = import_mlflow(source, tracking_uri=target)
    assert report.runs_imported == 1  # only the run of the deleted MLflow experiment
    assert any("'diabetes' is deleted in Carnet" in w for w in report.warnings)


def test_sources_that_are_not_mlflow(tmp_path: Path, target: str) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(InvalidInputError, match="is not an MLflow tracking database"):
        import_mlflow(other, tracking_uri=target)
    with pytest.raises(NotFoundError, match="no MLflow store"):
        import_mlflow(tmp_path / "missing", tracking_uri=target)
    with pytest.raises(CarnetError, match="cannot import from 's3://"):
        import_mlflow("s3://bucket/mlruns", tracking_uri=target)


def test_the_cli_imports_with_a_report(source: str, target: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["import-mlflow", source, "--db", target])
    assert result.exit_code == 0, result.output
    assert "experiments created: 2" in result.stdout  # Default was there already
    assert "runs imported:       5" in result.stdout
    assert "metric points:       7" in result.stdout
    assert "artifact files:      2" in result.stdout
    assert "warning: run cccccccccccccccccccccccccccccccc: param 'huge'" in result.stdout
    again = runner.invoke(cli, ["import-mlflow", source, "--db", target])
    assert "runs imported:       0" in again.stdout
    assert "runs already there:  5" in again.stdout
    bad = runner.invoke(cli, ["import-mlflow", source, "--db", target, "-e", "nope"])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: no experiment named 'nope'")


def test_a_child_of_a_deleted_run_keeps_its_parent(tmp_path: Path, any_target: str) -> None:
    """MLflow does not delete a deleted run's children; the import keeps the link."""
    root = tmp_path / "mlflow"
    root.mkdir()
    db = build_sqlite_store(root)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO runs VALUES (?, 'orphan', 'LOCAL', '', '', 'bob', 'FINISHED', ?, ?, '', "
        "'active', '', 1, NULL)",
        ("f" * 32, T0 + 900, T0 + 950),
    )
    conn.execute("INSERT INTO tags VALUES ('mlflow.parentRunId', ?, ?)", ("d" * 32, "f" * 32))
    conn.commit()
    conn.close()
    report = import_mlflow(db, tracking_uri=any_target)
    assert report.runs_imported == 6
    client = carnet.Client(any_target)
    runs = imported(client)
    parent, child = runs["d" * 32], runs["f" * 32]
    assert parent.info.lifecycle_stage == "deleted"
    assert child.info.lifecycle_stage == "active"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]


def test_a_tag_carnet_cannot_hold_is_left_out_with_a_warning(tmp_path: Path, target: str) -> None:
    root = tmp_path / "mlflow"
    root.mkdir()
    db = build_sqlite_store(root)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tags SET value = ? WHERE key = 'note'", ("it's\x00here",))
    conn.execute("UPDATE params SET value = ? WHERE key = 'l1_ratio'", ("1\x000",))
    conn.commit()
    conn.close()
    report = import_mlflow(db, tracking_uri=target)
    assert report.runs_imported == 5
    assert any("tag 'note' left out" in w and "NUL" in w for w in report.warnings)
    assert any("param 'l1_ratio' left out" in w for w in report.warnings)
    parent = imported(carnet.Client(target))["a" * 32]
    assert "note" not in parent.data.tags and parent.data.params == {"alpha": "0.1"}


def test_times_and_steps_beyond_64_bits_are_left_out(tmp_path: Path, target: str) -> None:
    mlruns = build_file_store(tmp_path)
    run_dir = mlruns / "1" / ("a" * 32)
    meta = run_dir / "meta.yaml"
    meta.write_text(meta.read_text().replace(f"start_time: {T0}", f"start_time: {2**70}"))
    (run_dir / "metrics" / "loss").write_text(f"{T0} 1.0 0\n{T0 + 1} 0.5 {2**70}\n{T0 + 2} 0.2 2\n")
    report = import_mlflow(mlruns, tracking_uri=target)
    assert report.runs_imported == 5
    assert any(f"start time {2**70} is outside the 64-bit range" in w for w in report.warnings)
    assert any("metric 'loss': 1 point(s) left out" in w for w in report.warnings)
    client = carnet.Client(target)
    parent = imported(client)["a" * 32]
    assert parent.info.start_time > T0  # the time of the import
    assert [m.step for m in client.get_metric_history(parent.info.run_id, "loss")] == [0, 2]


def test_a_broken_meta_yaml_is_named(tmp_path: Path, target: str) -> None:
    mlruns = build_file_store(tmp_path)
    meta = mlruns / "1" / ("a" * 32) / "meta.yaml"
    meta.write_text("run_id: [unclosed\n")
    with pytest.raises(
        InvalidInputError, match=rf"{re.escape(str(meta))} is not valid YAML \(line 2\)"
    ):
        import_mlflow(mlruns, tracking_uri=target)
    meta.write_text("- a list\n- not a mapping\n")
    with pytest.raises(InvalidInputError, match=rf"{re.escape(str(meta))} is not a mapping"):
        import_mlflow(mlruns, tracking_uri=target)


def test_a_broken_metric_line_is_named(tmp_path: Path, target: str) -> None:
    mlruns = build_file_store(tmp_path)
    loss = mlruns / "1" / ("a" * 32) / "metrics" / "loss"
    loss.write_text(f"{T0} 1.0 0\n{T0 + 1} lots 1\n")
    with pytest.raises(
        InvalidInputError, match=rf"{re.escape(str(loss))}:2: expected 'timestamp value"
    ):
        import_mlflow(mlruns, tracking_uri=target)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: '0'\nc: ''\nd: null\ne: []\n", {"a": 1, "b": "0", "c": "", "d": None, "e": []}),
        ("name: 'it''s'\n", {"name": "it's"}),
        ('name: "tab\\there"\n', {"name": "tab\there"}),
        ("name: a long name\n  folded here\n", {"name": "a long name folded here"}),
        ("uri: file:///tmp/x y\nstatus: 3\n", {"uri": "file:///tmp/x y", "status": 3}),
    ],
)
def test_meta_yaml_as_mlflow_writes_it(
    text: str, expected: dict[str, object], tmp_path: Path
) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(text)
    assert read_meta_yaml(meta) == expected


# -- real MLflow --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["sqlite", "file"])
def test_import_of_a_store_written_by_mlflow(layout: str, tmp_path: Path, target: str) -> None:
    python = mlflow_python()
    require_service(python is not None, "mlflow not installed")
    assert python is not None
    work = tmp_path / "mlflow-work"
    work.mkdir()
    tracking = (
        f"sqlite:///{work / 'mlflow.db'}" if layout == "sqlite" else (work / "mlruns").as_uri()
    )
    made = build_with_mlflow(python, tracking, work)
    ids: dict[str, str] = made["ids"]  # type: ignore[assignment]
    source = str(work / "mlflow.db") if layout == "sqlite" else str(work / "mlruns")
    report = import_mlflow(source, tracking_uri=target)
    assert report.runs_imported == 6, report.format()
    assert report.warnings == []
    client = carnet.Client(target)
    runs = imported(client)
    assert set(runs) == set(ids.values())
    for i in range(2):
        run = runs[ids[f"alpha-{i}"]]
        assert run.info.status == "FINISHED" and run.info.run_name == f"alpha-{i}"
        assert run.data.params == {"alpha": str([0.01, 0.1][i]), "solver": "saga"}
        assert run.data.tags["team"] == "med"
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [(m.step, m.value) for m in history] == [
            (s, pytest.approx(1.0 / (s + 1 + i))) for s in range(5)
        ]
        assert math.isnan(run.data.metrics["odd"]) and run.data.metrics["big"] == math.inf
        assert client.get_artifact_path(run.info.run_id, "notes.txt").read_text() == f"run {i}"
        assert client.get_artifact_path(run.info.run_id, "sub/dir/notes.txt").is_file()
        child = runs[ids[f"child-{i}"]]
        assert child.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert runs[ids["broken"]].info.status == "FAILED"
    assert runs[ids["deleted"]].info.lifecycle_stage == "deleted"
    exp = client.get_experiment_by_name("real sweep")
    assert exp is not None and exp.tags.get("team") == "med"
    again = import_mlflow(source, tracking_uri=target)
    assert (again.runs_imported, again.runs_skipped) == (0, 6)


def test_import_from_mlflow_tables_on_postgresql(pg_uri: str, tmp_path: Path, target: str) -> None:
    """MLflow's SQL store on a server: the same tables, read through SQLAlchemy."""
    import sqlalchemy as sa

    root = tmp_path / "mlflow"
    root.mkdir()
    lite = sa.create_engine(f"sqlite:///{build_sqlite_store(root)}")
    server = sa.create_engine(pg_uri)
    meta = sa.MetaData()
    meta.reflect(lite)
    with server.begin() as conn:
        meta.create_all(conn)
        with lite.connect() as src:
            for table in meta.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(table.select())]
                for row in rows:
                    if "is_nan" in row:
                        row["is_nan"] = bool(row["is_nan"])
                if rows:
                    conn.execute(table.insert(), rows)
    lite.dispose()
    server.dispose()
    # a database server's artifacts are wherever its server kept them: name that folder
    report = import_mlflow(pg_uri, tracking_uri=target, artifacts_dir=root / "mlruns")
    assert (report.runs_imported, report.metric_points, report.artifact_files) == (5, 7, 2)
    password = sa.engine.make_url(pg_uri).password
    assert not password or password not in report.source
    runs = imported(carnet.Client(target))
    assert runs["a" * 32].data.metrics["odd"] == -math.inf  # the last point
    assert runs["b" * 32].data.tags["mlflow.parentRunId"] == runs["a" * 32].info.run_id
