"""The ``mlflow`` stand-in that lets MLflow projects log to Carnet without a change.

An MLflow project's code says ``import mlflow`` and ``import mlflow.sklearn``. Under
``carnet run`` (unless ``--no-mlflow-alias``) the project's process finds first on its
``PYTHONPATH`` a small package named ``mlflow`` whose modules are Carnet's:

=======================  ===========================
``mlflow``               ``carnet``
``mlflow.sklearn``       ``carnet.sklearn``
``mlflow.pyfunc``        ``carnet.pyfunc``
``mlflow.models``        ``carnet.models`` (and ``mlflow.models.signature``)
``mlflow.tracking``      ``carnet.tracking``
``mlflow.client``        ``carnet.client``
``mlflow.entities``      ``carnet.entities``
``mlflow.exceptions``    ``carnet.exceptions``
``mlflow.data``          ``carnet.data``
``mlflow.projects``      ``carnet.projects`` (``run``)
``mlflow.utils``         ``carnet.utils`` (and ``mlflow.utils.mlflow_tags``)
``mlflow.run``           ``carnet.projects.run``
=======================  ===========================

so ``mlflow.start_run()`` resumes the project's run in Carnet's store. Any other
``mlflow.X`` module is not there, and importing it fails with Python's usual error;
turn the stand-in off to use a real mlflow installed in the project's environment.

The folder also holds a ``carnet`` link to the running Carnet's package, so the
project's interpreter imports the same Carnet (in a built environment too), and
``bin/python``, a two-line script that runs the project's interpreter, put first on
``PATH`` so a command ``python train.py`` means that interpreter.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import carnet

#: ``mlflow`` module names and the Carnet modules they stand for.
MODULES = {
    "sklearn": "carnet.sklearn",
    "pyfunc": "carnet.pyfunc",
    "tracking": "carnet.tracking",
    "client": "carnet.client",
    "entities": "carnet.entities",
    "exceptions": "carnet.exceptions",
    "data": "carnet.data",
    "projects": "carnet.projects",
}
#: ``mlflow`` packages whose names are a Carnet module's, and their own modules.
PACKAGES = {
    "models": ("carnet.models", {"signature": "carnet.model_signature"}),
    "utils": ("carnet.utils", {"mlflow_tags": "carnet.utils.mlflow_tags"}),
}
#: What Carnet's tracking code needs in a built environment (pyproject's lower bounds).
RUNTIME_REQUIREMENTS = (
    "sqlmodel>=0.0.22",
    "numpy>=1.26",
    "pandas>=2.2",
    "pyyaml>=6",
    "httpx>=0.27",
)
#: The distributions the stand-in replaces in a project's requirements.
REPLACED = frozenset({"mlflow", "mlflow-skinny"})
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

_WRAPPER = '''"""Carnet's stand-in for {name} under `carnet run`: the module is {target}."""

import sys

import {target} as _target

sys.modules[__name__] = _target
'''

_FORWARDER = '''"""Carnet's stand-in for {name} under `carnet run`: the names of {target}."""

import {target} as _target

globals().update({{k: getattr(_target, k) for k in getattr(_target, "__all__", ())}})


def __getattr__(name):
    return getattr(_target, name)
'''

_MLFLOW_INIT = '''"""Carnet's stand-in for mlflow under `carnet run`: the names of carnet."""

import importlib

import carnet as _target

globals().update({{k: getattr(_target, k) for k in getattr(_target, "__all__", ())}})
_SUBMODULES = {submodules!r}


def run(*args, **kwargs):
    from carnet.projects import run as run_project

    return run_project(*args, **kwargs)


def __getattr__(name):
    if name in _SUBMODULES:  # mlflow.sklearn without `import mlflow.sklearn`, as in MLflow
        return importlib.import_module(f"mlflow.{{name}}")
    return getattr(_target, name)
'''


def requirement_name(line: str) -> str:
    """The distribution a requirement line names, normalised (``Scikit_Learn`` ->
    ``scikit-learn``); "" when the line names none."""
    found = _NAME.match(line)
    return re.sub(r"[-_.]+", "-", found.group(1)).lower() if found else ""


def replace_mlflow(requirements: list[str]) -> list[str]:
    """``requirements`` without mlflow, with what Carnet's stand-in needs instead."""
    kept = [r for r in requirements if requirement_name(r) not in REPLACED]
    return [*kept, *RUNTIME_REQUIREMENTS]


def write_shim(folder: Path, python: Path, *, mlflow_alias: bool) -> None:
    """Write the ``mlflow`` stand-in (when ``mlflow_alias``), the ``carnet`` link and
    ``bin/python`` for ``python`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "carnet").symlink_to(Path(carnet.__file__).resolve().parent, target_is_directory=True)
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(str(python))} "$@"\n')
        os.chmod(script, 0o755)
    if not mlflow_alias:
        return
    package = folder / "mlflow"
    package.mkdir()
    submodules = sorted([*MODULES, *PACKAGES])
    (package / "__init__.py").write_text(_MLFLOW_INIT.format(submodules=submodules))
    for module, target in MODULES.items():
        text = _WRAPPER.format(name=f"mlflow.{module}", target=target)
        (package / f"{module}.py").write_text(text)
    for name, (target, modules) in PACKAGES.items():
        sub = package / name
        sub.mkdir()
        text = _FORWARDER.format(name=f"mlflow.{name}", target=target)
        (sub / "__init__.py").write_text(text)
        for module, module_target in modules.items():
            text = _WRAPPER.format(name=f"mlflow.{name}.{module}", target=module_target)
            (sub / f"{module}.py").write_text(text)


__all__ = [
    "MODULES",
    "PACKAGES",
    "REPLACED",
    "RUNTIME_REQUIREMENTS",
    "replace_mlflow",
    "requirement_name",
    "write_shim",
]
