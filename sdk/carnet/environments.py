"""Fresh virtual environments with given packages, for re-running code elsewhere.

``carnet reproduce`` rebuilds a run's packages here, and ``carnet run`` an
MLproject's ``python_env``. One function does it::

    python = build_environment(Path("/tmp/env"), requirements=["numpy==2.1.3"])
    subprocess.run([python, "train.py"])

It uses ``uv`` when ``uv`` is installed (``uv venv --python X``, then
``uv pip install``: seconds with a warm cache, and uv can fetch a Python
version the machine lacks), else ``python -m venv`` and pip, both from the
package index the installer is configured with. What cannot be had (the
Python version, a package or version the index does not have, uv itself when
asked for) raises :class:`~carnet.errors.EnvironmentBuildError` naming it, and
a failed build leaves no folder behind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from carnet.errors import EnvironmentBuildError, InvalidInputError

__all__ = ["MANAGERS", "build_environment", "find_uv"]

#: The values of ``manager``: uv when installed else pip, or one of them for sure.
MANAGERS = ("auto", "uv", "pip")
#: At most this many requirements, each at most this long: a run records fewer.
MAX_REQUIREMENTS = 5000
MAX_REQUIREMENT_LENGTH = 1000
#: How long one installer step may take, in seconds (a cold install of big wheels is slow).
STEP_TIMEOUT = 3600.0
#: How much of an installer's output an error message quotes (its end, where the cause is).
OUTPUT_TAIL = 2000

_VERSION = re.compile(r"\d+(\.\d+){0,2}")
#: Installer messages that name a requirement the index cannot satisfy (uv's, then pip's).
_MISSING_PACKAGE = (
    re.compile(r"there (?:is|are) no versions? of ([^\s,]+)"),
    re.compile(r"Because ([^\s,]+) was not found in the package registry"),
    re.compile(r"No matching distribution found for ([^\s,]+)"),
    re.compile(r"Could not find a version that satisfies the requirement ([^\s,]+)"),
)


def find_uv() -> str | None:
    """The ``uv`` executable: on ``PATH``, else beside this interpreter (``pip install uv``
    puts it there, which a venv not on ``PATH`` still has); None when neither."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def build_environment(
    dest: Path,
    *,
    requirements: Sequence[str],
    python_version: str | None = None,
    manager: str = "auto",
    no_deps: bool = False,
) -> Path:
    """Create a virtual environment at ``dest`` with ``requirements`` installed; return
    its Python executable.

    Args:
        dest: a folder that does not exist yet, or an empty one.
        requirements: pip requirement strings (``numpy==2.1.3``, ``./path/to/source``);
            none starts with ``-``, so none is taken for an installer option.
        python_version: ``3.11`` or ``3.11.7``; None means this interpreter's.
        manager: ``auto`` (uv when installed, else pip), ``uv`` or ``pip``.
        no_deps: install exactly ``requirements``, not their dependencies (for a
            complete list of pins, such as a run's recorded environment: no resolution).

    Raises EnvironmentBuildError naming what is missing: the Python version, a
    package the index does not have, or uv when ``manager="uv"`` and it is not
    installed. Nothing is left at ``dest`` after a failure.
    """
    reqs = _checked_requirements(requirements)
    if python_version is not None and not _VERSION.fullmatch(python_version):
        raise InvalidInputError(
            f"python_version {python_version!r} is not a version such as 3.11 or 3.11.7."
        )
    if manager not in MANAGERS:
        raise InvalidInputError(f"manager {manager!r} is not one of {', '.join(MANAGERS)}.")
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInputError(f"{dest} exists and is not an empty folder; choose a new one.")
    uv = find_uv() if manager != "pip" else None
    if manager == "uv" and uv is None:
        raise EnvironmentBuildError(
            "uv is not installed: install it (pip install uv) or use manager='pip'.",
            missing="uv",
        )
    created = not dest.exists()
    try:
        python = (
            _create_with_uv(uv, dest, python_version)
            if uv
            else _create_with_venv(dest, python_version)
        )
        if reqs:
            flags = ["--no-deps"] if no_deps else []
            if uv:
                _step(
                    [uv, "pip", "install", "--python", str(python), *flags, *reqs],
                    "uv pip install",
                )
            else:
                _step(
                    [str(python), "-m", "pip", "install", "--no-input", *flags, *reqs],
                    "pip install",
                )
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:  # the caller's empty folder: empty it again
            for child in dest.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    return python


