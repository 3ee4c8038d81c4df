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
