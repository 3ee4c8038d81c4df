"""The v7 -> v8 upgrade gives models logged before it a record of their own.

Before v8 a logged model was an artifact folder of its run, recorded only in the
run's ``mlflow.log-model.history`` tag. A store at v7 with such models is
upgraded in place: each entry with a model id becomes a READY logged model of
the run's experiment, in the run's folder, with the run's params and a run
output; ``models:/<id>`` and ``runs:/<run>/<name>`` both load it. Entries
without an id, or with a path that leaves the run's folder, are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression
from sqlalchemy import create_engine, text

import carnet
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION

#: The v8 -> v9 and v7 -> v8 migrations undone.
DOWNGRADE_TO_V7 = (
    "DROP TABLE environment_records",
    "DROP TABLE run_outputs",
    "DROP TABLE logged_model_metrics",
    "DROP TABLE logged_model_params",
    "DROP TABLE logged_model_tags",
    "DROP TABLE logged_models",
)
OLD_ID = "m-" + "ab" * 16


def to_v7(uri: str) -> None:
    engine = create_engine(uri)
    with engine.begin() as conn:
        for statement in DOWNGRADE_TO_V7:
            conn.execute(text(statement))
        conn.execute(text("DELETE FROM carnet_schema"))
        conn.execute(text("INSERT INTO carnet_schema (version, migrated_at) VALUES (7, 0)"))
    engine.dispose()


def test_models_in_run_tags_become_logged_models(
    any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SCHEMA_VERSION == 9, "this test writes a v7 store; add the undo of newer steps"
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    client = carnet.Client(any_uri)
    exp = client.create_experiment("old-models")
    run = client.create_run(exp)
    rid = run.info.run_id
    client.log_batch(rid, params=[("alpha", 0.5)])
    folder = tmp_path / "saved"
    fitted = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    carnet.sklearn.save_model(fitted, folder)  # what log_model put in the run's folder
    client.log_artifacts(rid, folder, "old/model")
    history = [
        {"artifact_path": "old/model", "run_id": rid, "model_id": OLD_ID,
         "utc_time_created": "2026-01-02 03:04:05.000000", "flavors": ["sklearn"]},
        {"artifact_path": "../escape", "run_id": rid, "model_id": "m-" + "cd" * 16},
        {"artifact_path": "no-id", "run_id": rid},
    ]  # fmt: skip
    client.set_tag(rid, "mlflow.log-model.history", json.dumps(history))
    client.set_terminated(rid)
    dispose_engines()
    to_v7(any_uri)

    assert upgrade_store(any_uri) == (7, SCHEMA_VERSION)
    assert upgrade_store(any_uri) == (SCHEMA_VERSION, SCHEMA_VERSION)
    client = carnet.Client(any_uri)
    models = client.search_logged_models([exp])
    assert [m.model_id for m in models] == [OLD_ID]
    model = models[0]
    assert (model.name, model.status, model.source_run_id) == ("old/model", "READY", rid)
    assert model.creation_timestamp == 1767323045000 and model.params == {"alpha": "0.5"}
    assert client.get_run(rid).outputs.model_outputs[0].model_id == OLD_ID
    loaded = carnet.sklearn.load_model(f"models:/{OLD_ID}", tracking_uri=any_uri)
    assert loaded.predict([[2.0]])[0] == pytest.approx(4.0)
    by_run = carnet.sklearn.load_model(f"runs:/{rid}/old/model", tracking_uri=any_uri)
    assert by_run.predict([[2.0]])[0] == pytest.approx(4.0)
    report = check_store(any_uri)
    assert report.ok, report.format()
