"""``carnet server`` as an operator starts it: a real process on a free localhost port,
and the two ways tests talk to it: raw HTTP, and the real ``mlflow`` client in its own
interpreter (``$CARNET_MLFLOW_PYTHON``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stop_process_group

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
START_TIMEOUT_S = 120
MLFLOW_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running server: its URL, its store, its artifact folder and its log."""

    base: str
    uri: str
    artifacts: Path
    folder: Path
    log: Path
    #: The certificate to trust when the server speaks HTTPS.
    ca: Path | None = None
    #: The server's process (the leader of its process group).
    process: subprocess.Popen[bytes] | None = field(default=None, compare=False, repr=False)

    def context(self) -> ssl.SSLContext | None:
        """What urllib needs to trust the server's certificate (None for plain HTTP)."""
        return None if self.ca is None else ssl.create_default_context(cafile=str(self.ca))

    def url(self, path: str) -> str:
        return self.base + path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_healthy(
    base: str, proc: subprocess.Popen[bytes], log: Path, context: ssl.SSLContext | None
) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"carnet server exited with {proc.returncode}:\n{log.read_text()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base}/health", timeout=2, context=context) as response,
        ):
            if response.read() == b"OK":
                return
        time.sleep(0.3)
    raise AssertionError(f"carnet server not healthy in {START_TIMEOUT_S} s:\n{log.read_text()}")


@contextlib.contextmanager
def carnet_server(
    folder: Path,
    *,
    uri: str | None = None,
    args: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    mlflow_flags: bool = False,
    ca: Path | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    """Run ``carnet server`` on a store in ``folder`` (or ``uri``) until the block ends.

    ``mlflow_flags`` spells the store and artifact options as MLflow's server does;
    ``ca`` is the certificate to trust when ``args`` make it serve HTTPS; ``port`` is
    a free one unless given (a restarted server takes its predecessor's).
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    store = uri or f"sqlite:///{folder / 'carnet.db'}"
    artifacts = folder / "artifacts"
    names = (
        ("--backend-store-uri", "--artifacts-destination")
        if mlflow_flags
        else ("--db", "--artifacts")
    )
    command = [sys.executable, "-m", "carnet.cli", "server", names[0], store, names[1],
               str(artifacts), "--host", "127.0.0.1", "--port", str(port), *args]  # fmt: skip
    log = folder / f"server-{port}.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "STREAMLIT_"))}
    child_env.update(env or {})
    with log.open("wb") as out:
        proc = subprocess.Popen(  # a fixed argv, no shell
            command, stdout=out, stderr=subprocess.STDOUT, env=child_env, cwd=folder,
            start_new_session=True,
        )  # fmt: skip
    base = f"{'https' if ca else 'http'}://127.0.0.1:{port}"
    running = Server(
        base=base, uri=store, artifacts=artifacts, folder=folder, log=log, ca=ca, process=proc
    )
    try:
        _wait_healthy(base, proc, log, running.context())
        yield running
    finally:
        stop_process_group(proc, timeout=30)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """One request: ``body`` sent as JSON, or ``raw`` bytes as they are."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(server.url(path), data=data, method=method)
    if data is not None and content_type is not None:
        request.add_header("Content-Type", content_type)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=120, context=server.context()) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers), exc.read())


def kill(server: Server) -> None:
    """Kill the server at once (SIGKILL, no shutdown), as a crash or an OOM kill would."""
    assert server.process is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)


def mlflow_python() -> str:
    """MLflow's interpreter; the test skips without it (and fails under CI, which sets it)."""
    python = os.environ.get("CARNET_MLFLOW_PYTHON")
    if not python:
        pytest.skip("CARNET_MLFLOW_PYTHON is not set (an interpreter with mlflow installed)")
    return python


def run_mlflow(
    server: Server, script: str, folder: Path, *args: str, env: Mapping[str, str] | None = None
) -> Any:
    """Run ``scripts/<script>`` with MLflow's interpreter against ``server``; its last line
    of output is JSON, returned parsed."""
    python = mlflow_python()
    folder.mkdir(parents=True, exist_ok=True)
    child_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARNET_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    child_env.update(
        {
            "MLFLOW_TRACKING_URI": server.base,
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "MPLBACKEND": "Agg",
            **(env or {}),
        }
    )
    done = subprocess.run(  # a fixed argv, no shell
        [python, str(SCRIPTS / script), *args],
        capture_output=True, env=child_env, cwd=folder, timeout=MLFLOW_TIMEOUT_S, check=False,
    )  # fmt: skip
    out = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        raise AssertionError(
            f"{script} failed ({done.returncode}):\n{out}\n{done.stderr.decode(errors='replace')}"
            f"\n--- server log ---\n{server.log_text()}"
        )
    return json.loads(out.strip().splitlines()[-1])


def assert_mlflow_error(answer: Answer, status: int, code: str, *, server: Server) -> str:
    """The answer is MLflow's error JSON with ``status`` and ``code``, and shows nothing of
    the server's insides; returns the message."""
    assert answer.status == status, (answer.status, answer.body[:500])
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    data = answer.json()
    assert set(data) == {"error_code", "message"}, data
    assert data["error_code"] == code, data
    text = answer.body.decode()
    assert "Traceback" not in text and 'File "' not in text, text
    assert str(server.folder) not in text, text
    return str(data["message"])
