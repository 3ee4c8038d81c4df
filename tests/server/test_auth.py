"""Tokens and users: the real MLflow client with each kind of credential, and raw requests
without one. A write token writes, a read token reads and is refused writes (403), a
missing or wrong credential is refused (401); a refused request changes nothing."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.errors import ConfigurationError, ReadOnlyError
from tests.server.served import Server, assert_mlflow_error, call, carnet_server, run_mlflow

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
WRITE = secrets.token_urlsafe(24)
READ = secrets.token_urlsafe(24)
USER, PASSWORD = "alice", secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose tokens file (TOML) has a write token, a read token (stored as its
    SHA-256 digest) and a user who may write; named by the environment variable."""
    folder = tmp_path_factory.mktemp("auth")
    tokens = folder / "tokens.toml"
    read_digest = hashlib.sha256(READ.encode()).hexdigest()
    tokens.write_text(
        f'[[tokens]]\nname = "ci"\ntoken = "{WRITE}"\naccess = "write"\n\n'
        f'[[tokens]]\nname = "viewer"\ntoken = "sha256:{read_digest}"\naccess = "read"\n\n'
        f'[[users]]\nname = "{USER}"\npassword = "{PASSWORD}"\naccess = "write"\n'
    )
    with carnet_server(folder, env={"CARNET_SERVER_TOKENS_FILE": str(tokens)}) as running:
        yield running


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_the_mlflow_client_with_each_credential(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets_json = (
        f'{{"write": "{WRITE}", "read": "{READ}", "user": "{USER}", "password": "{PASSWORD}"}}'
    )
    result: dict[str, Any] = run_mlflow(server, "auth.py", tmp_path, secrets_json)
    everything = {"get_run", "search_runs", "list_artifacts", "log_metric", "create_experiment"}
    results = result["results"]
    assert results["write_token"] == dict.fromkeys(everything, "ok")
    assert results["user"] == dict.fromkeys(everything, "ok")
    assert results["read_token"] == {
        "get_run": "ok",
        "search_runs": "ok",
        "list_artifacts": "ok",
        "log_metric": "PERMISSION_DENIED",
        "create_experiment": "PERMISSION_DENIED",
    }
    refused = {
        "get_run": "UNAUTHENTICATED",
        "search_runs": "UNAUTHENTICATED",
        "list_artifacts": "UNAUTHENTICATED",  # its get_run is refused first
        "log_metric": "UNAUTHENTICATED",
        "create_experiment": "UNAUTHENTICATED",
    }
    for credential in ("none", "wrong_token", "wrong_password"):
        assert results[credential] == refused, credential
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(server.artifacts))
    store = carnet.Client(server.uri, read_only=True)
    run = store.get_run(result["run_id"])
    assert sorted(run.data.metrics) == ["m_user", "m_write_token"]
    names = sorted(e.name for e in store.search_experiments())
    assert names == ["Default", "guarded", "new-user", "new-write_token"]
    assert store.read_artifact(result["run_id"], "notes.txt") == b"secret notes"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _bearer("not-a-token-of-this-server"),
        _bearer(""),
        {"Authorization": "Token " + WRITE},
        _basic(USER, "wrong password"),
        _basic("mallory", PASSWORD),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
)
def test_writes_without_a_valid_credential_are_401(server: Server, headers: dict[str, str]) -> None:
    store = carnet.Client(server.uri, read_only=True)
    before = store.data_version()
    answer = call(server, "POST", f"{API}/experiments/create", {"name": "sneaky"}, headers=headers)
    message = assert_mlflow_error(answer, 401, "UNAUTHENTICATED", server=server)
    assert "MLFLOW_TRACKING_TOKEN" in message
    assert answer.headers.get("www-authenticate", "").startswith("Basic")
    for path in (
        f"{API}/experiments/get?experiment_id=0",
        f"{ARTIFACTS}?path=0/{'a' * 32}/artifacts",
    ):
        answer = call(server, "GET", path, headers=headers)
        assert_mlflow_error(answer, 401, "UNAUTHENTICATED", server=server)
    assert WRITE not in answer.body.decode() and PASSWORD not in answer.body.decode()
    assert store.data_version() == before


