"""A model's environment given as a conda environment (MLflow's ``conda_env``).

``log_model(..., conda_env=...)`` takes the environment as a dict or as the path
of a YAML file, as MLflow does: it is written as the model's ``conda.yaml``, and
its ``pip`` list becomes ``requirements.txt`` (which ``python_env.yaml`` refers
to). The environment is checked before anything is written: a mapping with a
``dependencies`` list of strings and at most one ``{"pip": [...]}`` entry of
requirement strings, no larger than :data:`MAX_CONDA_ENV_BYTES`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from carnet.errors import ModelError

MAX_CONDA_ENV_BYTES = 1024 * 1024
MAX_DEPENDENCIES = 1000
_EXAMPLE = (
    "e.g. {'name': 'env', 'channels': ['conda-forge'], 'dependencies': ['python=3.11', "
    "'pip', {'pip': ['scikit-learn==1.5.0']}]}"
)


def read_conda_env(conda_env: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """The conda environment of a dict or a YAML file, checked; a
    :class:`~carnet.errors.ModelError` says what to fix.
    """
    import yaml

    if isinstance(conda_env, (str, os.PathLike)):
        path = Path(conda_env)
        if not path.is_file():
            raise ModelError(
                f"conda_env {str(conda_env)!r} is not an existing file; pass the path of a "
                f"conda environment YAML file or the environment as a dict, {_EXAMPLE}."
            )
        if path.stat().st_size > MAX_CONDA_ENV_BYTES:
            raise ModelError(
                f"conda_env {str(conda_env)!r} is larger than {MAX_CONDA_ENV_BYTES} bytes; "
                "is it a conda environment file?"
            )
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, yaml.YAMLError) as exc:
            raise ModelError(
                f"conda_env {str(conda_env)!r} cannot be read as YAML ({exc})."
            ) from None
        where = repr(str(conda_env))
    elif isinstance(conda_env, Mapping):
        loaded = copy.deepcopy(dict(conda_env))
        where = "the conda_env dict"
    else:
        raise ModelError(
            f"conda_env takes a dict or the path of a YAML file, got "
            f"{type(conda_env).__name__}; {_EXAMPLE}."
        )
    return _checked(loaded, where)


def _checked(env: Any, where: str) -> dict[str, Any]:
    """``env`` if it is a conda environment this module can write, else why not."""
    import yaml

    if not isinstance(env, dict) or not isinstance(env.get("dependencies"), list):
        raise ModelError(
            f"{where} is not a conda environment with a 'dependencies' list; {_EXAMPLE}."
        )
    deps = env["dependencies"]
    if len(deps) > MAX_DEPENDENCIES:
        raise ModelError(f"{where} lists more than {MAX_DEPENDENCIES} dependencies.")
    pip_entries = [d for d in deps if isinstance(d, dict)]
    if any(not isinstance(d, str) or not d.strip() for d in deps if not isinstance(d, dict)):
        raise ModelError(f"{where}: conda dependencies are non-empty strings; {_EXAMPLE}.")
    if len(pip_entries) > 1 or any(set(d) != {"pip"} for d in pip_entries):
        raise ModelError(f"{where}: the only mapping in 'dependencies' is one {{'pip': [...]}}.")
    for entry in pip_entries:
        _check_pip(entry["pip"], where)
    try:
        yaml.safe_dump(env)
    except yaml.YAMLError as exc:
        raise ModelError(f"{where} cannot be written as YAML ({exc}); use plain values.") from None
    return env


def _check_pip(pins: Any, where: str) -> None:
    """The ``pip`` list of a conda environment: requirement strings, no file references."""
    if not isinstance(pins, list) or len(pins) > MAX_DEPENDENCIES:
        raise ModelError(
            f"{where}: 'pip' takes a list of up to {MAX_DEPENDENCIES} requirement strings."
        )
    for pin in pins:
        if not isinstance(pin, str) or not pin.strip() or "\n" in pin:
            raise ModelError(f"{where}: pip requirement {pin!r} is not a one-line string.")
        if pin.lstrip().startswith(("-r", "-c", "--requirement", "--constraint")):
            raise ModelError(
                f"{where}: pip requirement {pin!r} refers to a file; list the requirements "
                "themselves, e.g. 'scikit-learn==1.5.0'."
            )


def pip_requirements(env: Mapping[str, Any]) -> list[str]:
    """The ``pip`` list of a checked conda environment (what ``requirements.txt`` holds)."""
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            return [str(p) for p in dep["pip"]]
    return []


__all__ = ["pip_requirements", "read_conda_env"]
