"""The v4 -> v5 and v5 -> v6 upgrades rename tags written as ``carnet.*`` to ``mlflow.`` names.

v5 moved the start tags (``carnet.host`` -> ``mlflow.system.host`` ...), v6 the tags
about a run's life (``carnet.autolog`` -> MLflow's ``mlflow.autologging``, errors,
grid-search candidates, the server's heartbeat -> ``mlflow.carnet.*``). A store at an
older version, with runs that carry the former names, is upgraded in place: every
value survives under its new name, a run that already had the new name keeps both,
each step renames only its own tags, and nothing else changes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

import carnet
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION
from carnet.sysinfo import FORMER_TAG_NAMES

START_TAGS = {  # renamed by v5
    "carnet.source.command": ("mlflow.source.command", "python train.py --alpha 0.1"),
    "carnet.source.cwd": ("mlflow.source.cwd", "/srv/project"),
    "carnet.source.git.dirty": ("mlflow.source.git.dirty", "true"),
    "carnet.python": ("mlflow.system.python", "3.11.9"),
    "carnet.platform": ("mlflow.system.platform", "Linux-6.1-x86_64"),
    "carnet.host": ("mlflow.system.host", "gpu-07"),
}
LIFE_TAGS = {  # renamed by v6
    "carnet.error.type": ("mlflow.carnet.error.type", "ValueError"),
    "carnet.error.message": ("mlflow.carnet.error.message", "ValueError: diverged"),
    "carnet.autolog": ("mlflow.autologging", "sklearn"),
    "carnet.autolog.candidate": ("mlflow.carnet.autolog.candidate", "3"),
    "carnet.autolog.best_candidate": ("mlflow.carnet.autolog.best_candidate", "true"),
    "carnet.autolog.candidates": ("mlflow.carnet.autolog.candidates", "12"),
    "carnet.heartbeat": ("mlflow.carnet.heartbeat", "server"),
}
STEPS = {5: START_TAGS, 6: LIFE_TAGS}


def set_version(uri: str, version: int) -> None:
    """Mark the store as written by an older version (the v5 and v6 steps change no table;
    the registry tables v7 adds are already there, made IF NOT EXISTS again)."""
    engine = create_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM carnet_schema"))
        conn.execute(
            text("INSERT INTO carnet_schema (version, migrated_at) VALUES (:v, 0)"), {"v": version}
        )
    engine.dispose()


def test_the_readers_know_every_former_name() -> None:
    assert {new: old for old, (new, _) in {**START_TAGS, **LIFE_TAGS}.items()} == FORMER_TAG_NAMES


@pytest.mark.parametrize("found", [4, 5])
def test_former_tags_are_renamed_without_loss(any_uri: str, found: int) -> None:
    assert SCHEMA_VERSION == 9, "this test writes v4 and v5 stores; add newer steps' renames"
    former = {old: value for old, (_, value) in {**START_TAGS, **LIFE_TAGS}.items()}
    client = carnet.Client(any_uri)
    exp = client.create_experiment("old-tags")
    old = client.create_run(exp, tags={**former, "team": "med"}, run_name="old")
    both = client.create_run(
        exp,
        tags={
            "carnet.host": "old-host",
            "mlflow.system.host": "new-host",
            "carnet.autolog": "old",
            "mlflow.autologging": "new",
        },
        run_name="both",
    )
    dispose_engines()
    set_version(any_uri, found)

    assert upgrade_store(any_uri) == (found, SCHEMA_VERSION)
    client = carnet.Client(any_uri)
    tags = client.get_run(old.info.run_id).data.tags
    for step, names in STEPS.items():
        for former_name, (new, value) in names.items():
            if step > found:
                assert tags[new] == value and former_name not in tags
            else:  # a step the store had already taken: its names are the user's now
                assert tags[former_name] == value and new not in tags
    assert tags["team"] == "med" and tags["mlflow.runName"] == "old"
    kept = client.get_run(both.info.run_id).data.tags
    assert kept["mlflow.autologging"] == "new" and kept["carnet.autolog"] == "old"
    assert kept["mlflow.system.host"] == "new-host" and kept["carnet.host"] == "old-host"
    found_runs = client.search_runs([exp], "tags.`mlflow.autologging` = 'sklearn'")
    assert [r.info.run_id for r in found_runs] == [old.info.run_id]
    report = check_store(any_uri)
    assert report.ok, report.format()


def test_a_current_store_is_left_alone(any_uri: str) -> None:
    """A tag the user names ``carnet.host`` or ``carnet.autolog`` on a current store is theirs."""
    client = carnet.Client(any_uri)
    exp = client.create_experiment("current")
    run = client.create_run(exp, tags={"carnet.host": "user-set", "carnet.autolog": "mine"})
    dispose_engines()
    assert upgrade_store(any_uri) == (SCHEMA_VERSION, SCHEMA_VERSION)
    tags = carnet.Client(any_uri).get_run(run.info.run_id).data.tags
    assert tags["carnet.host"] == "user-set" and tags["carnet.autolog"] == "mine"