def test_a_read_token_cannot_write(server: Server) -> None:
    store = carnet.Client(server.uri, read_only=True)
    before = store.data_version()
    answer = call(server, "POST", f"{API}/experiments/create", {"name": "x"}, headers=_bearer(READ))
    assert "viewer" in assert_mlflow_error(answer, 403, "PERMISSION_DENIED", server=server)
    path = f"{ARTIFACTS}/0/abc/artifacts/f.txt"
    answer = call(server, "PUT", path, raw=b"x", content_type=None, headers=_bearer(READ))
    assert_mlflow_error(answer, 403, "PERMISSION_DENIED", server=server)
    assert store.data_version() == before
    found = call(server, "POST", f"{API}/experiments/search", {}, headers=_bearer(READ))
    assert found.status == 200 and found.json()["experiments"]


def test_unserved_endpoints_ask_for_credentials_first(server: Server) -> None:
    answer = call(server, "GET", f"{API}/traces")
    assert_mlflow_error(answer, 401, "UNAUTHENTICATED", server=server)
    answer = call(server, "GET", f"{API}/traces", headers=_bearer(READ))
    assert_mlflow_error(answer, 501, "NOT_IMPLEMENTED", server=server)


def test_health_server_info_and_the_dashboard_need_no_token(server: Server) -> None:
    assert call(server, "GET", "/health").body == b"OK"
    info = call(server, "GET", "/api/3.0/mlflow/server-info")
    assert info.status == 200 and info.json()["store_type"] == "SqlStore"
    page = call(server, "GET", "/")
    assert page.status == 200 and b"<html" in page.body.lower()


def test_carnet_sdk_sends_each_credential(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"CARNET_TRACKING_{name}", raising=False)
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    with pytest.raises(ConfigurationError, match="MLFLOW_TRACKING_TOKEN"):
        carnet.Client(server.base).get_experiment_by_name("Default")
    monkeypatch.setenv("CARNET_TRACKING_TOKEN", WRITE)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "not-the-token")  # Carnet's name wins
    experiment_id = carnet.Client(server.base).create_experiment("sdk-credentials")
    monkeypatch.delenv("CARNET_TRACKING_TOKEN")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    run_id = carnet.Client(server.base).create_run(experiment_id).info.run_id
    monkeypatch.setenv("CARNET_TRACKING_TOKEN", READ)  # a token wins over a user
    reader = carnet.Client(server.base)
    assert reader.get_run(run_id).info.experiment_id == experiment_id
    with pytest.raises(ReadOnlyError, match="viewer"):
        reader.log_metric(run_id, "m", 1.0)
    assert carnet.Client(server.uri).get_run(run_id).data.metrics == {}


def test_a_tracking_uri_with_a_user_and_password_sends_them(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``http://user:password@host:port`` is a Basic credential, as browsers and MLflow's
    client (through requests) take it; it wins over a token in the environment, and no
    message shows the password."""
    for name in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"CARNET_TRACKING_{name}", raising=False)
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    monkeypatch.setenv("CARNET_TRACKING_TOKEN", READ)
    host = server.base.removeprefix("http://")
    quoted = PASSWORD.replace("%", "%25").replace("@", "%40").replace(":", "%3A")
    writer = carnet.Client(f"http://{USER}:{quoted}@{host}")
    experiment_id = writer.create_experiment("uri-credentials")
    assert writer.get_experiment(experiment_id).name == "uri-credentials"
    wrong = carnet.Client(f"http://{USER}:not-{quoted}@{host}")
    with pytest.raises(ConfigurationError) as refused:
        wrong.create_experiment("refused")
    assert "not-" not in str(refused.value)
    assert carnet.Client(server.uri).get_experiment_by_name("refused") is None
