"""``carnet models build-docker``: an image that serves one model, as MLflow's does.

The build context holds the model folder (``model/``), Carnet's source tree
(``carnet/``: ``pyproject.toml``, ``README.md``, ``sdk/``, ``dashboard/``) when
Carnet runs from a checkout, and a Dockerfile that installs Carnet with the
model's requirements, runs as the unprivileged user 10001, listens on 8080
(MLflow's model images do) and declares a HEALTHCHECK on ``/ping``. Installed
from a wheel instead, the image installs the same Carnet version from the
package index. ``mlflow`` pins in a model's requirements are left out: Carnet
serves the model, MLflow is not needed for it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from carnet.errors import ConfigurationError, ModelError
from carnet.settings import MODEL_PORT

#: Where the model lives in the image, and the port it is served on (MLflow's choices).
MODEL_DIR = "/opt/ml/model"
PORT = MODEL_PORT.default
#: The variable the image's command reads its port from.
PORT_VARIABLE = MODEL_PORT.name
#: The unprivileged user the server runs as.
UID = 10001
#: Requirements the image does not install: MLflow itself serves nothing here.
SKIPPED_REQUIREMENTS = re.compile(r"^\s*(mlflow|mlflow-skinny|mlflow-tracing)\b", re.IGNORECASE)
#: What of Carnet's source tree goes into the context.
SOURCE_PARTS = ("pyproject.toml", "README.md", "sdk", "dashboard")


def source_tree() -> Path | None:
    """The checkout Carnet runs from (its ``pyproject.toml`` names ``carnet``), or None
    when Carnet is installed as a package."""
    import carnet

    root = Path(carnet.__file__).resolve().parents[2]
    project = root / "pyproject.toml"
    if project.is_file() and re.search(r'^name = "carnet"$', project.read_text(), re.M):
        return root
    return None


def requirements(folder: Path) -> list[str]:
    """The model's pip requirements without MLflow's own packages and comments."""
    path = folder / "requirements.txt"
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [x for x in lines if x and not x.startswith("#") and not SKIPPED_REQUIREMENTS.match(x)]


def python_version(descriptor: dict[str, Any]) -> str:
    """``major.minor`` of the Python the model was saved with (default base image)."""
    section = descriptor.get("flavors", {}).get("python_function") or {}
    text = str(section.get("python_version") or "3.11")
    match = re.match(r"(\d+)\.(\d+)", text)
    return f"{match.group(1)}.{match.group(2)}" if match else "3.11"


def dockerfile(base: str, install_source: bool, carnet_version: str) -> str:
    """The Dockerfile of a model image."""
    carnet = "./carnet[serving]" if install_source else f"carnet[serving]=={carnet_version}"
    copy_source = "COPY carnet/ carnet/\n" if install_source else ""
    health = (
        "import os, sys, urllib.request; url = 'http://127.0.0.1:' + "
        f"os.environ.get('{PORT_VARIABLE}', '{PORT}') + '/ping'; "
        "sys.exit(urllib.request.urlopen(url, timeout=4).status != 200)"
    )
    serve = f'exec carnet models serve -m {MODEL_DIR} --host 0.0.0.0 --port "${PORT_VARIABLE}"'
    command = json.dumps(["sh", "-c", serve])
    return f"""\
# An image serving one model with `carnet models serve` (MLflow's scoring protocol):
#   docker run -p 8080:8080 IMAGE
#   curl -H 'Content-Type: application/json' -d @body.json localhost:8080/invocations
# Written by `carnet models build-docker`; plain Dockerfile syntax (no BuildKit features).
ARG BASE={base}
FROM ${{BASE}}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    {PORT_VARIABLE}={PORT}

RUN useradd --create-home --uid {UID} --user-group --shell /usr/sbin/nologin carnet

WORKDIR /opt/carnet
# The model's requirements and Carnet in one resolver run, so the model's pins hold.
COPY requirements.txt ./requirements.txt
{copy_source}RUN python -m pip install --no-cache-dir -r requirements.txt {carnet} \\
 && rm -rf carnet build

COPY model/ {MODEL_DIR}/
USER carnet

EXPOSE {PORT}
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \\
    CMD ["python", "-c", "{health}"]

# -e {PORT_VARIABLE}=... serves on another port. exec: the server is PID 1 and gets
# Docker's SIGTERM itself.
CMD {command}
"""


def write_context(folder: Path, out: Path, *, base: str | None = None) -> Path:
    """Write the build context of an image serving the model in ``folder`` into ``out``
    (a new or empty folder); return ``out``."""
    from carnet.models import installed_version, read_descriptor

    descriptor = read_descriptor(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigurationError(
            f"{str(out)!r} is not an empty folder; give --output-dir a new or empty folder."
        )
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, out / "model", symlinks=False)
    pins = requirements(folder)
    (out / "requirements.txt").write_text("".join(p + "\n" for p in pins))
    tree = source_tree()
    if tree is not None:
        for part in SOURCE_PARTS:
            src = tree / part
            if src.is_dir():
                shutil.copytree(
                    src,
                    out / "carnet" / part,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
                )
            elif src.is_file():
                (out / "carnet").mkdir(exist_ok=True)
                shutil.copy2(src, out / "carnet" / part)
    base = base or f"python:{python_version(descriptor)}-slim"
    version = installed_version("carnet") or "0"
    (out / "Dockerfile").write_text(dockerfile(base, tree is not None, version))
    return out


def build(context: Path, image: str, *, docker_args: Sequence[str] = ()) -> None:
    """``docker build -t IMAGE CONTEXT`` (Docker's output streams to the terminal)."""
    docker = shutil.which("docker")
    if docker is None:
        raise ConfigurationError(
            "no `docker` command on PATH; install Docker, or write the build context with "
            "--output-dir and build it elsewhere."
        )
    done = subprocess.run([docker, "build", *docker_args, "-t", image, str(context)], check=False)
    if done.returncode != 0:
        raise ModelError(
            f"docker build exited with status {done.returncode}; see its output above."
        )
