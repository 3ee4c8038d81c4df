"""carnet gc and logged models: a purged run leaves its models; a purged experiment takes its
models, their rows and their folders with it. SQLite and PostgreSQL (foreign keys hold)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

import carnet
from carnet.errors import LoggedModelNotFoundError
from carnet.store.purge import collect_garbage


def test_gc_keeps_a_purged_runs_models_and_purges_a_deleted_experiments(
    client: carnet.Client, tracking: str
) -> None:
    exp = client.create_experiment("models-gc")
    run = client.create_run(exp)
    rid = run.info.run_id
    info = carnet.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
                                    name="m", run_id=rid)  # fmt: skip
    client.set_terminated(rid)
    folder = client.logged_model_folder(info.model_id)
    assert (folder / "MLmodel").is_file()
    client.delete_run(rid)
    assert collect_garbage(tracking).run_ids == [rid]  # run_outputs rows go with the run
    kept = client.get_logged_model(info.model_id)
    assert kept.source_run_id == rid and (folder / "MLmodel").is_file()
    assert carnet.sklearn.load_model(info.model_uri).predict([[2.0]])[0] == pytest.approx(2.0)

    client.delete_experiment(exp)
    report = collect_garbage(tracking)
    assert report.experiment_ids == [exp]
    with pytest.raises(LoggedModelNotFoundError):
        client.get_logged_model(info.model_id, allow_deleted=True)
    assert not folder.exists() and not Path(folder).parent.parent.exists()  # models/ too


def _model(client: carnet.Client, exp: str, name: str) -> tuple[str, Path]:
    run = client.create_run(exp)
    info = carnet.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]),
                                    name=name, run_id=run.info.run_id)  # fmt: skip
    client.set_terminated(run.info.run_id)
    return info.model_id, client.logged_model_folder(info.model_id)


def test_gc_purges_deleted_logged_models_but_not_registered_or_live_ones(
    client: carnet.Client, tracking: str
) -> None:
    exp = client.create_experiment("deleted-models-gc")
    gone, gone_folder = _model(client, exp, "gone")
    live, live_folder = _model(client, exp, "live")
    held, held_folder = _model(client, exp, "held")
    client.create_registered_model("held-model")
    client.create_model_version("held-model", f"models:/{held}")
    client.delete_logged_model(gone)
    client.delete_logged_model(held)
    with pytest.raises(carnet.CarnetError, match="is not deleted"):
        collect_garbage(tracking, model_ids=[live])
    dry = collect_garbage(tracking, dry_run=True)
    assert dry.model_ids == [gone] and gone_folder.is_dir()
    report = collect_garbage(tracking)
    assert report.model_ids == [gone]
    assert any(held in note and "registered model version" in note for note in report.kept)
    with pytest.raises(LoggedModelNotFoundError):
        client.get_logged_model(gone, allow_deleted=True)
    assert not gone_folder.exists() and live_folder.is_dir() and held_folder.is_dir()
    assert client.get_logged_model(held, allow_deleted=True).model_id == held
    assert (held_folder / "MLmodel").is_file()  # the version's files stay whole


def test_gc_with_run_ids_leaves_deleted_models_unless_named(
    client: carnet.Client, tracking: str
) -> None:
    exp = client.create_experiment("named-models-gc")
    model_id, folder = _model(client, exp, "m")
    client.delete_logged_model(model_id)
    other = client.create_run(exp)
    client.delete_run(other.info.run_id)
    report = collect_garbage(tracking, run_ids=[other.info.run_id])
    assert report.run_ids == [other.info.run_id] and report.model_ids == [] and folder.is_dir()
    assert collect_garbage(tracking, run_ids=[], model_ids=[model_id]).model_ids == [model_id]
    assert not folder.exists()
