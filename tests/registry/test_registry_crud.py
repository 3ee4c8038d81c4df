"""Registered models, versions, tags and aliases through ``Client``, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

import carnet
from carnet.errors import (
    InvalidInputError,
    ModelVersionNotFoundError,
    RegisteredModelExistsError,
    RegisteredModelNotFoundError,
)


def test_create_get_and_versions_count_up(client: carnet.Client) -> None:
    model = client.create_registered_model("fraud", tags={"team": "risk"}, description="d1")
    assert (model.name, model.description, model.tags) == ("fraud", "d1", {"team": "risk"})
    assert model.latest_versions == [] and model.aliases == {}
    v1 = client.create_model_version("fraud", "runs:/abc123/model", tags={"k": "v"})
    v2 = client.create_model_version("fraud", "runs:/def456/model", description="second")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.run_id == "abc123" and v1.source == "runs:/abc123/model"
    assert v1.status == "READY" and v1.current_stage == "None" and v1.tags == {"k": "v"}
    got = client.get_registered_model("fraud")
    assert [v.version for v in got.latest_versions] == ["2"]
    assert got.last_updated_timestamp >= got.creation_timestamp
    assert client.get_model_version("fraud", 2).description == "second"
    assert client.get_model_version("fraud", "1") == v1
    assert client.get_latest_versions("fraud") == [client.get_model_version("fraud", 2)]
    assert client.get_latest_versions("fraud", stages=["Production"]) == []
    assert client.get_model_version_download_uri("fraud", 1) == "runs:/abc123/model"


def test_names_are_unique_and_missing_ones_say_so(client: carnet.Client) -> None:
    client.create_registered_model("a")
    with pytest.raises(RegisteredModelExistsError, match="already exists") as info:
        client.create_registered_model("a")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(RegisteredModelNotFoundError) as missing:
        client.get_registered_model("b")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(RegisteredModelNotFoundError):
        client.create_model_version("b", "runs:/x/model")
    with pytest.raises(ModelVersionNotFoundError):
        client.get_model_version("a", 1)


def test_rename_carries_versions_tags_and_aliases(client: carnet.Client) -> None:
    client.create_registered_model("old", tags={"t": "1"})
    client.create_model_version("old", "runs:/r1/model", tags={"vt": "x"})
    client.set_registered_model_alias("old", "champion", 1)
    client.create_registered_model("taken")
    with pytest.raises(RegisteredModelExistsError):
        client.rename_registered_model("old", "taken")
    renamed = client.rename_registered_model("old", "new")
    assert renamed.name == "new" and renamed.tags == {"t": "1"}
    assert renamed.aliases == {"champion": "1"}
    version = client.get_model_version_by_alias("new", "champion")
    assert (version.name, version.tags, version.aliases) == ("new", {"vt": "x"}, ["champion"])
    with pytest.raises(RegisteredModelNotFoundError):
        client.get_registered_model("old")


def test_deletes_cascade_and_numbers_are_never_reused(client: carnet.Client) -> None:
    client.create_registered_model("m")
    for i in range(3):
        client.create_model_version("m", f"runs:/r{i}/model", tags={"i": str(i)})
    client.set_registered_model_alias("m", "champion", 3)
    client.set_registered_model_alias("m", "old", 1)
    client.delete_model_version("m", 3)
    assert client.get_registered_model("m").aliases == {"old": "1"}
    with pytest.raises(ModelVersionNotFoundError):
        client.get_model_version_by_alias("m", "champion")
    assert client.create_model_version("m", "runs:/r9/model").version == "4"
    client.delete_registered_model("m")
    assert client.search_model_versions() == []
    client.create_registered_model("m")
    fresh = client.create_model_version("m", "runs:/r/model")
    assert fresh.version == "1" and fresh.tags == {} and fresh.aliases == []


def test_tags_set_overwrite_and_delete(client: carnet.Client) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", "runs:/r/model")
    client.set_registered_model_tag("m", "team", "a")
    client.set_registered_model_tag("m", "team", "b")
    client.set_model_version_tag("m", "1", "stage", 3)
    assert client.get_registered_model("m").tags == {"team": "b"}
    assert client.get_model_version("m", 1).tags == {"stage": "3"}
    client.delete_registered_model_tag("m", "team")
    client.delete_model_version_tag("m", 1, "stage")
    assert client.get_registered_model("m").tags == {}
    assert client.get_model_version("m", 1).tags == {}


def test_aliases_move_and_updates_change_descriptions(client: carnet.Client) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", "runs:/r1/model")
    client.create_model_version("m", "runs:/r2/model")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "champion", "2")
    assert client.get_model_version_by_alias("m", "champion").version == "2"
    assert client.get_model_version("m", 1).aliases == []
    with pytest.raises(ModelVersionNotFoundError):
        client.set_registered_model_alias("m", "x", 7)
    client.delete_registered_model_alias("m", "champion")
    assert client.get_registered_model("m").aliases == {}
    assert client.update_registered_model("m", "new text").description == "new text"
    assert client.update_model_version("m", 1, "v1 text").description == "v1 text"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_registered_model("a/b"),
        lambda c: c.create_registered_model("a:b"),
        lambda c: c.create_registered_model(" "),
        lambda c: c.create_registered_model("x" * 257),
        lambda c: c.create_registered_model("m", tags={"bad key!": "v"}),
        lambda c: c.create_registered_model("m", tags={f"k{i}": "v" for i in range(101)}),
        lambda c: c.create_registered_model("m", description="d" * 5001),
        lambda c: c.create_model_version("m", ""),
        lambda c: c.set_registered_model_alias("m", "latest", 1),
        lambda c: c.set_registered_model_alias("m", "v3", 1),
        lambda c: c.set_registered_model_alias("m", "a b", 1),
        lambda c: c.get_model_version("m", 0),
        lambda c: c.get_model_version("m", "one"),
        lambda c: c.set_model_version_tag("m", 1, "k", "v" * 100_001),
        lambda c: c.search_registered_models(max_results=1001),
        lambda c: c.search_model_versions(max_results=0),
    ],
)
def test_bad_arguments_raise_and_write_nothing(client: carnet.Client, call: object) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", "runs:/r/model")
    before = (client.search_registered_models(), client.search_model_versions())
    with pytest.raises(InvalidInputError):
        call(client)  # type: ignore[operator]
    assert (client.search_registered_models(), client.search_model_versions()) == before


def test_register_model_creates_the_model_once(tracking: str) -> None:
    first = carnet.register_model("runs:/abc/model", "auto", tags={"by": "fluent"})
    second = carnet.register_model("runs:/def/model", "auto")
    assert (first.version, second.version, first.tags) == ("1", "2", {"by": "fluent"})
    assert [m.name for m in carnet.search_registered_models()] == ["auto"]
    found = carnet.search_model_versions(filter_string="name = 'auto'", max_results=1)
    assert [v.version for v in found] == ["2"]


def test_a_read_only_client_refuses_registry_writes(client: carnet.Client) -> None:
    client.create_registered_model("m")
    reader = carnet.Client(client.tracking_uri, read_only=True)
    with pytest.raises(carnet.CarnetError, match="read-only"):
        reader.create_model_version("m", "runs:/r/model")
    assert reader.get_registered_model("m").latest_versions == []


def test_registry_uri_may_only_name_the_tracking_store(client: carnet.Client) -> None:
    same = carnet.Client(client.tracking_uri, registry_uri=client.tracking_uri)
    same.create_registered_model("shared")
    assert client.get_registered_model("shared").name == "shared"
    with pytest.raises(InvalidInputError, match="registry_uri"):
        carnet.Client(client.tracking_uri, registry_uri="sqlite:///elsewhere.db")


def test_concurrent_registrations_get_distinct_numbers(client: carnet.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client.create_registered_model("busy")

    def register(i: int) -> str:
        return (
            carnet.Client(client.tracking_uri).create_model_version("busy", f"runs:/r{i}/m").version
        )

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(int(v) for v in pool.map(register, range(20)))
    assert numbers == list(range(1, 21))
    assert client.get_latest_versions("busy")[0].version == "20"
