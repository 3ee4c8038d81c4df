"""The dashboard as a person starts it: a real server process on a free localhost port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Until ``/_stcore/health`` answers ``ok`` (it needs no sign-in)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"carnet ui exited with {proc.returncode}:\n{log.read_text()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response,
        ):
            if response.read().strip() == b"ok":
                return
        time.sleep(0.3)
    raise AssertionError(f"carnet ui did not become healthy in {timeout} s:\n{log.read_text()}")


@contextlib.contextmanager
def carnet_ui(
    uri: str, folder: Path, *, password: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """Run ``carnet ui --db uri`` (with ``--password-env`` when ``password`` is given);
    yields (base URL, the file that receives its stdout and stderr)."""
    port = free_port()
    env = {"TEST_UI_PASSWORD": password} if password is not None else {}
    command = [sys.executable, "-m", "carnet.cli", "ui", "--db", uri, "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    if password is not None:
        command += ["--password-env", "TEST_UI_PASSWORD"]
    with _serving(command, port, folder, {**env, **(extra_env or {})}) as served:
        yield served


@contextlib.contextmanager
def streamlit_run(uri: str, folder: Path, *, password: str) -> Iterator[tuple[str, Path]]:
    """The dashboard under a plain ``streamlit run dashboard/app.py`` (no ``carnet ui``)."""
    port = free_port()
    app = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address",
               "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--", "--db", uri]  # fmt: skip
    with _serving(command, port, folder, {"CARNET_UI_PASSWORD": password}) as served:
        yield served


@contextlib.contextmanager
def _serving(
    command: list[str], port: int, folder: Path, extra_env: dict[str, str]
) -> Iterator[tuple[str, Path]]:
    base = f"http://127.0.0.1:{port}"
    log = folder / f"dashboard-{port}.log"
    env = {k: v for k, v in os.environ.items() if k != "CARNET_UI_PASSWORD"}
    env.update(extra_env)
    with log.open("wb") as out:
        proc = subprocess.Popen(  # a fixed argv, no shell
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_healthy(base, proc, log)
        yield base, log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the command and the server it became
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
