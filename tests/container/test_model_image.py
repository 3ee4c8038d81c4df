"""``carnet models build-docker`` builds an image that serves the model: model_image.sh
builds it through the CLI on run.sh's stand-in base image and private dockerd, runs it and
checks its answers, its user and its health check.

It needs root (a private dockerd, debootstrap) and takes minutes (the base image is cached
after the first time). Without them it skips with the reason; under CI, where .ci/run
provides them, tests/conftest.py turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from carnet.pyfunc import load_model
from carnet.scoring.invocations import Scorer
from carnet.scoring.output import predictions_json
from tests.scoring.served import child_env, log_diabetes_model

pytestmark = [pytest.mark.container, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("model_image.sh")
CANNOT_RUN = 77


@pytest.mark.timeout(1500)
def test_build_docker_image_serves_the_model(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start a private dockerd (tests/container/engine.sh)")
    if not (shutil.which("dockerd") or shutil.which("apt-get")):
        pytest.skip("no dockerd, and no apt-get to install docker.io")
    logged = log_diabetes_model(tmp_path)
    body = tmp_path / "body.json"
    rows = logged.frame.sample(20, random_state=1)
    body.write_text(
        json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    )
    expected = tmp_path / "expected.json"
    scorer = Scorer.of(load_model(logged.folder), 1000)
    expected.write_bytes(predictions_json(scorer.predict(body.read_bytes(), "application/json")))
    env = {**child_env(), "CARNET_CONTAINER_PYTHON": sys.executable}
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), str(logged.folder), str(body), str(expected)],
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
        pytest.fail(f"model_image.sh took more than 1400 s:\n{log[-6000:]}")
    if proc.returncode == CANNOT_RUN:
        reason = next((ln for ln in reversed(log.splitlines()) if "SKIP:" in ln), "no reason")
        pytest.skip(reason.split("SKIP:", 1)[-1].strip())
    assert proc.returncode == 0, f"model_image.sh exited {proc.returncode}:\n{log[-6000:]}"
    assert "PASS" in log
