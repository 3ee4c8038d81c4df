"""MLflow's Python API for projects: ``mlflow.run()`` and ``mlflow.projects.run()``.

A project (MLflow's multistep examples do this) may run other projects from Python. Under
Carnet ``mlflow.run`` and ``mlflow.projects.run`` are :func:`run`, with MLflow's
signature, on top of :func:`carnet.projects.run_project`: the new run is a child of the
active run, goes to the active experiment unless one is named, and, as in MLflow, a run
that fails raises. Carnet runs projects on this machine and waits for them: another
``backend``, ``synchronous=False``, docker options and ``run_id`` are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carnet import run_context
from carnet.errors import ProjectError
from carnet.projects.runner import ProjectRun, run_project


class SubmittedRun:
    """A project run that has ended, with MLflow's ``SubmittedRun`` methods."""

    def __init__(self, outcome: ProjectRun) -> None:
        self.outcome = outcome

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.outcome.run_id

    def wait(self) -> bool:
        """Whether the run finished well (it has ended already)."""
        return self.outcome.status == "FINISHED"

    def get_status(self) -> str:
        """FINISHED, FAILED or KILLED."""
        return self.outcome.status

    def cancel(self) -> None:
        """Nothing to stop: the run has ended."""

    def __repr__(self) -> str:
        return f"SubmittedRun(run_id={self.run_id!r}, status={self.get_status()!r})"


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    docker_args: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: Mapping[str, Any] | None = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    build_image: bool = False,
    docker_auth: Mapping[str, Any] | None = None,
) -> SubmittedRun:
    """Run the MLflow project ``uri`` and wait for it, as ``mlflow.projects.run`` does.

    ``parameters`` values are turned to text (``0.1`` -> ``"0.1"``). The run is a child of
    the active run, in the active experiment unless ``experiment_name`` or
    ``experiment_id`` is given. A run that does not finish raises ProjectError, as
    MLflow raises ``ExecutionException``. ``storage_dir`` is ignored (Carnet does not
    download path parameters).
    """
    refused = {
        "backend": backend != "local",
        "backend_config": bool(backend_config),
        "synchronous=False": not synchronous,
        "docker_args": bool(docker_args),
        "build_image": build_image,
        "docker_auth": bool(docker_auth),
        "run_id": run_id is not None,
    }
    used = [name for name, given in refused.items() if given]
    if used:
        raise ProjectError(
            f"Carnet runs projects here and waits for them; {', '.join(used)} is not supported."
        )
    if experiment_id is None and experiment_name is None:
        experiment_id = run_context.active_experiment_id()
    outcome = run_project(
        uri,
        entry_point=entry_point,
        parameters={str(k): str(v) for k, v in (parameters or {}).items()},
        version=version,
        env_manager=env_manager,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        parent_run_id=run_context.active_run_id(),
    )
    if outcome.status != "FINISHED":
        raise ProjectError(f"run {outcome.run_id} of project {uri} ended {outcome.status}.")
    return SubmittedRun(outcome)


__all__ = ["SubmittedRun", "run"]
