"""A v6 store (before the registry) is upgraded in place to v7: runs survive, the registry works."""

from __future__ import annotations

from sqlalchemy import create_engine, text

import carnet
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store, upgrade_store
from carnet.store.schema import SCHEMA_VERSION

V7_TABLES = (
    "registered_model_aliases",
    "model_version_tags",
    "registered_model_tags",
    "model_versions",
    "registered_models",
)


def make_v6(uri: str) -> None:
    """Undo the v6 -> v7 step on a current store: drop the registry, record version 6."""
    engine = create_engine(uri)
    with engine.begin() as conn:
        for table in V7_TABLES:
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("DELETE FROM carnet_schema"))
        conn.execute(text("INSERT INTO carnet_schema (version, migrated_at) VALUES (6, 0)"))
    engine.dispose()


def test_a_v6_store_upgrades_in_place(any_uri: str) -> None:
    assert SCHEMA_VERSION >= 7
    client = carnet.Client(any_uri)
    exp = client.create_experiment("kept")
    run = client.create_run(exp, run_name="r")
    client.log_param(run.info.run_id, "alpha", 0.5)
    dispose_engines()
    make_v6(any_uri)

    assert upgrade_store(any_uri) == (6, SCHEMA_VERSION)
    assert upgrade_store(any_uri) == (SCHEMA_VERSION, SCHEMA_VERSION)
    client = carnet.Client(any_uri)
    assert client.get_run(run.info.run_id).data.params == {"alpha": "0.5"}
    client.create_registered_model("m")
    version = client.create_model_version("m", f"runs:/{run.info.run_id}/model")
    assert version.version == "1" and version.run_id == run.info.run_id
    report = check_store(any_uri)
    assert report.ok, report.format()


def test_opening_a_v6_store_upgrades_it(any_uri: str) -> None:
    carnet.Client(any_uri)
    dispose_engines()
    make_v6(any_uri)
    client = carnet.Client(any_uri)
    assert client.search_registered_models() == []
