"""Parameters of a project run: parsed from ``-P key=value``, typed, and put into the command.

MLflow's rules (``EntryPoint.compute_parameters`` and ``compute_command``):

- a declared parameter without a default must be given, else the run is refused and
  every missing name is listed;
- a parameter the entry point does not declare is passed through: it is logged as a
  param and appended to the command as ``--key value``;
- every value put into the command is shell-quoted (``shlex.quote``), so a value such as
  ``x; rm -rf ~`` reaches the program as one argument and never runs as a command.

Carnet checks the types MLflow leaves unchecked: a ``float`` or ``int`` value that is not
a number is refused, naming the parameter; ``float`` and ``int`` values are written in
Python's spelling (``1e-3`` becomes ``0.001``), which is what a script that logs
``float(sys.argv[1])`` logs too, so the project's param and the script's agree. A
``path`` is made absolute and must exist (relative to the working directory when given,
to the project when it is the default); a ``uri`` needs a scheme (``s3://``, ``file://``).
Values are logged unquoted (MLflow logs the quoted text).
"""

from __future__ import annotations

import math
import shlex
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from carnet.errors import ProjectError
from carnet.projects.spec import EntryPoint, Parameter, parameter_name

#: The most ``-P`` values one run takes.
MAX_GIVEN = 100
#: The longest parameter value, MLflow's limit for a param value.
MAX_VALUE_LENGTH = 6000


@dataclass(frozen=True)
class Resolved:
    """The values of a run: ``declared`` in the entry point's order, then ``extra`` ones
    passed through, each as the text logged and substituted."""

    declared: dict[str, str]
    extra: dict[str, str]

    def all(self) -> dict[str, str]:
        """Every value, declared first: what the run logs as params."""
        return {**self.declared, **self.extra}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["alpha=0.5", "name=a=b"]`` as a mapping (split at the first ``=``), checked."""
    given: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ProjectError(f"-P {item[:80]!r} is not key=value; write -P alpha=0.5.")
        key = parameter_name(key.strip(), where="-P")
        if key in given:
            raise ProjectError(f"-P {key} is given twice; give each parameter once.")
        given[key] = value
        if len(given) > MAX_GIVEN:
            raise ProjectError(f"more than {MAX_GIVEN} -P values; pass fewer parameters.")
    return given


def resolve(
    entry: EntryPoint, given: Mapping[str, str], *, cwd: Path, project_dir: Path
) -> Resolved:
    """The typed values of ``entry``'s parameters from ``given`` and the defaults, plus the
    values ``entry`` does not declare; raises ProjectError naming each bad or missing one."""
    for key, value in given.items():
        parameter_name(key, where="-P")
        if "\x00" in value:
            raise ProjectError(f"parameter {key!r}: the value holds a NUL character.")
        if len(value) > MAX_VALUE_LENGTH:
            raise ProjectError(
                f"parameter {key!r}: the value is {len(value)} characters; at most "
                f"{MAX_VALUE_LENGTH} are allowed."
            )
    missing = [
        name for name, p in entry.parameters.items() if name not in given and p.default is None
    ]
    if missing:
        raise ProjectError(
            f"entry point {entry.name!r} needs a value for "
            f"{', '.join(map(repr, missing))}: pass "
            f"{' '.join(f'-P {m}=VALUE' for m in missing)}."
        )
    declared: dict[str, str] = {}
    for name, param in entry.parameters.items():
        if name in given:
            declared[name] = typed_value(param, given[name], base=cwd)
        else:
            assert param.default is not None
            declared[name] = typed_value(param, param.default, base=project_dir)
    extra = {k: v for k, v in given.items() if k not in entry.parameters}
    return Resolved(declared=declared, extra=extra)


def typed_value(param: Parameter, value: str, *, base: Path) -> str:
    """``value`` checked against ``param``'s type and written as it is logged and passed."""
    kind = param.type
    if kind == "float":
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isnan(number) and value.strip().lower() != "nan":
            raise ProjectError(
                f"parameter {param.name!r} is a float, but {value[:80]!r} is not a number."
            )
        return repr(number)
    if kind == "int":
        try:
            return str(int(value.strip()))
        except ValueError:
            raise ProjectError(
                f"parameter {param.name!r} is an int, but {value[:80]!r} is not a whole number."
            ) from None
    if kind == "path":
        return _path_value(param, value, base)
    if kind == "uri":
        if not urlparse(value).scheme:
            raise ProjectError(
                f"parameter {param.name!r} is a uri, but {value[:80]!r} has no scheme; give "
                "e.g. file:///data/x.csv or s3://bucket/x.csv."
            )
        return value
    return value


def _path_value(param: Parameter, value: str, base: Path) -> str:
    parsed = urlparse(value)
    if parsed.scheme == "file":
        local = parsed.path
    elif parsed.scheme and len(parsed.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise ProjectError(
            f"parameter {param.name!r} is a path, but {value[:80]!r} is a remote URI; Carnet "
            "does not download path parameters: copy the file here and pass its path, or "
            "declare the parameter as a uri."
        )
    else:
        local = value
    path = (base / Path(local).expanduser()).resolve()
    if not path.exists():
        raise ProjectError(f"parameter {param.name!r} is a path, but {path} does not exist.")
    return str(path)


def build_command(entry: EntryPoint, resolved: Resolved) -> str:
    """The shell command of ``entry`` with every value shell-quoted, and the values the
    entry point does not declare appended as ``--key value`` (MLflow's rule)."""
    parts: list[str] = []
    for literal, field, _spec, _conv in string.Formatter().parse(entry.command):
        parts.append(literal)
        if field is not None:
            parts.append(shlex.quote(resolved.declared[field]))
    command = "".join(parts)
    extras = [f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in resolved.extra.items()]
    return " ".join([command, *extras])


__all__ = [
    "MAX_GIVEN",
    "MAX_VALUE_LENGTH",
    "Resolved",
    "build_command",
    "parse_assignments",
    "resolve",
    "typed_value",
]
