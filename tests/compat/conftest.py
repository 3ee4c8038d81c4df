"""Run the compatibility scripts once per session: with real MLflow and with Carnet.

MLflow lives in its own venv (it pins other versions of our dependencies). Its
interpreter is, in order: ``$CARNET_MLFLOW_PYTHON`` (what ``.ci/run`` exports),
``.venv-mlflow/bin/python``, ``bench/.venv-mlflow/bin/python``. Without one, the
tests that need MLflow skip with that reason (under CI the skip fails the
test: see tests/conftest.py).

The four scripts (scenarios and API surface, for each side) start together the
first time a test asks for any of them, each in a fresh interpreter and its own
empty folder with a new SQLite store, and run side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIMEOUT_S = 300


def mlflow_python() -> str | None:
    """The first candidate interpreter that can import mlflow, without importing it."""
    candidates = [
        os.environ.get("CARNET_MLFLOW_PYTHON", ""),
        str(REPO / ".venv-mlflow" / "bin" / "python"),
        str(REPO / "bench" / ".venv-mlflow" / "bin" / "python"),
    ]
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('mlflow') is None)"
    for python in candidates:
        if python and Path(python).is_file():
            found = subprocess.run([python, "-c", probe], capture_output=True, check=False)
            if found.returncode == 0:
                return python
    return None


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARNET_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    env.update(extra)
    return env


class Job:
    """One script in its own interpreter and folder; ``result()`` waits for its JSON."""

    def __init__(self, name: str, python: str, script: str, impl: str, root: Path) -> None:
        self.name = name
        self.workdir = root / name
        self.workdir.mkdir(parents=True)
        self.out = self.workdir / "out.json"
        self.log = self.workdir / "log.txt"
        env = _env(
            {
                "PYTHONWARNINGS": "ignore",
                "PYTHONDONTWRITEBYTECODE": "1",
                # MLflow: no telemetry; don't spend seconds inferring pip requirements of
                # the tutorial's model in a subprocess (it falls back to defaults).
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "true",
                "MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT": "1",
            }
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [python, str(HERE / script), impl, str(self.out)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._result: dict[str, Any] | None = None

    def result(self) -> dict[str, Any]:
        if self._result is None:
            try:
                code = self.proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"{self.name} ran over {TIMEOUT_S} s; log in {self.log}")
            if code != 0 or not self.out.exists():
                tail = self.log.read_text(errors="replace")[-4000:]
                pytest.fail(f"{self.name} exited with {code}:\n{tail}")
            self._result = json.loads(self.out.read_text())
        return self._result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Jobs:
    def __init__(self, root: Path) -> None:
        self.python = mlflow_python()
        self.jobs: dict[str, Job] = {}
        for impl, python in (("carnet", sys.executable), ("mlflow", self.python)):
            if python is None:
                continue
            self.jobs[f"{impl}_scenarios"] = Job(
                f"{impl}_scenarios", python, "scenarios.py", impl, root
            )
            self.jobs[f"{impl}_api"] = Job(f"{impl}_api", python, "api_surface.py", impl, root)

    def get(self, name: str) -> dict[str, Any]:
        if name.startswith("mlflow") and self.python is None:
            pytest.skip(
                "no Python with MLflow: set CARNET_MLFLOW_PYTHON, or create .venv-mlflow "
                "(python3 -m venv .venv-mlflow && .venv-mlflow/bin/pip install 'mlflow>=3,<4')"
            )
        return self.jobs[name].result()


@pytest.fixture(scope="session")
def compat_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    jobs = Jobs(tmp_path_factory.mktemp("compat"))
    yield jobs
    for job in jobs.jobs.values():
        job.stop()


@pytest.fixture(scope="session")
def mlflow_run(compat_jobs: Jobs) -> dict[str, Any]:
    """The whole payload of the scenarios under real MLflow (version, warnings, timings)."""
    return compat_jobs.get("mlflow_scenarios")


@pytest.fixture(scope="session")
def mlflow_store(compat_jobs: Jobs, mlflow_run: dict[str, Any]) -> Path:
    """The SQLite file real MLflow wrote the scenarios into (read it, never write it)."""
    return compat_jobs.jobs["mlflow_scenarios"].workdir / "compat.db"


@pytest.fixture(scope="session")
def carnet_run(compat_jobs: Jobs) -> dict[str, Any]:
    return compat_jobs.get("carnet_scenarios")


@pytest.fixture(scope="session")
def mlflow_obs(mlflow_run: dict[str, Any]) -> dict[str, Any]:
    """scenario -> step -> what real MLflow showed."""
    results: dict[str, Any] = mlflow_run["results"]
    return results


@pytest.fixture(scope="session")
def carnet_obs(carnet_run: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = carnet_run["results"]
    return results


@pytest.fixture(scope="session")
def mlflow_api(compat_jobs: Jobs) -> dict[str, Any]:
    return compat_jobs.get("mlflow_api")


@pytest.fixture(scope="session")
def carnet_api(compat_jobs: Jobs) -> dict[str, Any]:
    return compat_jobs.get("carnet_api")
