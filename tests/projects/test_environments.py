"""Project environments: one real uv environment, built once and then reused; what is
refused before anything is built."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import carnet
from carnet.errors import ProjectError
from carnet.projects import run_project
from carnet.projects.alias import RUNTIME_REQUIREMENTS, replace_mlflow
from carnet.projects.python_env import load_python_env
from tests.projects.helpers import write_project

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
CHECK = """
import sys
import six
import mlflow

with mlflow.start_run():
    mlflow.log_param("prefix", sys.prefix)
    mlflow.log_param("six", six.__version__)
    mlflow.log_metric("n", float(sys.argv[1]))
"""


def _project(folder: Path, python: str, deps: str = "[six==1.16.0, mlflow>=2]") -> Path:
    return write_project(
        folder,
        {
            "MLproject": "python_env: python_env.yaml\nentry_points:\n  main:\n"
            "    parameters: {n: {type: int, default: 2}}\n    command: python check.py {n}\n",
            "python_env.yaml": f"python: '{python}'\nbuild_dependencies: [pip]\n"
            f"dependencies: {deps}\n",
            "check.py": CHECK,
        },
    )


@pytest.mark.slow
def test_a_uv_environment_is_built_once_and_reused(
    tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = tmp_path / "envs"
    monkeypatch.setenv("CARNET_PROJECT_ENV_DIR", str(envs))
    project = _project(tmp_path / "p", PYTHON)
    first = run_project(str(project), env_manager="uv", tracking_uri=uri)
    started = time.perf_counter()
    second = run_project(str(project), env_manager="uv", parameters={"n": "5"}, tracking_uri=uri)
    reused_in = time.perf_counter() - started
    client = carnet.Client(uri)
    runs = [client.get_run(o.run_id) for o in (first, second)]
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    built = [p for p in envs.iterdir() if p.is_dir()]
    assert len(built) == 1 and built[0].name.startswith("uv-")
    for run, n in zip(runs, (2.0, 5.0), strict=True):
        assert run.data.params["prefix"] == str(built[0])  # the project ran in the built env
        assert run.data.params["six"] == "1.16.0"  # installed there from python_env.yaml
        assert run.data.metrics["n"] == n  # and logged through the mlflow stand-in
        assert run.data.tags["mlflow.project.env"] == "uv"
    assert reused_in < 30, reused_in  # no second build


def test_an_old_python_is_refused_before_anything_is_built(
    tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = tmp_path / "envs"
    monkeypatch.setenv("CARNET_PROJECT_ENV_DIR", str(envs))
    project = _project(tmp_path / "p", "3.8")
    with pytest.raises(ProjectError, match=r"Python 3\.8.*needs Python 3\.11 or newer"):
        run_project(str(project), tracking_uri=uri)  # MLflow's default: virtualenv
    assert not envs.exists()
    assert not Path(uri.removeprefix("sqlite:///")).exists()


def test_mlflow_requirements_give_way_to_the_stand_in(tmp_path: Path) -> None:
    project = _project(tmp_path, PYTHON, deps="[six==1.16.0, MLflow_Skinny>=2, mlflow]")
    wanted = load_python_env(project / "python_env.yaml", project)
    assert wanted.requirements == ["pip", "six==1.16.0", "MLflow_Skinny>=2", "mlflow"]
    assert replace_mlflow(wanted.requirements) == ["pip", "six==1.16.0", *RUNTIME_REQUIREMENTS]


@pytest.mark.parametrize(
    ("env_yaml", "message"),
    [
        ("python: three\n", "is not a version"),
        ("dependencies: [--index-url=http://elsewhere]\n", "installer option"),
        ("dependencies: ['-r ../outside.txt']\n", "leads out of the project"),
        ("dependencies: numpy\n", "must be a list"),
    ],
)
def test_a_bad_python_env_is_refused(tmp_path: Path, env_yaml: str, message: str) -> None:
    project = write_project(tmp_path / "p", {"python_env.yaml": env_yaml})
    with pytest.raises(ProjectError, match=message):
        load_python_env(project / "python_env.yaml", project)


def test_requirement_files_are_read_from_the_project(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "python_env.yaml": "dependencies: ['-r requirements.txt', six]\n",
            "requirements.txt": "# pinned\nnumpy==2.1.3  # maths\n\npandas\n",
        },
    )
    wanted = load_python_env(project / "python_env.yaml", project)
    assert wanted.dependencies == ("numpy==2.1.3", "pandas", "six")
