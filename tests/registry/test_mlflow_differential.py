"""The same registry scenario under MLflow (its SQLite store, in CARNET_MLFLOW_PYTHON) and
under Carnet: searches, orders, pages, entity fields and error codes must agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import mlflow_python
from tests.conftest import require_service

SCRIPT = Path(__file__).resolve().parent / "scripts" / "scenario.py"
REPO = Path(__file__).resolve().parents[2]


def _run(python: str, impl: str, folder: Path, pythonpath: str | None) -> dict[str, Any]:
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "MLFLOW_"))}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update({"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    done = subprocess.run(  # a fixed argv, no shell
        [python, str(SCRIPT), impl],
        capture_output=True, cwd=folder, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    python = mlflow_python()
    require_service(python is not None, "no interpreter with mlflow (CARNET_MLFLOW_PYTHON)")
    assert python is not None
    root = tmp_path_factory.mktemp("registry-differential")
    ours = os.pathsep.join([str(REPO / "sdk"), str(REPO)])
    mlflow_seen = _run(python, "mlflow", root / "mlflow", None)
    carnet_seen = _run(sys.executable, "carnet", root / "carnet", ours)
    return mlflow_seen, carnet_seen


KEYS = [
    "models_all",
    "models_eq",
    "models_like",
    "models_ilike",
    "models_ne",
    "models_tag",
    "models_tag_like",
    "models_order_name_desc",
    "models_order_updated",
    "models_order_updated_asc",
    "models_page",
    "models_page2",
    "versions_all",
    "versions_name",
    "versions_name_in",
    "versions_version",
    "versions_version_eq",
    "versions_run",
    "versions_run_in",
    "versions_source",
    "versions_tag",
    "versions_order_name_version",
    "versions_order_version_desc",
    "versions_order_created",
    "versions_order_updated",
    "model",
    "version",
    "by_alias",
    "latest",
    "download_uri",
    "touched",
    "errors",
    "renamed",
    "renamed_alias",
    "alias_after_delete",
    "next_version",
    "after_delete",
]


@pytest.mark.parametrize("key", KEYS)
def test_carnet_answers_as_mlflow(both: tuple[dict[str, Any], dict[str, Any]], key: str) -> None:
    mlflow_seen, carnet_seen = both
    assert carnet_seen[key] == mlflow_seen[key]
