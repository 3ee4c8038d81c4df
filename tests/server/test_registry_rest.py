"""The registry over HTTP: Carnet's SDK through the REST store reads what a direct store
reads (SQLite and PostgreSQL servers), raw requests get MLflow's JSON, status codes and
error codes, and registry writes need a write credential."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest

import carnet
from carnet.errors import (
    FilterError,
    ModelVersionNotFoundError,
    ReadOnlyError,
    RegisteredModelExistsError,
    RegisteredModelNotFoundError,
)
from tests.server.served import Server, assert_mlflow_error, call, carnet_server

RM = "/api/2.0/mlflow/registered-models"
MV = "/api/2.0/mlflow/model-versions"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_the_sdk_over_http_reads_as_the_direct_store(any_server: Server) -> None:
    carnet.set_tracking_uri(any_server.base)
    client = carnet.Client()
    name = unique("fraud")
    client.create_registered_model(name, tags={"team": "risk"}, description="d")
    first = carnet.register_model("runs:/abc123/model", name, tags={"k": "v"})
    second = client.create_model_version(name, "runs:/def456/model", description="two")
    client.set_registered_model_alias(name, "champion", first.version)
    client.set_model_version_tag(name, 2, "checked", "yes")
    direct = carnet.Client(any_server.uri, read_only=True)
    assert client.get_registered_model(name) == direct.get_registered_model(name)
    assert client.get_model_version(name, 2) == direct.get_model_version(name, 2)
    assert client.get_model_version_by_alias(name, "champion") == direct.get_model_version(name, 1)
    text = f"name = '{name}' AND version_number >= 1"
    assert client.search_model_versions(text) == direct.search_model_versions(text)
    assert list(client.search_registered_models(f"name LIKE '{name[:8]}%'")) == list(
        direct.search_registered_models(f"name LIKE '{name[:8]}%'")
    )
    page = client.search_model_versions(f"name = '{name}'", max_results=1)
    assert [v.version for v in page] == ["2"] and page.token
    rest = client.search_model_versions(f"name = '{name}'", page_token=page.token)
    assert [v.version for v in rest] == ["1"]
    assert second.description == "two" and client.get_latest_versions(name)[0].version == "2"
    assert client.get_model_version_download_uri(name, 1) == "runs:/abc123/model"

    with pytest.raises(RegisteredModelExistsError):
        client.create_registered_model(name)
    with pytest.raises(RegisteredModelNotFoundError):
        client.get_registered_model(unique("absent"))
    with pytest.raises(ModelVersionNotFoundError):
        client.get_model_version(name, 9)
    with pytest.raises(ModelVersionNotFoundError):
        client.get_model_version_by_alias(name, "ghost")
    with pytest.raises(FilterError, match="version_number"):
        client.search_model_versions("version_number = 'x'")

    renamed = unique("renamed")
    assert client.rename_registered_model(name, renamed).aliases == {"champion": "1"}
    client.delete_model_version(renamed, 1)
    assert direct.get_registered_model(renamed).aliases == {}
    client.delete_registered_model(renamed)
    with pytest.raises(RegisteredModelNotFoundError):
        direct.get_registered_model(renamed)
    reader = carnet.Client(any_server.base, read_only=True)
    with pytest.raises(ReadOnlyError):
        reader.create_registered_model(unique("no"))


def test_raw_requests_get_mlflows_json_and_codes(server: Server) -> None:
    name = unique("raw")
    created = call(
        server, "POST", f"{RM}/create", {"name": name, "tags": [{"key": "a", "value": "b"}]}
    )
    assert created.status == 200
    model = created.json()["registered_model"]
    assert model["name"] == name and model["tags"] == [{"key": "a", "value": "b"}]
    assert isinstance(model["creation_timestamp"], int)
    version = call(server, "POST", f"{MV}/create", {"name": name, "source": "runs:/r1/m"}).json()
    assert version["model_version"]["version"] == "1"
    assert version["model_version"]["status"] == "READY"
    assert version["model_version"]["run_id"] == "r1"
    assert (
        call(server, "POST", f"{RM}/alias", {"name": name, "alias": "c", "version": "1"}).status
        == 200
    )
    got = call(server, "GET", f"{RM}/alias?name={name}&alias=c").json()
    assert got["model_version"]["aliases"] == ["c"]
    searched = call(server, "GET", f"{MV}/search?filter=name%3D%27{name}%27&max_results=5").json()
    assert [v["version"] for v in searched["model_versions"]] == ["1"]
    assert call(server, "GET", f"{RM}/search?filter=name%3D%27nothing%27").json() == {}
    latest = call(server, "POST", f"{RM}/get-latest-versions", {"name": name}).json()
    assert [v["version"] for v in latest["model_versions"]] == ["1"]
    uri = call(server, "GET", f"{MV}/get-download-uri?name={name}&version=1").json()
    assert uri == {"artifact_uri": "runs:/r1/m"}

    again = call(server, "POST", f"{RM}/create", {"name": name})
    assert_mlflow_error(again, 400, "RESOURCE_ALREADY_EXISTS", server=server)
    missing = call(server, "GET", f"{RM}/get?name={unique('none')}")
    assert_mlflow_error(missing, 404, "RESOURCE_DOES_NOT_EXIST", server=server)
    no_version = call(server, "GET", f"{MV}/get?name={name}&version=7")
    assert_mlflow_error(no_version, 404, "RESOURCE_DOES_NOT_EXIST", server=server)
    bad_version = call(server, "GET", f"{MV}/get?name={name}&version=seven")
    assert_mlflow_error(bad_version, 400, "INVALID_PARAMETER_VALUE", server=server)
    bad_filter = call(server, "GET", f"{MV}/search?filter=colour%3D1")
    message = assert_mlflow_error(bad_filter, 400, "INVALID_PARAMETER_VALUE", server=server)
    assert "colour" in message
    no_name = call(server, "POST", f"{RM}/create", {})
    assert_mlflow_error(no_name, 400, "INVALID_PARAMETER_VALUE", server=server)
    stages = call(server, "POST", f"{MV}/transition-stage", {"name": name, "version": "1"})
    assert_mlflow_error(stages, 501, "NOT_IMPLEMENTED", server=server)
    wrong_method = call(server, "POST", f"{RM}/delete", {"name": name})
    assert wrong_method.status == 405
    assert call(server, "DELETE", f"{RM}/delete", {"name": name}).status == 200
    assert_mlflow_error(
        call(server, "GET", f"{RM}/get?name={name}"), 404, "RESOURCE_DOES_NOT_EXIST", server=server
    )


WRITE = secrets.token_urlsafe(24)
READ = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a write token and a read token."""
    folder = tmp_path_factory.mktemp("registry-auth")
    tokens = folder / "tokens.toml"
    tokens.write_text(
        f'[[tokens]]\nname = "ci"\ntoken = "{WRITE}"\naccess = "write"\n\n'
        f'[[tokens]]\nname = "viewer"\ntoken = "{READ}"\naccess = "read"\n'
    )
    with carnet_server(folder, env={"CARNET_SERVER_TOKENS_FILE": str(tokens)}) as running:
        yield running


def test_registry_writes_need_a_write_credential(guarded: Server) -> None:
    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    refused = call(guarded, "POST", f"{RM}/create", {"name": "m"}, headers=as_(READ))
    assert_mlflow_error(refused, 403, "PERMISSION_DENIED", server=guarded)
    nobody = call(guarded, "GET", f"{RM}/search")
    assert_mlflow_error(nobody, 401, "UNAUTHENTICATED", server=guarded)
    assert call(guarded, "GET", f"{RM}/search", headers=as_(READ)).json() == {}
    made = call(guarded, "POST", f"{RM}/create", {"name": "m"}, headers=as_(WRITE))
    assert made.status == 200
    alias = call(guarded, "DELETE", f"{RM}/alias", {"name": "m", "alias": "x"}, headers=as_(READ))
    assert_mlflow_error(alias, 403, "PERMISSION_DENIED", server=guarded)
    found = call(guarded, "GET", f"{RM}/search", headers=as_(READ)).json()
    assert [m["name"] for m in found["registered_models"]] == ["m"]
