"""MLflow's ``MLproject`` file, read and checked: name, environment, entry points, parameters.

The file is YAML from a folder or a cloned repository that may not be the user's own,
so it is read with bounds (its size, the number of entry points and parameters, the
length of a command) and every shape is checked before anything runs. The rules are
MLflow's (``mlflow/projects/_project_spec.py``) with clearer errors:

- the file is ``MLproject`` in any letter case; without one the project has no entry
  points and ``-e script.py`` or ``-e script.sh`` runs a file of the project;
- one environment at most: ``python_env`` (a python_env.yaml file), ``conda_env`` or
  ``docker_env``; without one, ``python_env.yaml`` and then ``conda.yaml`` beside the
  MLproject file are used when present;
- a parameter is a type name (``alpha: float``) or ``{type: ..., default: ...}``; the
  types are ``float``, ``int``, ``string``, ``path`` and ``uri`` (MLflow's list);
- a command template names parameters as ``{alpha}``; ``{{`` and ``}}`` are literal braces.

Unlike MLflow, a parameter type outside that list, a template that names a parameter the
entry point does not declare, and an environment file outside the project are errors
here, reported before the run is created.
"""

from __future__ import annotations

import os
import re
import shlex
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from carnet.errors import ProjectError

#: The largest MLproject or python_env.yaml file read, in bytes.
MAX_SPEC_BYTES = 64 * 1024
#: The most entry points one MLproject file may declare.
MAX_ENTRY_POINTS = 100
#: The most parameters one entry point may declare.
MAX_PARAMETERS = 100
#: The longest command template, in characters.
MAX_COMMAND_LENGTH = 10_000
#: The longest project, entry point or parameter name.
MAX_NAME_LENGTH = 250
#: MLflow's parameter types.
PARAMETER_TYPES = ("float", "int", "string", "path", "uri")
#: The environment keys of an MLproject file, as MLflow names them.
ENV_KEYS = ("python_env", "conda_env", "docker_env")

