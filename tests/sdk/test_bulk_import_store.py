"""The store's writes for imported runs (carnet.store.bulk_import), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from carnet.entities import ViewType
from carnet.errors import (
    ExperimentNotFoundError,
    InvalidValueError,
    ReadOnlyError,
    RunNotFoundError,
)
from carnet.store.sql_store import SqlStore

T0 = 1_700_000_000_000


@pytest.fixture
def store(any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqlStore:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return SqlStore(any_uri)


def _begin(store: SqlStore, experiment_id: str, parent: str | None = None) -> str:
    return store.begin_run_import(
        experiment_id,
        run_name="copied",
        user_id="alice",
        start_time=T0,
        tags={"team": "med", "carnet.importing": "a" * 32},
        params={"alpha": "0.1", "solver": "saga"},
        parent_run_id=parent,
    )


def test_a_run_lands_as_it_was_recorded(store: SqlStore) -> None:
    """Into a deleted experiment, under a deleted parent, with its own times and status."""
    exp = store.create_experiment("old")
    parent = _begin(store, exp)
    store.finish_run_import(
        parent, status="KILLED", end_time=T0 + 5, lifecycle_stage="deleted", tags={}
    )
    store.delete_experiment(exp)
    rid = _begin(store, exp, parent=parent)
    running = store.get_run(rid)
    assert (running.info.status, running.info.lifecycle_stage) == ("RUNNING", "active")
    assert running.info.start_time == T0 and running.info.user_id == "alice"
    assert running.data.tags["mlflow.runName"] == "copied"
    assert running.data.tags["mlflow.parentRunId"] == parent
    assert running.data.params == {"alpha": "0.1", "solver": "saga"}
    found, _ = store.search_runs([exp], "params.alpha < 0.5", ViewType.ALL)  # a numeric param
    assert {r.info.run_id for r in found} == {parent, rid}

    points = [("loss", 1.0 / (i + 1), T0 + i, i) for i in range(100_000)]
    points[7] = ("loss", math.nan, T0 + 7, 7)
    store.log_batch(rid, metrics=points)
    store.finish_run_import(
        rid,
        status="FAILED",
        end_time=T0 + 99,
        lifecycle_stage="active",
        tags={"carnet.imported_from": "a" * 32},
        drop_tags=["carnet.importing"],
    )
    done = store.get_run(rid)
    assert (done.info.status, done.info.end_time, done.info.lifecycle_stage) == (
        "FAILED",
        T0 + 99,
        "active",
    )
    assert "carnet.importing" not in done.data.tags
    assert done.data.tags["carnet.imported_from"] == "a" * 32
    history = store.get_metric_history(rid, "loss")
    assert len(history) == 100_000 and math.isnan(history[7].value)
    assert (history[-1].step, history[-1].timestamp) == (99_999, T0 + 99_999)
    assert done.data.metrics["loss"] == pytest.approx(1 / 100_000)

    tagged = store.runs_with_tags(["carnet.imported_from", "carnet.importing"])
    assert [(t.run_id, t.lifecycle_stage, t.key) for t in tagged] == [
        (parent, "deleted", "carnet.importing"),
        (rid, "active", "carnet.imported_from"),
    ]
    assert store.runs_with_tags([]) == []


def test_a_still_running_run_keeps_its_heartbeat(store: SqlStore) -> None:
    rid = _begin(store, store.create_experiment("live"))
    store.finish_run_import(
        rid, status="RUNNING", end_time=None, lifecycle_stage="active", tags={"x": "1"}
    )
    run = store.get_run(rid)
    assert run.info.status == "RUNNING" and run.info.end_time is None
    assert run.data.tags["x"] == "1"


def test_a_refused_begin_writes_nothing(store: SqlStore) -> None:
    exp = store.create_experiment("e")
    with pytest.raises(ExperimentNotFoundError, match="no experiment with id '999'"):
        _begin(store, "999")
    with pytest.raises(RunNotFoundError, match=r"no parent run with id 'f+'; import the parent"):
        _begin(store, exp, parent="f" * 32)
    assert store.search_runs([exp], None, ViewType.ALL)[0] == []


def test_a_refused_finish_changes_nothing(store: SqlStore) -> None:
    rid = _begin(store, store.create_experiment("e"))
    bad: list[tuple[dict[str, object], str]] = [
        ({"status": "CRASHED"}, "status 'CRASHED' cannot be stored"),
        ({"lifecycle_stage": "gone"}, "lifecycle stage 'gone' is not one of"),
        ({"tags": {"mlflow.runName": "x"}}, "'mlflow.runName' is set when the import begins"),
        ({"drop_tags": ["mlflow.parentRunId"]}, "'mlflow.parentRunId' is set when"),
    ]
    for change, message in bad:
        call: dict[str, object] = {
            "status": "FINISHED",
            "end_time": T0 + 1,
            "lifecycle_stage": "deleted",
            "tags": {"done": "yes"},
            "drop_tags": ["carnet.importing"],
            **change,
        }
        with pytest.raises(InvalidValueError, match=message):
            store.finish_run_import(rid, **call)  # type: ignore[arg-type]
    with pytest.raises(RunNotFoundError):
        store.finish_run_import(
            "f" * 32, status="FINISHED", end_time=T0, lifecycle_stage="active", tags={}
        )
    run = store.get_run(rid)
    assert (run.info.status, run.info.end_time, run.info.lifecycle_stage) == (
        "RUNNING",
        None,
        "active",
    )
    assert "done" not in run.data.tags and "carnet.importing" in run.data.tags


def test_a_read_only_store_refuses_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    path = tmp_path / "carnet.db"
    writer = SqlStore(f"sqlite:///{path}")
    rid = _begin(writer, writer.create_experiment("e"))
    reader = SqlStore(f"sqlite:///{path}", read_only=True)
    with pytest.raises(ReadOnlyError):
        _begin(reader, "1")
    with pytest.raises(ReadOnlyError):
        reader.finish_run_import(
            rid, status="FINISHED", end_time=T0, lifecycle_stage="active", tags={}
        )
    assert [t.run_id for t in reader.runs_with_tags(["carnet.importing"])] == [rid]
