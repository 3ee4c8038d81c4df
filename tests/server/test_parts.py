"""The server's parts on their own, without a server process: artifact path checks, the
tokens file, the dispatcher's error handling, the SQLite writer thread, the CLI's refusals."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.requests import Request
from starlette.responses import Response

import carnet
from carnet.cli import cli
from carnet.cli.server import artifact_folder
from carnet.errors import ConfigurationError, RunNotFoundError, StoreError
from carnet.server import wire
from carnet.server.auth import Access, Authenticator, load
from carnet.server.endpoints import Context, Endpoint, ServerState, dispatcher
from carnet.server.errors import ApiError
from carnet.server.parsing import checked_path
from carnet.server.settings import ServerSettings
from carnet.server.writes import BlockingCalls, WriterThread

TOKEN = "t" * 24
READ_TOKEN = "r" * 24


# -- artifact paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "1/abc/artifacts/a.txt",
        "1/abc/artifacts/deep/er/b.png",
        "1/abc/artifacts",
        "x/y%20z",
        "a..b/c",
    ],
)
def test_paths_inside_are_kept(path: str) -> None:
    assert checked_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "%2e%2e/x",
        "%252e%252e/x",
        "%25252e%25252e/x",
        "a%2f..%2f..%2fx",
        "..\\x",
        "a\\..\\..\\x",
        "C:/Windows",
        "c:x",
        "a/\x00/b",
        "%00",
        "%2fetc/passwd",
        "%2525252525252e",
    ],
)
def test_paths_that_leave_are_refused(path: str) -> None:
    with pytest.raises(ApiError) as refused:
        checked_path(path)
    assert refused.value.status == 400 and refused.value.error_code == "INVALID_PARAMETER_VALUE"


def test_wire_spells_special_floats_as_protobuf_does() -> None:
    assert [wire.number(v) for v in (float("nan"), float("inf"), -float("inf"), 1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    assert wire.status("CRASHED") == "RUNNING" and wire.status("KILLED") == "KILLED"


# -- the tokens file ------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_tokens_from_toml_json_and_text(tmp_path: Path) -> None:
    digest = hashlib.sha256(READ_TOKEN.encode()).hexdigest()
    toml = tmp_path / "t.toml"
    toml.write_text(
        f'[[tokens]]\ntoken = "{TOKEN}"\naccess = "write"\n'
        f'[[tokens]]\nname = "viewer"\ntoken = "sha256:{digest}"\naccess = "read"\n'
        '[[users]]\nname = "bob"\npassword = "correct horse battery"\naccess = "read"\n'
    )
    as_json = tmp_path / "t.json"
    as_json.write_text(
        json.dumps(
            {
                "tokens": [
                    {"token": TOKEN, "access": "write"},
                    {"token": f"sha256:{digest}", "access": "read"},
                ]
            }
        )
    )
    text = tmp_path / "tokens"
    text.write_text(f"# comment\n\nwrite {TOKEN}\nread   sha256:{digest}\n")
    for path in (toml, as_json, text):
        auth = load(path)
        assert auth.enabled
        writer = auth.identify(f"Bearer {TOKEN}")
        reader = auth.identify(f"bearer  {READ_TOKEN} ")
        assert writer is not None and writer.access is Access.WRITE
        assert reader is not None and reader.access is Access.READ
        assert auth.identify(f"Bearer {TOKEN}x") is None
        assert auth.identify(None) is None and auth.identify("") is None
    auth = load(toml)
    bob = auth.identify(_basic("bob", "correct horse battery"))
    assert bob is not None and (bob.name, bob.access) == ("bob", Access.READ)
    assert auth.identify(_basic("bob", "wrong horse battery")) is None
    assert auth.identify(_basic("eve", "correct horse battery")) is None
    assert auth.identify(f"Bearer {'correct horse battery'}") is None  # a password is no token
    viewer = auth.identify(f"Bearer {READ_TOKEN}")
    assert viewer is not None and viewer.name == "viewer"


def test_no_tokens_file_lets_anyone_write() -> None:
    anyone = Authenticator().identify(None)
    assert anyone is not None and anyone.access is Access.WRITE


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("t.toml", '[[tokens]]\ntoken = "short"\naccess = "write"\n', "can be guessed"),
        ("t.toml", f'[[tokens]]\ntoken = "{TOKEN}"\naccess = "admin"\n', "'read' or 'write'"),
        ("t.toml", f'[[tokens]]\ntoken = "{TOKEN}"\n', "'read' or 'write'"),
        (
            "t.toml",
            '[[users]]\nname = "a:b"\npassword = "long enough pw"\naccess = "read"\n',
            "name",
        ),
        (
            "t.toml",
            '[[users]]\nname = "al"\npassword = "short"\naccess = "read"\n',
            "can be guessed",
        ),
        ("t.toml", "[[tokens]\n", "does not parse"),
        ("t.toml", "[admins]\n", "unknown section"),
        ("t.toml", "", "no token"),
        ("t.json", "[]", "JSON object"),
        ("t.json", '{"tokens": {"a": "b"}}', "list"),
        ("t.txt", f"write {TOKEN} extra\n", "<read|write> <token>"),
        ("t.txt", "# nothing\n", "no token"),
    ],
)
def test_an_unusable_tokens_file_stops_the_start(
    tmp_path: Path, name: str, content: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigurationError) as refused:
        load(path)
    assert fragment in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_a_missing_tokens_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the tokens file"):
        load(tmp_path / "absent.toml")


# -- the dispatcher -------------------------------------------------------------------------


@pytest.fixture
def state(uri: str, tmp_path: Path) -> ServerState:
    settings = ServerSettings(
        uri=uri, artifact_root=tmp_path / "artifacts", dashboard_script=tmp_path / "app.py"
    )
    return ServerState(
        settings=settings,
        client=carnet.Client(uri),
        auth=Authenticator(),
        calls=BlockingCalls(single_writer=True),
        hide=(str(tmp_path),),
    )


def _request(method: str = "GET", path: str = "/api/2.0/mlflow/x") -> Request:
    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, receive)


def _dispatch(state: ServerState, handler: Any, method: str = "GET") -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        result: Response = await handler(request, ctx)
        return result

    endpoint = Endpoint("GET", "/x", handle)
    return asyncio.run(dispatcher(state, [endpoint])(_request(method)))


def test_an_unexpected_error_is_logged_and_answered_generically(
    state: ServerState, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: Request, ctx: Context) -> Response:
        raise RuntimeError(f"secret detail in {tmp_path}")

    with caplog.at_level(logging.ERROR, logger="carnet.server"):
        response = _dispatch(state, broken)
    assert response.status_code == 500
    body = json.loads(bytes(response.body))
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "secret" not in body["message"] and str(tmp_path) not in body["message"]
    assert "secret detail" in caplog.text and "Traceback" in caplog.text


def test_carnet_errors_keep_their_code_and_lose_server_paths(
    state: ServerState, tmp_path: Path
) -> None:
    async def missing(request: Request, ctx: Context) -> Response:
        raise RunNotFoundError(f"no run with id 'x' (looked in {tmp_path}/carnet.db)")

    response = _dispatch(state, missing)
    body = json.loads(bytes(response.body))
    assert (response.status_code, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert str(tmp_path) not in body["message"] and "<server>" in body["message"]

    async def busy(request: Request, ctx: Context) -> Response:
        raise StoreError(f"database is locked at {tmp_path}")

    response = _dispatch(state, busy)
    body = json.loads(bytes(response.body))
    assert (response.status_code, body["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
    assert "locked" not in body["message"]


def test_a_wrong_method_is_refused_before_the_handler(state: ServerState) -> None:
    called: list[bool] = []

    async def handler(request: Request, ctx: Context) -> Response:
        called.append(True)
        return Response("")

    response = _dispatch(state, handler, method="DELETE")
    assert response.status_code == 405 and called == []


# -- the writer thread ----------------------------------------------------------------------


def test_writes_run_in_order_on_one_thread() -> None:
    writer = WriterThread()
    seen: list[tuple[int, str]] = []

    async def main() -> list[int]:
        async def one(n: int) -> int:
            return await writer.run(lambda: seen.append((n, threading.current_thread().name)) or n)

        return list(await asyncio.gather(*(one(n) for n in range(50))))

    try:
        assert asyncio.run(main()) == list(range(50))
    finally:
        writer.close()
    assert [n for n, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"carnet-server-writer"}


def test_a_failed_write_raises_in_its_request_and_the_writer_goes_on() -> None:
    writer = WriterThread()

    def fail() -> None:
        raise RunNotFoundError("no run with id 'x'")

    async def main() -> int:
        with pytest.raises(RunNotFoundError):
            await writer.run(fail)
        return await writer.run(lambda: 7)

    try:
        assert asyncio.run(main()) == 7
    finally:
        writer.close()


def test_a_full_write_queue_answers_503() -> None:
    writer = WriterThread(max_pending=1)
    release = threading.Event()
    started = threading.Event()

    def block() -> None:
        started.set()
        release.wait(30)

    async def main() -> None:
        first = asyncio.ensure_future(writer.run(block))
        while not started.is_set():
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(writer.run(lambda: None))  # waits in the queue
        await asyncio.sleep(0)
        with pytest.raises(ApiError) as refused:
            await writer.run(lambda: None)
        assert (refused.value.status, refused.value.error_code) == (503, "TEMPORARILY_UNAVAILABLE")
        release.set()
        await first
        await second

    try:
        asyncio.run(main())
    finally:
        release.set()
        writer.close()


# -- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--workers", "2"], "needs PostgreSQL"),
        (["--ssl-keyfile", "key.pem"], "--ssl-certfile together"),
        (["--artifacts", "gs://bucket/x"], "local (or mounted) folder"),
    ],
)
def test_the_cli_refuses_before_serving(uri: str, args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(cli, ["server", "--db", uri, *args])
    assert result.exit_code == 1
    assert fragment in result.output


def test_the_servers_store_is_never_the_clients_mlflow_tracking_uri(tmp_path: Path) -> None:
    """An operator's shell often exports MLFLOW_TRACKING_URI=http://this-server: the server's
    store is --db, else CARNET_TRACKING_URI, else ./carnet.db, and never another server."""
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "CARNET_TRACKING_URI": None}
    with contextlib.chdir(tmp_path):
        result = CliRunner().invoke(cli, ["server", "--workers", "2"], env=env)
    assert result.exit_code == 1 and "needs PostgreSQL" in result.output  # ./carnet.db
    result = CliRunner().invoke(cli, ["server", "--db", "http://127.0.0.1:9"], env=env)
    assert result.exit_code == 1 and "is another server" in result.output


def test_the_cli_refuses_an_unusable_tokens_file(uri: str, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("write short\n")
    result = CliRunner().invoke(cli, ["server", "--db", uri, "--auth-file", str(tokens)])
    assert result.exit_code == 1 and "can be guessed" in result.output
    result = CliRunner().invoke(
        cli, ["server", "--db", uri], env={"CARNET_SERVER_TOKENS_FILE": str(tmp_path / "none")}
    )
    assert result.exit_code == 1 and "cannot read the tokens file" in result.output


def test_the_artifact_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = f"sqlite:///{tmp_path / 'c.db'}"
    assert artifact_folder(None, store) == tmp_path / "carnet-artifacts"
    assert artifact_folder("mlflow-artifacts:/", store) == tmp_path / "carnet-artifacts"
    assert artifact_folder(f"file://{tmp_path}/a%20b", store) == tmp_path / "a b"
    assert artifact_folder(str(tmp_path / "x"), store) == tmp_path / "x"
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "env"))
    assert artifact_folder(None, store) == tmp_path / "env"
    with pytest.raises(ConfigurationError):
        artifact_folder("file://otherhost/x", store)