MLPROJECT_FILE = "mlproject"
DEFAULT_PYTHON_ENV = "python_env.yaml"
DEFAULT_CONDA_ENV = "conda.yaml"
# A parameter name becomes a str.format field and a run param key: no '.', '[' or braces.
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of an entry point: its type and its default (None: required)."""

    name: str
    type: str = "string"
    default: str | None = None


@dataclass(frozen=True)
class EntryPoint:
    """A named command template and the parameters it takes."""

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    """The environment a project asks for: ``kind`` is ``python``, ``conda``, ``docker``
    or ``none``; ``file`` is its python_env.yaml or conda.yaml; ``image`` a docker image."""

    kind: str
    file: Path | None = None
    image: str | None = None


@dataclass(frozen=True)
class Project:
    """A loaded project: its folder, name, environment and entry points."""

    directory: Path
    name: str | None
    environment: Environment
    entry_points: dict[str, EntryPoint]
    has_mlproject: bool

    def entry_point(self, name: str) -> EntryPoint:
        """The entry point ``name``; a ``.py`` or ``.sh`` file of the project runs as
        ``python FILE`` or ``bash FILE`` when no entry point has that name (MLflow's rule).
        """
        found = self.entry_points.get(name)
        if found is not None:
            return found
        suffix = os.path.splitext(name)[1]
        if suffix in (".py", ".sh"):
            script = confined(self.directory, name, what=f"entry point script {name!r}")
            if not script.is_file():
                raise ProjectError(
                    f"entry point {name!r}: no such file in the project {self.directory}."
                )
            shell = shlex.quote(os.environ.get("SHELL") or "bash")
            program = "python" if suffix == ".py" else shell
            return EntryPoint(name=name, command=f"{program} {shlex.quote(name)}")
        declared = ", ".join(sorted(self.entry_points)) or "none (the project has no MLproject)"
        raise ProjectError(
            f"the project has no entry point {name!r}: its entry points are {declared}. "
            "Pass one with -e NAME, or -e FILE.py / -e FILE.sh to run a script of the project."
        )


def confined(root: Path, relative: str, *, what: str) -> Path:
    """``root / relative``, refused when ``relative`` is absolute or leads out of ``root``
    (a project must not point at files elsewhere on the machine)."""
    if not relative or os.path.isabs(relative) or len(relative) > 1000:
        raise ProjectError(f"{what} must be a relative path inside the project.")
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ProjectError(f"{what} leads out of the project folder; keep it inside {root}.")
    return target


def read_text(path: Path, what: str) -> str:
    """A small UTF-8 file's text, read with a bound (at most ``MAX_SPEC_BYTES``, however
    the file changes meanwhile); too large, unreadable or not UTF-8 is a ProjectError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise ProjectError(f"cannot read {what} {path}: {exc.strerror}.") from None
    if len(data) > MAX_SPEC_BYTES:
        raise ProjectError(f"{what} {path} is larger than {MAX_SPEC_BYTES} bytes, Carnet's limit.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError(f"{what} {path} is not UTF-8 text.") from None


def read_yaml(path: Path, what: str) -> Any:
    """A small YAML file (see :func:`read_text`), safely loaded; not YAML is a ProjectError."""
    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ProjectError(f"{what} {path} is not valid YAML: {reason}") from None


def find_mlproject(directory: Path) -> Path | None:
    """The MLproject file of ``directory`` in any letter case, as MLflow finds it."""
    for entry in sorted(os.listdir(directory)):
        if entry.lower() == MLPROJECT_FILE and (directory / entry).is_file():
            return directory / entry
    return None


def load_project(directory: Path) -> Project:
    """Read and check the project in ``directory`` (see the module's rules)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ProjectError(f"project folder {directory} does not exist or is not a folder.")
    path = find_mlproject(directory)
    document: Any = {} if path is None else read_yaml(path, "MLproject file")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ProjectError("the MLproject file must be a YAML mapping (name:, entry_points: ...).")
    name = document.get("name")
    if name is not None:
        name = _name(name, "project name")
    entry_points = _entry_points(document.get("entry_points"))
    return Project(
        directory=directory,
        name=name,
        environment=_environment(directory, document),
        entry_points=entry_points,
        has_mlproject=path is not None,
    )


def _name(value: Any, what: str) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ProjectError(f"the {what} must be text, got {type(value).__name__}.")
    text = str(value)
    if not text or len(text) > MAX_NAME_LENGTH:
        raise ProjectError(f"the {what} must be 1 to {MAX_NAME_LENGTH} characters.")
    return text


def _entry_points(value: Any) -> dict[str, EntryPoint]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProjectError("entry_points must be a mapping of entry point names to commands.")
    if len(value) > MAX_ENTRY_POINTS:
        raise ProjectError(
            f"the MLproject file declares {len(value)} entry points; at most "
            f"{MAX_ENTRY_POINTS} are allowed."
        )
    found: dict[str, EntryPoint] = {}
    for raw_name, body in value.items():
        name = _name(raw_name, "entry point name")
        found[name] = _entry_point(name, body)
    return found


def _entry_point(name: str, body: Any) -> EntryPoint:
    if not isinstance(body, dict):
        raise ProjectError(f"entry point {name!r} must be a mapping with a command:.")
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ProjectError(f'entry point {name!r} has no command: give it `command: "..."`.')
    if len(command) > MAX_COMMAND_LENGTH:
        raise ProjectError(
            f"entry point {name!r}: the command is {len(command)} characters; at most "
            f"{MAX_COMMAND_LENGTH} are allowed."
        )
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ProjectError(f"entry point {name!r}: parameters must be a mapping.")
    if len(raw_params) > MAX_PARAMETERS:
        raise ProjectError(
            f"entry point {name!r} declares {len(raw_params)} parameters; at most "
            f"{MAX_PARAMETERS} are allowed."
        )
    parameters = {}
    for raw_key, spec in raw_params.items():
        key = parameter_name(raw_key, where=f"entry point {name!r}")
        parameters[key] = _parameter(name, key, spec)
    fields = template_fields(command, where=f"entry point {name!r}")
    unknown = [f for f in fields if f not in parameters]
    if unknown:
        raise ProjectError(
            f"entry point {name!r}: the command names {', '.join(map(repr, unknown))}, which "
            "is not a declared parameter; declare it under parameters: or write {{ and }} "
            "for literal braces."
        )
    return EntryPoint(name=name, command=command, parameters=parameters)


def parameter_name(value: Any, *, where: str) -> str:
    """A parameter name checked: letters, digits, ``_`` and ``-``, starting with a letter
    or ``_`` (it is a template field and a run param key)."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _PARAM_NAME.fullmatch(text) or len(text) > MAX_NAME_LENGTH:
        raise ProjectError(
            f"{where}: parameter name {str(value)[:80]!r} is not allowed; use letters, digits, "
            f"'_' and '-' (at most {MAX_NAME_LENGTH}), starting with a letter or '_'."
        )
    return text


def _parameter(entry: str, key: str, spec: Any) -> Parameter:
    if isinstance(spec, str):
        kind, default = spec, None
    elif isinstance(spec, dict):
        kind = spec.get("type", "string")
        default = spec.get("default")
    elif spec is None:
        kind, default = "string", None
    else:
        raise ProjectError(
            f"entry point {entry!r}, parameter {key!r}: give a type name or "
            "{type: ..., default: ...}."
        )
    if kind not in PARAMETER_TYPES:
        raise ProjectError(
            f"entry point {entry!r}, parameter {key!r}: type {str(kind)[:40]!r} is not one "
            f"of {', '.join(PARAMETER_TYPES)}."
        )
    if default is not None:
        if isinstance(default, (dict, list)):
            raise ProjectError(
                f"entry point {entry!r}, parameter {key!r}: the default must be a single value."
            )
        default = str(default)
    return Parameter(name=key, type=kind, default=default)


def template_fields(command: str, *, where: str) -> list[str]:
    """The parameter names a command template uses, in order; a field with an attribute,
    an index, a conversion or a format spec (``{a.b}``, ``{a[0]}``, ``{a!r}``, ``{a:>3}``)
    or an empty or unbalanced brace is refused."""
    names: list[str] = []
    try:
        parts = list(string.Formatter().parse(command))
    except ValueError as exc:
        raise ProjectError(
            f"{where}: the command template is not valid ({exc}); write {{{{ and }}}} for "
            "literal braces."
        ) from None
    for _literal, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if not _PARAM_NAME.fullmatch(field_name) or spec or conversion:
            shown = "{" + field_name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise ProjectError(
                f"{where}: the command field {shown[:80]!r} is not a plain parameter name "
                "such as {alpha}; write {{ and }} for literal braces."
            )
        names.append(field_name)
    return names


def _environment(directory: Path, document: dict[str, Any]) -> Environment:
    declared = [key for key in ENV_KEYS if document.get(key) is not None]
    if len(declared) > 1:
        raise ProjectError(
            f"the MLproject file declares several environments ({', '.join(declared)}); keep one."
        )
    if declared == ["docker_env"]:
        docker = document["docker_env"]
        image = docker.get("image") if isinstance(docker, dict) else None
        if not isinstance(image, str) or not image:
            raise ProjectError("docker_env needs an image: `docker_env: {image: NAME}`.")
        return Environment(kind="docker", image=image[:MAX_NAME_LENGTH])
    for key, kind in (("python_env", "python"), ("conda_env", "conda")):
        if declared == [key]:
            value = document[key]
            if not isinstance(value, str):
                raise ProjectError(f"{key} must name a file of the project, e.g. {key}: FILE.")
            file = confined(directory, value, what=f"{key} file {value!r}")
            if not file.is_file():
                raise ProjectError(
                    f"the MLproject file names {key} {value!r}, but the project has no such file."
                )
            return Environment(kind=kind, file=file)
    for default, kind in ((DEFAULT_PYTHON_ENV, "python"), (DEFAULT_CONDA_ENV, "conda")):
        if (directory / default).is_file():
            return Environment(kind=kind, file=directory / default)
    return Environment(kind="none")


__all__ = [
    "ENV_KEYS",
    "MAX_COMMAND_LENGTH",
    "MAX_ENTRY_POINTS",
    "MAX_NAME_LENGTH",
    "MAX_PARAMETERS",
    "MAX_SPEC_BYTES",
    "PARAMETER_TYPES",
    "EntryPoint",
    "Environment",
    "Parameter",
    "Project",
    "confined",
    "find_mlproject",
    "load_project",
    "parameter_name",
    "read_text",
    "read_yaml",
    "template_fields",
]
