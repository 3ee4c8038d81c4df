"""carnet.store.purge on SQLite and PostgreSQL: what goes, what stays, and races with restore."""

from __future__ import annotations

import pytest

import carnet
from carnet.errors import InvalidInputError, RunNotFoundError
from carnet.store.purge import collect_garbage


def _run(client: carnet.Client, experiment_id: str, name: str) -> str:
    run = client.create_run(experiment_id, run_name=name)
    rid = run.info.run_id
    client.log_batch(rid, metrics=[("loss", 1.0, 1, 0), ("loss", 0.5, 2, 1)],
                     params=[("alpha", 0.1)], tags=[("t", "x")])  # fmt: skip
    client.log_text(rid, "artifact", "a/b.txt")
    client.set_terminated(rid, "FINISHED")
    return rid


def test_gc_removes_deleted_runs_only(client: carnet.Client, tracking: str) -> None:
    exp = client.create_experiment("e")
    keep, drop = _run(client, exp, "keep"), _run(client, exp, "drop")
    drop_folder = client.get_artifact_path(drop).parent
    client.delete_run(drop)
    counted: list[int] = []
    report = collect_garbage(tracking, on_start=counted.append, on_batch=counted.append)
    assert report.run_ids == [drop] and counted == [1, 1]
    assert report.artifact_folders == 1 and report.bytes_freed == len("artifact")
    assert not drop_folder.exists()
    with pytest.raises(RunNotFoundError):
        client.get_run(drop)
    kept = client.get_run(keep)
    assert kept.data.params == {"alpha": "0.1"} and kept.data.metrics == {"loss": 0.5}
    assert len(client.get_metric_history(keep, "loss")) == 2
    assert client.get_artifact_path(keep, "a/b.txt").read_text() == "artifact"
    assert collect_garbage(tracking).run_ids == []


def test_gc_dry_run_and_filters(client: carnet.Client, tracking: str) -> None:
    e1, e2 = client.create_experiment("one"), client.create_experiment("two")
    a, b, c = _run(client, e1, "a"), _run(client, e1, "b"), _run(client, e2, "c")
    for rid in (a, b, c):
        client.delete_run(rid)
    dry = collect_garbage(tracking, dry_run=True)
    assert sorted(dry.run_ids) == sorted([a, b, c]) and dry.artifact_folders == 3
    assert client.get_run(a).info.lifecycle_stage == "deleted"
    assert client.get_artifact_path(a, "a/b.txt").exists()
    assert collect_garbage(tracking, run_ids=[a]).run_ids == [a]
    assert collect_garbage(tracking, experiment_ids=[e2]).run_ids == [c]
    assert collect_garbage(tracking).run_ids == [b]
    with pytest.raises(InvalidInputError, match="experiment ids are numbers"):
        collect_garbage(tracking, experiment_ids=["x"])


def test_gc_purges_deleted_experiments_and_frees_the_name(
    client: carnet.Client, tracking: str
) -> None:
    exp = client.create_experiment("old", tags={"k": "v"})
    rid = _run(client, exp, "r")  # an active run, but in a deleted experiment
    experiment_folder = client.get_artifact_path(rid).parent.parent
    assert experiment_folder.name == exp
    client.delete_experiment(exp)
    assert collect_garbage(tracking, dry_run=True).experiment_ids == [exp]
    report = collect_garbage(tracking)
    assert report.run_ids == [rid] and report.experiment_ids == [exp]
    assert client.get_experiment_by_name("old") is None
    assert not experiment_folder.exists()
    new = client.create_experiment("old")
    assert client.get_experiment(new).tags == {}


def test_gc_never_removes_a_folder_that_is_not_the_runs_own(
    client: carnet.Client, tracking: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    shared = Path(str(tmp_path)) / "shared"
    shared.mkdir()
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", str(shared))
    (shared / "precious.txt").write_text("keep me")
    exp = client.create_experiment("odd", artifact_location=shared.as_uri())
    rid = _run(client, exp, "r")
    # point the run at the shared folder itself, as a hand-edited store might
    from carnet.store import schema
    from carnet.store.engine import get_engine

    with get_engine(tracking).begin() as conn:
        conn.execute(
            schema.runs.update()
            .where(schema.runs.c.run_uuid == rid)
            .values(artifact_uri=shared.as_uri())
        )
    client.delete_run(rid)
    report = collect_garbage(tracking)
    assert report.run_ids == [rid] and report.artifact_folders == 0
    assert len(report.kept) == 1 and "does not name the run" in report.kept[0]
    assert (shared / "precious.txt").read_text() == "keep me"
