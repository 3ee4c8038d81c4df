"""Run an MLflow project: fetch it, check it, create its run, run its command, end the run.

Everything that can be checked is checked before the run is created: the URI and
version, the MLproject file, the entry point, every parameter, the environment (built
now when it is not cached). A project that cannot run leaves no run behind.

The run is recorded as MLflow records a project run (``mlflow/projects/utils.py``,
``_create_run``, and the local backend): the tags ``mlflow.source.type=PROJECT``,
``mlflow.source.name`` (the repository URL, or the folder), ``mlflow.source.git.commit``,
``.repoURL`` and ``.branch`` (when ``--version`` is a branch), ``mlflow.project.entryPoint``,
``mlflow.project.env`` (the env manager) and ``mlflow.project.backend=local``, the
parameters as params, and ``mlflow.carnet.project.command``, the exact shell command.

The command runs in ``bash -c`` in the project's folder, in a child process whose
environment names the run (``CARNET_RUN_ID`` and ``MLFLOW_RUN_ID``), the store
(``CARNET_TRACKING_URI``) and the experiment, so ``start_run()`` in the project resumes
the project's run. While it runs, this process beats the run's heartbeat; when it ends,
the run ends FINISHED (exit status 0), FAILED (another status) or KILLED (Ctrl-C).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from carnet import settings
from carnet.client import Client
from carnet.errors import ExperimentExistsError, ProjectError
from carnet.projects.alias import write_shim
from carnet.projects.environment import check_supported, default_manager, interpreter
from carnet.projects.fetch import Fetched, fetch_project, git, git_facts, is_git_work_tree
from carnet.projects.params import build_command, resolve
from carnet.projects.spec import load_project
from carnet.sysinfo import system_tags

#: The run's tags that a project run sets itself rather than take from this process.
_SOURCE_TAGS = ("mlflow.source.name", "mlflow.source.type", "mlflow.source.git.")
#: How long a child that was asked to stop may take before it is killed, in seconds.
STOP_GRACE = 10.0
DEFAULT_EXPERIMENT = "Default"


@dataclass(frozen=True)
class ProjectRun:
    """The outcome of a project run: its run and experiment, final status, the child's
    exit status and the command it ran."""

    run_id: str
    experiment_id: str
    status: str
    returncode: int
    command: str


@dataclass(frozen=True)
class Prepared:
    """A project checked and ready to start: what ``run_project`` runs."""

    fetched: Fetched
    entry_point: str
    command: str
    params: dict[str, str]
    manager: str
    python: Path
    environment_dir: Path | None


def prepare(
    uri: str,
    *,
    entry_point: str = "main",
    parameters: Mapping[str, str] | None = None,
    version: str | None = None,
    env_manager: str | None = None,
    mlflow_alias: bool = True,
) -> Prepared:
    """Fetch and check the project and build (or find) its environment; nothing is
    written to the store. The caller removes a clone with ``prepared.fetched.cleanup()``."""
    fetched = fetch_project(uri, version)
    try:
        project = load_project(fetched.directory)
        manager = env_manager or default_manager(project.environment)
        check_supported(project.environment, manager)
        entry = project.entry_point(entry_point)
        resolved = resolve(entry, parameters or {}, cwd=Path.cwd(), project_dir=fetched.directory)
        command = build_command(entry, resolved)
        python = interpreter(
            project.environment, fetched.directory, manager, mlflow_alias=mlflow_alias
        )
    except BaseException:
        fetched.cleanup()
        raise
    built = None if manager == "local" else python.parent.parent
    return Prepared(fetched, entry.name, command, resolved.all(), manager, python, built)


def run_project(
    uri: str,
    *,
    entry_point: str = "main",
    parameters: Mapping[str, str] | None = None,
    version: str | None = None,
    env_manager: str | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
    mlflow_alias: bool = True,
    parent_run_id: str | None = None,
    on_start: Callable[[str, str], None] | None = None,
) -> ProjectRun:
    """Run the MLflow project ``uri`` (a folder or git URI, ``#subdir`` allowed) and
    return how it ended.

    Args:
        entry_point: an entry point of the MLproject file, or a ``.py``/``.sh`` file.
        parameters: ``-P`` values as text; typed and checked against the entry point.
        version: a git commit, branch or tag to check out (git projects only).
        env_manager: ``local``, ``virtualenv`` or ``uv``; default MLflow's choice.
        experiment_name / experiment_id: where the run goes (a missing name is created);
            default ``$CARNET_EXPERIMENT_ID`` / ``$CARNET_EXPERIMENT_NAME`` (or MLflow's
            variables), else Default.
        run_name: the run's name.
        tracking_uri: the store; default as everywhere (``$CARNET_TRACKING_URI``...).
        mlflow_alias: let ``import mlflow`` in the project mean Carnet.
        parent_run_id: make the run a child of this run (``mlflow.parentRunId``).
        on_start: called with the run id and the command once the run exists.
    """
    if experiment_name is not None and experiment_id is not None:
        raise ProjectError("give --experiment-name or --experiment-id, not both.")
    prepared = prepare(
        uri,
        entry_point=entry_point,
        parameters=parameters,
        version=version,
        env_manager=env_manager,
        mlflow_alias=mlflow_alias,
    )
    try:
        client = Client(tracking_uri)
        exp_id = _experiment(client, experiment_name, experiment_id)
        tags = _tags(prepared, version)
        run = client.create_run(exp_id, tags=tags, run_name=run_name, parent_run_id=parent_run_id)
        run_id = run.info.run_id
        try:
            client.log_batch(run_id, params=list(prepared.params.items()))
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        if on_start is not None:
            on_start(run_id, prepared.command)
        status, code = _execute(client, prepared, run_id, exp_id, mlflow_alias)
        return ProjectRun(run_id, exp_id, status, code, prepared.command)
    finally:
        prepared.fetched.cleanup()


def _experiment(client: Client, name: str | None, ident: str | None) -> str:
    if ident is None and name is None:
        ident = settings.EXPERIMENT_ID.get() or settings.MLFLOW_EXPERIMENT_ID.get()
        if ident is None:
            name = (
                settings.EXPERIMENT_NAME.get()
                or settings.MLFLOW_EXPERIMENT_NAME.get()
                or DEFAULT_EXPERIMENT
            )
    if ident is not None:
        return client.get_experiment(ident).experiment_id
    assert name is not None
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        if name == DEFAULT_EXPERIMENT:
            return str(client.store.create_experiment(name, experiment_id=0))
        return client.create_experiment(name)
    except ExperimentExistsError:  # another process created it just now
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


def _tags(prepared: Prepared, version: str | None) -> dict[str, str]:
    tags = {k: v for k, v in system_tags() if not any(k.startswith(p) for p in _SOURCE_TAGS)}
    fetched = prepared.fetched
    tags.update(
        {
            "mlflow.source.type": "PROJECT",
            "mlflow.source.name": _source_name(fetched),
            "mlflow.project.entryPoint": prepared.entry_point,
            "mlflow.project.env": prepared.manager,
            "mlflow.project.backend": "local",
            "mlflow.carnet.project.command": prepared.command[:8000],
        }
    )
    facts = git_facts(fetched.directory, version)
    if "mlflow.source.git.repoURL" in facts:
        facts["mlflow.source.git.repoURL"] = _public_url(facts["mlflow.source.git.repoURL"])
    tags.update(facts)
    return tags


def _source_name(fetched: Fetched) -> str:
    """MLflow's ``mlflow.source.name``: the URI with ``#subdir`` for a cloned project,
    ``file://<repository>#<subdir>`` for a folder in a git repository, else the folder;
    a password in a URL is never recorded."""
    suffix = f"#{fetched.subdirectory}" if fetched.subdirectory else ""
    if fetched.clone is not None:
        return _public_url(fetched.uri) + suffix
    directory = fetched.directory
    if is_git_work_tree(directory):
        try:
            top = Path(git(["rev-parse", "--show-toplevel"], cwd=directory)).resolve()
            inside = directory.resolve().relative_to(top).as_posix()
        except (ProjectError, ValueError):
            return str(directory)
        return f"file://{top}" + ("" if inside == "." else f"#{inside}")
    return str(directory)


def _public_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None and parsed.username is None:
        return url
    host = parsed.hostname or ""
    netloc = host + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


def child_environment(
    prepared: Prepared, shim: Path, run_id: str, experiment_id: str, tracking_uri: str
) -> dict[str, str]:
    """The environment of the project's process: the run, the store and the experiment
    named for Carnet and for MLflow, the shim first on ``PYTHONPATH`` and ``PATH``."""
    env = dict(os.environ)
    for name in ("CARNET_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)
    env.update(
        {
            settings.RUN_ID.name: run_id,
            settings.MLFLOW_RUN_ID.name: run_id,
            settings.TRACKING_URI.name: tracking_uri,
            settings.EXPERIMENT_ID.name: experiment_id,
            settings.MLFLOW_EXPERIMENT_ID.name: experiment_id,
        }
    )
    if urlparse(tracking_uri).scheme in ("http", "https"):
        env["MLFLOW_TRACKING_URI"] = tracking_uri  # a Carnet server speaks MLflow's API
    inherited = env.get("PYTHONPATH") if prepared.manager == "local" else None
    env["PYTHONPATH"] = os.pathsep.join([str(shim), *([inherited] if inherited else [])])
    path = [str(shim / "bin")]
    if prepared.environment_dir is not None:
        path.append(str(prepared.python.parent))
        env["VIRTUAL_ENV"] = str(prepared.environment_dir)
    env["PATH"] = os.pathsep.join([*path, env.get("PATH", os.defpath)])
    return env


def _execute(
    client: Client, prepared: Prepared, run_id: str, experiment_id: str, mlflow_alias: bool
) -> tuple[str, int]:
    scratch = Path(tempfile.mkdtemp(prefix="carnet-run-"))
    status, code = "FAILED", -1
    try:
        shim = scratch / "shim"
        write_shim(shim, prepared.python, mlflow_alias=mlflow_alias)
        env = child_environment(prepared, shim, run_id, experiment_id, client.tracking_uri)
        shell = shutil.which("bash") or "/bin/sh"
        child = subprocess.Popen(
            [shell, "-c", prepared.command], cwd=prepared.fetched.directory, env=env
        )
        code = _wait(client, child, run_id)
        status = "FINISHED" if code == 0 else "FAILED"
    except KeyboardInterrupt:
        status, code = "KILLED", 130  # the shell's status for Ctrl-C
    finally:
        client.set_terminated(run_id, status)
        shutil.rmtree(scratch, ignore_errors=True)
    return status, code


def _wait(client: Client, child: subprocess.Popen[bytes], run_id: str) -> int:
    """Wait for the child, beating the run's heartbeat; on Ctrl-C stop the child first."""
    try:
        while True:
            try:
                return child.wait(timeout=settings.HEARTBEAT_INTERVAL.get_or_default())
            except subprocess.TimeoutExpired:
                try:
                    client.store.heartbeat([run_id])
                except Exception as exc:  # a busy store must not stop the project
                    print(f"carnet run: heartbeat not written: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        _stop(child)
        raise


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


__all__ = ["STOP_GRACE", "Prepared", "ProjectRun", "child_environment", "prepare", "run_project"]
