"""MLflow's ``python_env.yaml``: the Python version and the packages a project needs.

The file has three keys, all optional (``mlflow/utils/environment.py``, ``_PythonEnv``)::

    python: "3.11"
    build_dependencies: [pip, setuptools]
    dependencies: [scikit-learn==1.5.2, pandas]

Entries are pip requirement lines. A ``-r FILE`` line names a requirements file of
the project (read, bounded and confined to the project); other lines starting with
``-`` (``--index-url``, ``-e``, ``--find-links``...) are refused, since they would send
the installer elsewhere. The hash of what the file asks for names the cached
environment, so the same file reuses the same environment.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carnet.errors import ProjectError
from carnet.projects.spec import confined, read_text, read_yaml

#: The most requirement lines a python_env.yaml (with its -r files) may give.
MAX_REQUIREMENTS = 500
#: The longest requirement line.
MAX_REQUIREMENT_LENGTH = 1000
_PYTHON_VERSION = re.compile(r"3(\.\d{1,3}){0,2}")
_REQUIREMENTS_FILE = re.compile(r"-r\s+(\S.*)")


@dataclass(frozen=True)
class PythonEnv:
    """What a python_env.yaml asks for: a Python version (None: the current one) and
    requirement lines, build dependencies first."""

    python: str | None
    build_dependencies: tuple[str, ...]
    dependencies: tuple[str, ...]

    @property
    def requirements(self) -> list[str]:
        """Every requirement line, build dependencies first."""
        return [*self.build_dependencies, *self.dependencies]

    def digest(self) -> str:
        """A short hash of what is asked for: the cache key of the environment."""
        text = json.dumps(
            [self.python, self.build_dependencies, self.dependencies], separators=(",", ":")
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_python_env(path: Path, project_dir: Path) -> PythonEnv:
    """Read and check ``path`` (a python_env.yaml of the project in ``project_dir``)."""
    document: Any = read_yaml(path, "python_env file")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ProjectError(f"python_env file {path.name} must be a YAML mapping.")
    python = document.get("python")
    if python is not None:
        python = str(python).strip()
        if not _PYTHON_VERSION.fullmatch(python):
            raise ProjectError(
                f"python_env file {path.name}: python {python[:40]!r} is not a version such "
                "as 3.11 or 3.11.9."
            )
    build = _lines(document.get("build_dependencies"), "build_dependencies", path, project_dir)
    deps = _lines(document.get("dependencies"), "dependencies", path, project_dir)
    if len(build) + len(deps) > MAX_REQUIREMENTS:
        raise ProjectError(
            f"python_env file {path.name} asks for {len(build) + len(deps)} requirements; at "
            f"most {MAX_REQUIREMENTS} are allowed."
        )
    return PythonEnv(python=python, build_dependencies=tuple(build), dependencies=tuple(deps))


def _lines(value: Any, key: str, path: Path, project_dir: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectError(f"python_env file {path.name}: {key} must be a list.")
    if len(value) > MAX_REQUIREMENTS:
        raise ProjectError(
            f"python_env file {path.name}: {key} has {len(value)} entries; at most "
            f"{MAX_REQUIREMENTS} are allowed."
        )
    lines: list[str] = []
    for entry in value:
        if not isinstance(entry, str):
            raise ProjectError(f"python_env file {path.name}: {key} entries must be text.")
        lines.extend(_requirement(entry.strip(), key, path, project_dir))
    return lines


def _requirement(line: str, key: str, path: Path, project_dir: Path) -> list[str]:
    if not line or len(line) > MAX_REQUIREMENT_LENGTH:
        raise ProjectError(
            f"python_env file {path.name}: a {key} entry is empty or longer than "
            f"{MAX_REQUIREMENT_LENGTH} characters."
        )
    included = _REQUIREMENTS_FILE.fullmatch(line)
    if included:
        return _requirements_file(included.group(1).strip(), path, project_dir)
    if line.startswith("-"):
        raise ProjectError(
            f"python_env file {path.name}: {line[:80]!r} is an installer option; only "
            "requirements and '-r FILE' lines are allowed."
        )
    return [line]


def _requirements_file(name: str, path: Path, project_dir: Path) -> list[str]:
    file = confined(project_dir, name, what=f"requirements file {name!r}")
    text = read_text(file, f"requirements file {name!r} of {path.name}")
    lines = [ln.split(" #")[0].strip() for ln in text.splitlines()]
    found: list[str] = []
    for line in lines:
        if line and not line.startswith("#"):
            if line.startswith("-"):
                raise ProjectError(
                    f"requirements file {name}: {line[:80]!r} is an installer option; only "
                    "requirement lines are allowed."
                )
            if len(line) > MAX_REQUIREMENT_LENGTH:
                raise ProjectError(f"requirements file {name}: a line is too long.")
            found.append(line)
    if len(found) > MAX_REQUIREMENTS:
        raise ProjectError(
            f"requirements file {name} has {len(found)} lines; at most {MAX_REQUIREMENTS}."
        )
    return found


__all__ = ["MAX_REQUIREMENTS", "MAX_REQUIREMENT_LENGTH", "PythonEnv", "load_python_env"]
