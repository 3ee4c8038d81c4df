"""Read the repository's compose.yaml as Docker Compose would, for the tests.

There is no Compose here, so the tests read the file themselves: ``load`` parses it with
PyYAML and substitutes ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:+other}`` and ``${VAR+other}`` from the given variables, as Compose does from the
shell and ``.env``. ``run.sh`` uses the command line below to start the ``carnet`` service
with ``docker run``, as ``docker compose up`` would:

    python compose_file.py run-args SERVICE IMAGE PORT [VAR=VALUE ...] [env:KEY=VALUE ...]

prints one ``docker run`` argument a line: the service's environment (``env:`` replaces the
value of a variable the service sets, such as the store's URI), volumes (named ones
prefixed with ``carnet-test-``), health check, IMAGE and command, with the container's port
moved to PORT (the test's containers share the host's network, where 5000 may be taken).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
#: The port the carnet service listens on inside its container.
SERVICE_PORT = 5000
_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\})")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with Compose's variable forms replaced; ``$$`` is a literal ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name, operator, word = match.group(2), match.group(3), match.group(4)
        value = variables.get(name)
        if operator is None:
            return value or ""
        set_at_all, non_empty = value is not None, bool(value)
        present = non_empty if operator.startswith(":") else set_at_all
        if operator.endswith("-"):
            return str(value) if present else word
        return word if present else ""

    return _VARIABLE.sub(replace, text)


def _substitute(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_substitute(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _substitute(value, variables) for key, value in node.items()}
    return node


def load(variables: Mapping[str, str] | None = None, path: Path = COMPOSE) -> dict[str, Any]:
    """The compose file as a mapping, with ``variables`` substituted (none: all unset)."""
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), f"{path} is not a mapping"
    return dict(_substitute(data, variables or {}))


def _moved(text: str, port: int) -> str:
    return text.replace(f":{SERVICE_PORT}/", f":{port}/")


def run_args(
    service: Mapping[str, Any],
    image: str,
    *,
    port: int,
    named_volumes: Mapping[str, str],
    environment: Mapping[str, str],
) -> list[str]:
    """``docker run`` arguments for ``service``: ``-e`` (values in ``environment`` replace the
    service's own), ``-v`` (named volumes renamed through ``named_volumes``), the health
    check, then ``image`` and the command, listening on ``port``."""
    args: list[str] = []
    own = service.get("environment", {})
    unknown = set(environment) - set(own)
    assert not unknown, f"the service sets no {sorted(unknown)}"
    for key, value in {**own, **environment}.items():
        # No value: passed through from the caller's environment when set there, as Compose.
        args += ["-e", key if value is None else f"{key}={value}"]
    for spec in service.get("volumes", []):
        source, target, *mode = str(spec).split(":")
        source = named_volumes.get(source, source)
        args += ["-v", ":".join([source, target, *mode])]
    check = service.get("healthcheck")
    if check:
        test = check["test"]
        assert test[0] in ("CMD", "CMD-SHELL"), test
        shell = shlex.join(test[1:]) if test[0] == "CMD" else test[1]
        args += ["--health-cmd", _moved(shell, port)]
        for key in ("interval", "timeout", "start_period", "retries"):
            if key in check:
                args += [f"--health-{key.replace('_', '-')}", str(check[key])]
    command = [str(word) for word in service["command"]]
    at = command.index("--port")
    assert command[at + 1] == str(SERVICE_PORT), command
    command[at + 1] = str(port)
    args += ["--entrypoint", command[0], image, *command[1:]]
    return args


def main(argv: list[str]) -> int:
    """Print the ``docker run`` arguments of one service, one a line."""
    if len(argv) < 4 or argv[0] != "run-args":
        print(__doc__, file=sys.stderr)
        return 2
    name, image, port = argv[1], argv[2], int(argv[3])
    pairs = [item.split("=", 1) for item in argv[4:]]
    variables = {key: value for key, value in pairs if not key.startswith("env:")}
    environment = {key[4:]: value for key, value in pairs if key.startswith("env:")}
    compose = load(variables)
    service = compose["services"][name]
    volumes = {key: f"carnet-test-{key}" for key in compose.get("volumes", {})}
    args = run_args(service, image, port=port, named_volumes=volumes, environment=environment)
    for arg in args:
        assert "\n" not in arg, arg
        print(arg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
