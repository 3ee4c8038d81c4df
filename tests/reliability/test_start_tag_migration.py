"""The v4 -> v5 upgrade renames start tags written as ``carnet.*`` to their ``mlflow.`` names.

A store at the previous version, with runs that carry the former names, is
upgraded in place: every value survives under its new name, a run that already
had the new name keeps both, and nothing else changes.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

import carnet
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION

FORMER = {
    "carnet.source.command": "python train.py --alpha 0.1",
    "carnet.source.cwd": "/srv/project",
    "carnet.source.git.dirty": "true",
    "carnet.python": "3.11.9",
    "carnet.platform": "Linux-6.1-x86_64",
    "carnet.host": "gpu-07",
}
RENAMED = {
    "mlflow.source.command": "python train.py --alpha 0.1",
    "mlflow.source.cwd": "/srv/project",
    "mlflow.source.git.dirty": "true",
    "mlflow.system.python": "3.11.9",
    "mlflow.system.platform": "Linux-6.1-x86_64",
    "mlflow.system.host": "gpu-07",
}


def set_version(uri: str, version: int) -> None:
    """Mark the store as written by the previous version (the v5 step changes no table)."""
    engine = create_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM carnet_schema"))
        conn.execute(
            text("INSERT INTO carnet_schema (version, migrated_at) VALUES (:v, 0)"), {"v": version}
        )
    engine.dispose()


def test_former_start_tags_are_renamed_without_loss(any_uri: str) -> None:
    client = carnet.Client(any_uri)
    exp = client.create_experiment("old-tags")
    old = client.create_run(exp, tags={**FORMER, "team": "med"}, run_name="old")
    both = client.create_run(
        exp, tags={"carnet.host": "old-host", "mlflow.system.host": "new-host"}, run_name="both"
    )
    plain = client.create_run(exp, tags={"carnet.error.type": "ValueError"}, run_name="plain")
    dispose_engines()
    set_version(any_uri, 4)  # later steps only add tables, which are there already

    assert upgrade_store(any_uri) == (4, SCHEMA_VERSION)
    client = carnet.Client(any_uri)
    tags = client.get_run(old.info.run_id).data.tags
    assert {k: tags[k] for k in RENAMED} == RENAMED
    assert not any(k in tags for k in FORMER)
    assert tags["team"] == "med" and tags["mlflow.runName"] == "old"
    kept = client.get_run(both.info.run_id).data.tags
    assert kept["mlflow.system.host"] == "new-host" and kept["carnet.host"] == "old-host"
    assert client.get_run(plain.info.run_id).data.tags["carnet.error.type"] == "ValueError"
    found = client.search_runs([exp], "tags.`mlflow.system.host` = 'gpu-07'")
    assert [r.info.run_id for r in found] == [old.info.run_id]
    report = check_store(any_uri)
    assert report.ok, report.format()


def test_a_current_store_is_left_alone(any_uri: str) -> None:
    """A tag the user names ``carnet.host`` on a current store is theirs to keep."""
    client = carnet.Client(any_uri)
    exp = client.create_experiment("current")
    run = client.create_run(exp, tags={"carnet.host": "user-set"})
    dispose_engines()
    assert upgrade_store(any_uri) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert carnet.Client(any_uri).get_run(run.info.run_id).data.tags["carnet.host"] == "user-set"
