"""Carry out a reproduction plan: source copy, environment, the command, the comparison.

:func:`reproduce` does what ``carnet reproduce RUN_ID`` promises, in a new
temporary folder removed afterwards: the recorded commit is exported there
(``git archive``: the repository itself is not touched, no worktree is
registered) and the recorded patch applied; a new environment gets the recorded
packages (:func:`carnet.environments.build_environment`, pins installed as they
are, without resolving again), or the current interpreter runs it
(``env="current"``); the recorded command runs in the recorded folder with
``CARNET_TRACKING_URI`` set to the same store and ``CARNET_EXPERIMENT_ID`` to the
run's experiment (code that sets its own still wins), the recorded variables set
again, and ``CARNET_REPRODUCES`` telling Carnet which of the command's runs is the
reproduction: that run is tagged ``carnet.reproduces=<RUN_ID>``.
"""

from __future__ import annotations

import io
import math
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from carnet import capture, settings
from carnet.client import Client
from carnet.entities import Run
from carnet.environments import build_environment
from carnet.errors import EnvironmentBuildError, InvalidInputError, NotFoundError, StateError
from carnet.reproduce_plan import Plan

__all__ = ["ENVS", "MetricRow", "compare_metrics", "format_comparison", "reproduce"]

#: ``new``: a fresh environment with the recorded packages; ``current``: this interpreter.
ENVS = ("new", "current")


@dataclass(frozen=True)
class MetricRow:
    """One metric of the original run and of its reproduction, and how they compare."""

    key: str
    original: float | None
    reproduction: float | None

    @property
    def verdict(self) -> str:
        """``identical`` (the same bits, NaN equal to NaN), ``differs by x %``, or which
        run lacks it."""
        a, b = self.original, self.reproduction
        if a is None:
            return "only in the reproduction"
        if b is None:
            return "only in the original"
        if a == b or (math.isnan(a) and math.isnan(b)):
            return "identical"
        if a == 0 or not math.isfinite(a) or not math.isfinite(b):
            return f"differs by {b - a:+.6g}"
        return f"differs by {abs(b - a) / abs(a) * 100:.3g} %"


def compare_metrics(original: Run, reproduction: Run) -> list[MetricRow]:
    """Each metric's last value in both runs, by key."""
    a, b = original.data.metrics, reproduction.data.metrics
    return [MetricRow(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b))]


