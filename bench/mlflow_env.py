"""MLflow lives in its own virtual environment so it never touches the project's.

The bench creates ``bench/.venv-mlflow`` on first use (``python -m venv`` and
``pip install mlflow scikit-learn``) and runs every MLflow workload as a
subprocess of that environment's python through ``bench/mlflow_runner.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".venv-mlflow"
RUNNER = BENCH_DIR / "mlflow_runner.py"
#: MLflow 3.x with its SQLite store is the baseline.
REQUIREMENTS = ["mlflow>=3,<4", "scikit-learn"]


def python() -> Path:
    """MLflow's interpreter: ``$CARNET_MLFLOW_PYTHON`` when set (as in the tests), else the venv."""
    given = os.environ.get("CARNET_MLFLOW_PYTHON")
    return Path(given) if given else VENV / "bin" / "python"


def ensure(*, quiet: bool = True) -> Path:
    """Create the MLflow environment if it is missing; return its python."""
    exe = python()
    if os.environ.get("CARNET_MLFLOW_PYTHON"):
        return exe
    stamp = VENV / ".installed"
    if stamp.exists() and exe.exists():
        return exe
    print(f"[bench] creating {VENV} with {' '.join(REQUIREMENTS)} (first use only) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # Keep the environment out of git and of ruff (Python 3.13's venv does the same).
    (VENV / ".gitignore").write_text("# created by the bench\n*\n")
    pip = [str(exe), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    for step in (["--upgrade", "pip"], REQUIREMENTS):
        proc = subprocess.run([*pip, *step], capture_output=quiet, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or "")[-3000:]
            raise RuntimeError(f"pip install {' '.join(step)} failed:\n{tail}")
    stamp.write_text(version() + "\n")
    return exe


def version() -> str:
    out = subprocess.run(
        [str(python()), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def run(workload: str, args: dict[str, Any], *, timeout: float = 900.0) -> dict[str, Any]:
    """Run one MLflow measurement in a fresh process; return the JSON it prints."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # keep the project's packages out of MLflow's process
    env.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run(
        [str(python()), str(RUNNER), workload, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=BENCH_DIR,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mlflow {workload} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
