"""A logged model and ``carnet models serve`` as an operator starts it: a real process on
a free localhost port, driven over HTTP by the tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet

import carnet
import carnet.sklearn
from carnet.models import resolve_model_folder
from tests.conftest import stop_process_group

START_TIMEOUT_S = 60
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LoggedModel:
    """A model logged by Carnet: its URI, its store, its folder and the data it was fit on."""

    uri: str
    db: str
    folder: Path
    frame: pd.DataFrame


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_diabetes_model(tmp_path: Path) -> LoggedModel:
    """The tutorial's ElasticNet on the diabetes data, logged with a signature and an
    input example into a SQLite store in ``tmp_path``."""
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    model = ElasticNet(alpha=0.01, l1_ratio=0.5, random_state=0).fit(x, y)
    db = f"sqlite:///{tmp_path / 'carnet.db'}"
    carnet.set_tracking_uri(db)  # artifacts: carnet-artifacts/ beside the store
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, name="model", input_example=x.head(5))
    return LoggedModel(info.model_uri, db, resolve_model_folder(info.model_uri, db), x)


def child_env() -> dict[str, str]:
    """The environment of a child Carnet process: this checkout first on its path."""
    path = os.pathsep.join([str(REPO / "sdk"), str(REPO)])
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": path + (os.pathsep + old if old else "")}


@contextlib.contextmanager
def serving(
    model_uri: str, db: str | None, log: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``carnet models serve -m model_uri`` on a free port until the block ends; yields
    its base URL once ``/ping`` answers 200."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "carnet.cli",
        "models",
        "serve",
        "-m",
        model_uri,
        "--port",
        str(port),
        *extra,
    ]
    if db is not None:
        command += ["--db", db]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**child_env(), **(env or {})},
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/ping", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"no 200 on /ping in {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        stop_process_group(proc, timeout=20)