def format_comparison(rows: list[MetricRow], original: str, reproduction: str) -> str:
    """The rows as a plain-text table, full precision (``repr`` of each float)."""
    head = ("metric", f"original {original[:8]}", f"reproduction {reproduction[:8]}", "")
    table = [head] + [(r.key, _shown(r.original), _shown(r.reproduction), r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
        for row in table
    )


def _shown(value: float | None) -> str:
    return "-" if value is None else repr(value)


def reproduce(
    client: Client,
    plan: Plan,
    *,
    env: str = "new",
    manager: str = "auto",
    say: Callable[[str], None] = print,
) -> Run:
    """Run ``plan`` and return the new run tagged ``carnet.reproduces=<plan.run_id>``.

    Raises EnvironmentBuildError when a package or the Python version cannot be had,
    StateError when the patch does not apply or the command fails or logs no run.
    """
    if env not in ENVS:
        raise InvalidInputError(f"env {env!r} is not one of {', '.join(ENVS)}.")
    for warning in plan.warnings:
        say(f"warning: {warning}")
    started_ms = _now_ms()
    work = Path(tempfile.mkdtemp(prefix="carnet-reproduce-"))
    try:
        source = _source_copy(plan, work / "source") if plan.commit else None
        python = _interpreter(plan, env, work, source, manager, say)
        cwd = source / plan.cwd if source is not None and plan.in_repo else Path(plan.cwd)
        if not cwd.is_dir():
            raise NotFoundError(f"the run's working folder {cwd} does not exist here.")
        command = list(plan.command)
        if command and source is not None and not command[0].startswith("-"):
            script = source / command[0]
            command[0] = str(script) if script.exists() else command[0]
        say(f"running: python {' '.join(command)}  (in {cwd})")
        child_env = dict(os.environ)
        child_env.update(plan.env)
        child_env[settings.TRACKING_URI.name] = client.tracking_uri
        child_env[settings.EXPERIMENT_ID.name] = plan.experiment_id
        child_env[settings.REPRODUCES.name] = f"{plan.run_id}:{plan.run_index}"
        child_env.pop(settings.RUN_ID.name, None)
        child_env.pop(settings.MLFLOW_RUN_ID.name, None)
        sys.stdout.flush()
        done = subprocess.run([str(python), *command], cwd=cwd, env=child_env, check=False)
        if done.returncode != 0:
            raise StateError(f"the reproduced command exited with code {done.returncode}.")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _new_run(client, plan, started_ms)


def _now_ms() -> int:
    from carnet.clock import now_ms

    return now_ms()


def _source_copy(plan: Plan, dest: Path) -> Path:
    """The recorded commit's files in ``dest`` (``git archive``), with the patch applied."""
    assert plan.repository is not None and plan.commit is not None
    archive = subprocess.run(
        ["git", "archive", "--format=tar", plan.commit],
        cwd=plan.repository,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise NotFoundError(
            f"git archive of commit {plan.commit} failed: {archive.stderr.decode()[-500:]}"
        )
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    if plan.patch:
        patch_file = dest.parent / "uncommitted.patch"
        patch_file.write_bytes(plan.patch)
        applied = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", str(patch_file)],
            cwd=dest,
            capture_output=True,
            text=True,
            check=False,
        )
        if applied.returncode != 0:
            raise StateError(
                f"the run's uncommitted changes do not apply to commit {plan.commit}: "
                f"{applied.stderr.strip()[-500:]}"
            )
    return dest


def _interpreter(
    plan: Plan,
    env: str,
    work: Path,
    source: Path | None,
    manager: str,
    say: Callable[[str], None],
) -> Path:
    """The Python that runs the command: a new environment's, or this one."""
    recorded = ".".join(plan.python.split(".")[:2])
    if env == "current":
        if platform.python_version() != plan.python:
            say(f"warning: the run used Python {plan.python}, this is {platform.python_version()}")
        differ = _differing(plan.versions)
        if differ:
            shown = ", ".join(differ[:10]) + (" ..." if len(differ) > 10 else "")
            say(f"warning: {len(differ)} package(s) differ from the run's: {shown}")
        return Path(sys.executable)
    say(f"building an environment: Python {recorded}, {len(plan.requirements)} packages")
    python = build_environment(
        work / "env",
        requirements=plan.requirements,
        python_version=recorded,
        manager=manager,
        no_deps=True,
    )
    if plan.copies:
        _copy_local(plan, python, source)
    return python


def _copy_local(plan: Plan, python: Path, source: Path | None) -> None:
    """Copy the local installs into the new environment's site-packages."""
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = Path(found.stdout.strip())
    for copy in plan.copies:
        if copy.from_source:
            if source is None:
                raise EnvironmentBuildError(f"{copy.target} comes from the source copy, none")
            origin = source / copy.path
        else:
            origin = Path(copy.path)
        if not origin.exists():
            raise EnvironmentBuildError(
                f"{origin} is gone, so {copy.target} cannot be copied into the environment.",
                missing=copy.target,
            )
        if origin.is_dir():
            shutil.copytree(origin, site / copy.target, ignore=_CACHES, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, site / copy.target)


_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc")


def _differing(recorded: dict[str, str]) -> list[str]:
    """Distributions whose installed version here is not the recorded one (or missing)."""
    here = {d["name"].lower(): d["version"] for d in capture.distributions()}
    return sorted(
        f"{name} {version} -> {here.get(name, 'missing')}"
        for name, version in recorded.items()
        if here.get(name) != version
    )


def _new_run(client: Client, plan: Plan, since_ms: int) -> Run:
    """The run the command logged with ``carnet.reproduces=<run>``, started since."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(
        experiments,
        filter_string=(
            f"tags.`{capture.REPRODUCES_TAG}` = '{plan.run_id}' "
            f"and attributes.start_time >= {since_ms}"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not found:
        raise StateError(
            f"the command ran but logged no run tagged {capture.REPRODUCES_TAG}={plan.run_id} "
            f"into {client.tracking_uri}: did it start fewer runs than the original (which was "
            f"run number {plan.run_index} of its process), or name another store itself?"
        )
    run: Run = found[0]
    return run