def _checked_requirements(requirements: Sequence[str]) -> list[str]:
    if isinstance(requirements, str):
        raise InvalidInputError("requirements is a list of requirement strings, not one string.")
    reqs = list(requirements)
    if len(reqs) > MAX_REQUIREMENTS:
        raise InvalidInputError(
            f"{len(reqs)} requirements is more than {MAX_REQUIREMENTS}; install in parts."
        )
    for req in reqs:
        if not isinstance(req, str) or not req.strip():
            raise InvalidInputError(f"requirement {req!r} is not a non-empty string.")
        if len(req) > MAX_REQUIREMENT_LENGTH or req.lstrip().startswith("-") or "\n" in req:
            raise InvalidInputError(
                f"requirement {req[:80]!r} is not a plain requirement (at most "
                f"{MAX_REQUIREMENT_LENGTH} characters, one line, no leading '-')."
            )
    return [req.strip() for req in reqs]


def _env_python(dest: Path) -> Path:
    return dest / "Scripts" / "python.exe" if os.name == "nt" else dest / "bin" / "python"


def _create_with_uv(uv: str, dest: Path, python_version: str | None) -> Path:
    wanted = python_version or sys.executable
    result = _run([uv, "venv", "--quiet", "--python", wanted, str(dest)])
    if result.returncode != 0:
        raise EnvironmentBuildError(
            f"Python {wanted} cannot be had for a new environment: uv says "
            f"{_first_error(result.stderr)!r}. Install that Python (e.g. `uv python install "
            f"{wanted}`) or reproduce with the Python you have.",
            missing=f"python {wanted}",
        )
    return _env_python(dest)


def _create_with_venv(dest: Path, python_version: str | None) -> Path:
    base = _find_python(python_version)
    result = _run([base, "-m", "venv", str(dest)])
    if result.returncode != 0:
        raise EnvironmentBuildError(f"`{base} -m venv` failed: {_tail(result)}")
    return _env_python(dest)


def _find_python(python_version: str | None) -> str:
    """This interpreter when it is the version asked for, else ``pythonX.Y`` on PATH that
    really runs (pyenv's shims exist for versions that are not active)."""
    if python_version is None or _matches(sys.version_info[:3], python_version):
        return sys.executable
    major_minor = ".".join(python_version.split(".")[:2])
    candidate = shutil.which(f"python{major_minor}")
    if candidate:
        probe = _run(
            [candidate, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"]
        )
        found = probe.stdout.strip()
        if probe.returncode == 0 and _matches(tuple(map(int, found.split("."))), python_version):
            return candidate
    raise EnvironmentBuildError(
        f"Python {python_version} is not installed here (no working python{major_minor} "
        "on PATH): install it, or install uv (pip install uv), which can download it.",
        missing=f"python {python_version}",
    )


def _matches(have: tuple[int, ...], wanted: str) -> bool:
    parts = tuple(int(p) for p in wanted.split("."))
    return have[: len(parts)] == parts


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise EnvironmentBuildError(
            f"{args[0]} cannot be run: it is not installed.", missing=args[0]
        ) from None
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(
            f"`{' '.join(args[:3])}` took more than {STEP_TIMEOUT:g} s and was stopped."
        ) from None


def _step(args: list[str], what: str) -> None:
    result = _run(args)
    if result.returncode == 0:
        return
    output = " ".join((result.stderr + "\n" + result.stdout).split())  # installers wrap lines
    for pattern in _MISSING_PACKAGE:
        match = pattern.search(output)
        if match:
            name = match.group(1).rstrip(".;:")
            said = output[match.start() : match.start() + 300]
            raise EnvironmentBuildError(
                f"package {name} cannot be installed from the package index ({what} found "
                f"no such package or version): {said}",
                missing=name,
            )
    raise EnvironmentBuildError(f"{what} failed: {_tail(result)}")


def _first_error(output: str) -> str:
    for line in output.splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(("error", "cause", "because")):
            return stripped[:OUTPUT_TAIL]
    return output.strip()[-OUTPUT_TAIL:]


def _tail(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr.strip() or result.stdout.strip())[-OUTPUT_TAIL:]
