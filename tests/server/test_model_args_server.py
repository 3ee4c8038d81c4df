"""``log_model(code_paths=, conda_env=, model_id=)`` through ``carnet server``: Carnet's SDK
uploads the model's nested ``code/`` folder to the logged model's location, and the real
MLflow client loads ``models:/<model_id>`` from the server with that code on its path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import carnet
import carnet.pyfunc
import carnet.sklearn
from tests.server.served import Server, mlflow_python

MODULE = "carnet_test_served_features"
X = np.array([[1.0], [2.0], [3.0], [4.0]])
Y = np.array([3.0, 5.0, 7.0, 9.0])


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A package with a subpackage, importable only while the model is built."""
    root = tmp_path / "src" / MODULE
    (root / "steps").mkdir(parents=True)
    (root / "__init__.py").write_text("from .steps.scale import scale\n")
    (root / "steps" / "__init__.py").write_text("")
    (root / "steps" / "scale.py").write_text(
        textwrap.dedent(
            """
            def scale(x):
                return x * 10.0
            """
        )
    )
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(root.parent))
    try:
        yield root
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name.startswith(MODULE):
                del sys.modules[name]


def test_code_paths_and_model_id_through_the_server(
    server: Server, package: Path, tmp_path: Path
) -> None:
    import importlib

    scale = importlib.import_module(MODULE).scale
    model = make_pipeline(FunctionTransformer(scale), LinearRegression()).fit(X, Y)
    carnet.set_tracking_uri(server.base)
    carnet.set_experiment("served-model-args")
    with carnet.start_run():
        pending = carnet.initialize_logged_model(name="scaled")
        info = carnet.sklearn.log_model(
            model, model_id=pending.model_id, code_paths=[str(package)],
            conda_env={"dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]},
        )  # fmt: skip
    assert info.model_id == pending.model_id
    found = carnet.get_logged_model(pending.model_id)
    assert found.status.name == "READY"
    files = {f.path for f in carnet.Client(server.base).list_logged_model_artifacts(
        pending.model_id, "code/" + MODULE + "/steps")}  # fmt: skip
    assert f"code/{MODULE}/steps/scale.py" in files
    loaded = carnet.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X), Y)

    python = mlflow_python()  # skips here without MLflow: Carnet's side was checked above
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARNET_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    env.update(
        MLFLOW_TRACKING_URI=server.base,
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    fresh = tmp_path / "elsewhere"
    fresh.mkdir()
    code = f"""
import importlib.util, json, numpy as np, mlflow.pyfunc
assert importlib.util.find_spec({MODULE!r}) is None
m = mlflow.pyfunc.load_model("models:/{pending.model_id}")
print(json.dumps(m.predict(np.array([[1.0], [2.0], [3.0], [4.0]])).tolist()))
"""
    done = subprocess.run(
        [python, "-c", code], cwd=fresh, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), Y)
