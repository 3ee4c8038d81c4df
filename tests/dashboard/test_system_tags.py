"""The run page reads start tags under their MLflow-style names and their former ones."""

from __future__ import annotations

import carnet
from dashboard import frames

from .conftest import MakeApp, no_exceptions
from .store_data import StoreInfo


def test_system_tag_falls_back_to_the_former_name() -> None:
    assert frames.system_tag({"mlflow.system.host": "new"}, "mlflow.system.host") == "new"
    assert frames.system_tag({"carnet.host": "old"}, "mlflow.system.host") == "old"
    both = {"mlflow.system.host": "new", "carnet.host": "old"}
    assert frames.system_tag(both, "mlflow.system.host") == "new"
    assert frames.system_tag({}, "mlflow.system.host") == ""


def test_start_tags_are_system_tags() -> None:
    for key, _ in carnet.sysinfo.system_tags():
        assert frames.is_system_tag(key)
        assert key.startswith("mlflow.")


def test_run_page_shows_former_start_tags(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    run = client.create_run(
        store.experiment_id,
        tags={
            "carnet.host": "old-host",
            "carnet.source.command": "python old_train.py --fast",
            "carnet.source.cwd": "/srv/old",
        },
    )
    client.set_terminated(run.info.run_id)
    at = app("run", run=run.info.run_id, run_tab="System")
    no_exceptions(at)
    system = next(d.value for d in at.dataframe if "captured at start" in d.value.columns)
    shown = dict(zip(system["captured at start"], system["value"], strict=True))
    assert shown["host"] == "old-host"
    assert shown["working directory"] == "/srv/old"
    at = app("run", run=run.info.run_id)
    no_exceptions(at)
    assert any(c.value == "cd /srv/old\npython old_train.py --fast" for c in at.code)
