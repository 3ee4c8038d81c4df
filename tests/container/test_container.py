"""The Dockerfile builds an image that serves `carnet server`, and compose.yaml's service runs
it on PostgreSQL: run.sh does it end to end with MLflow's own client.

It needs root (a private dockerd, debootstrap), MLflow's interpreter and PostgreSQL, and
takes several minutes, more the first time (the stand-in base image is cached after that).
Without them it skips with the reason; under CI, where .ci/run provides them all,
tests/conftest.py turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.container, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("run.sh")
CANNOT_RUN = 77  # run.sh's exit code for "this machine cannot run containers"


@pytest.mark.timeout(1500)
def test_image_serves_the_demo_and_the_team_service(pg_uri: str) -> None:
    """``pg_uri`` is an empty PostgreSQL schema: the store of compose.yaml's service."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start a private dockerd (tests/container/run.sh)")
    if not (shutil.which("dockerd") or shutil.which("apt-get")):
        pytest.skip("no dockerd, and no apt-get to install docker.io")
    mlflow_python = os.environ.get("CARNET_MLFLOW_PYTHON")
    if not mlflow_python:
        pytest.skip("CARNET_MLFLOW_PYTHON is not set (an interpreter with mlflow installed)")
    env = {
        **os.environ,
        "CARNET_MLFLOW_PYTHON": mlflow_python,
        "CARNET_CONTAINER_POSTGRES_URL": pg_uri,
        "CARNET_CONTAINER_PYTHON": sys.executable,
    }
    # Its own process group, so a time-out can stop it with SIGTERM and its trap still
    # removes the container and stops the private dockerd.
    proc = subprocess.Popen(
        ["bash", str(SCRIPT)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        log, _ = proc.communicate(timeout=1400)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            log, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
        pytest.fail(f"run.sh took more than 1400 s:\n{log[-6000:]}")
    if proc.returncode == CANNOT_RUN:
        reason = next((ln for ln in reversed(log.splitlines()) if "SKIP:" in ln), "no reason")
        pytest.skip(reason.split("SKIP:", 1)[-1].strip())
    assert proc.returncode == 0, f"run.sh exited {proc.returncode}:\n{log[-6000:]}"
    assert "PASS" in log
