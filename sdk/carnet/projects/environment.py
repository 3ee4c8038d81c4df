"""The interpreter a project runs with: this one (``local``) or a built, cached environment.

``--env-manager`` takes MLflow's names: ``local`` runs the project with the interpreter
that runs Carnet; ``virtualenv`` and ``uv`` build an environment with the project's
``python_env.yaml`` (by pip or by uv, through :func:`carnet.environments.build_environment`).
Without the option, a project that declares a python environment gets ``virtualenv`` and
a conda project conda, as in MLflow, and a project that declares none runs ``local``
(MLflow would build an empty environment, where the project could not even import mlflow).

Built environments are cached under ``$CARNET_PROJECT_ENV_DIR``, one per hash of the
Python version, the requirements and the manager, so a second run of the same project
starts at once. A lock file keeps two runs from building the same one at the same time.
With the ``mlflow`` stand-in on, the project's ``mlflow`` requirements are replaced by
what Carnet's tracking needs (see :mod:`carnet.projects.alias`).

``conda_env`` and ``docker_env`` projects are refused with a message that says what to
do: Carnet drives neither conda nor docker.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

from carnet import settings
from carnet.environments import build_environment
from carnet.errors import ProjectError
from carnet.projects.alias import replace_mlflow
from carnet.projects.python_env import PythonEnv, load_python_env
from carnet.projects.spec import Environment

#: ``--env-manager`` values, MLflow's names.
ENV_MANAGERS = ("local", "virtualenv", "uv")
#: The oldest Python Carnet's tracking code (and so the mlflow stand-in) runs on.
MIN_PYTHON = (3, 11)
_READY = ".carnet-ready"


def default_manager(environment: Environment) -> str:
    """MLflow's default for a project: ``virtualenv`` when it declares a python
    environment, ``conda`` for a conda one (which :func:`check_supported` refuses), else
    ``local``."""
    return {"python": "virtualenv", "conda": "conda"}.get(environment.kind, "local")


def check_supported(environment: Environment, manager: str) -> None:
    """Refuse what Carnet cannot run, before a run is created: conda and docker projects,
    and an unknown manager."""
    if manager not in (*ENV_MANAGERS, "conda"):
        raise ProjectError(f"--env-manager {manager!r} is not one of {', '.join(ENV_MANAGERS)}.")
    if environment.kind == "docker":
        raise ProjectError(
            f"this project runs in a docker image ({environment.image}); Carnet does not run "
            "docker projects. Run it with `mlflow run`, or run its command inside the image "
            "with CARNET_TRACKING_URI set."
        )
    if environment.kind == "conda" and manager != "local":
        found = "installed" if shutil.which("conda") else "not installed"
        raise ProjectError(
            f"this project asks for a conda environment ({environment.file}); conda is "
            f"{found}, and Carnet does not build conda environments. Create and activate "
            "the environment yourself and run with --env-manager local, or describe it in "
            "a python_env.yaml (python: and dependencies:) to use --env-manager uv."
        )


def project_env(environment: Environment, project_dir: Path) -> PythonEnv:
    """What the project's python_env.yaml asks for (nothing, when it has none)."""
    if environment.kind == "python" and environment.file is not None:
        return load_python_env(environment.file, project_dir)
    return PythonEnv(python=None, build_dependencies=(), dependencies=())


def env_dir() -> Path:
    """``$CARNET_PROJECT_ENV_DIR``, else ``carnet/project-envs`` in the user's cache."""
    chosen = settings.PROJECT_ENV_DIR.get()
    if chosen is not None:
        return chosen
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "carnet" / "project-envs"


def interpreter(
    environment: Environment, project_dir: Path, manager: str, *, mlflow_alias: bool
) -> Path:
    """The Python the project runs with: this one for ``local``, else a cached environment
    built for its python_env.yaml (built now when missing)."""
    check_supported(environment, manager)
    if manager == "local":
        return Path(sys.executable)
    wanted = project_env(environment, project_dir)
    requirements = wanted.requirements
    if mlflow_alias:
        _check_python(wanted.python)
        requirements = replace_mlflow(requirements)
    # No python: means this interpreter's version, which is then part of the key too.
    version = wanted.python or platform.python_version()
    key = PythonEnv(version, (), (manager, *requirements)).digest()
    root = env_dir()
    root.mkdir(parents=True, exist_ok=True)
    dest = root / f"{manager}-{key}"
    with open(root / f"{manager}-{key}.lock", "w") as lock:
        _lock(lock.fileno())
        ready = dest / _READY
        if ready.is_file():
            python = Path(ready.read_text(encoding="utf-8").strip())
            if python.is_file():
                return python
        shutil.rmtree(dest, ignore_errors=True)  # a build that did not finish
        python = build_environment(
            dest,
            requirements=requirements,
            python_version=wanted.python,
            manager="uv" if manager == "uv" else "pip",
        )
        ready.write_text(f"{python}\n", encoding="utf-8")
        return python


def _lock(fd: int) -> None:
    """Hold an exclusive lock on ``fd`` until it is closed (POSIX; elsewhere no lock)."""
    if os.name == "posix":
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def _check_python(version: str | None) -> None:
    if version is None:
        return
    parts = tuple(int(p) for p in version.split(".")[:2])
    if parts < MIN_PYTHON:
        least = ".".join(map(str, MIN_PYTHON))
        raise ProjectError(
            f"the project asks for Python {version}, and Carnet's mlflow stand-in needs "
            f"Python {least} or newer. Run it with --env-manager local, or with "
            "--no-mlflow-alias if its environment has mlflow (and log to a Carnet server, "
            "which speaks MLflow's REST API)."
        )


__all__ = [
    "ENV_MANAGERS",
    "MIN_PYTHON",
    "check_supported",
    "default_manager",
    "env_dir",
    "interpreter",
    "project_env",
]
