"""MLflow projects under Carnet: ``carnet run`` runs a folder or git repository with an
``MLproject`` file, as ``mlflow run`` does, and records it in Carnet's store.

The modules, from the top: :mod:`~carnet.projects.api` (MLflow's ``mlflow.run``),
:mod:`~carnet.projects.runner` (fetch, check, create the run,
run the command), :mod:`~carnet.projects.environment` (the interpreter: this one or a
cached built environment), :mod:`~carnet.projects.fetch` (folders and git),
:mod:`~carnet.projects.alias` (the ``mlflow`` stand-in), :mod:`~carnet.projects.params`
(typed values and the shell-quoted command), :mod:`~carnet.projects.python_env` and
:mod:`~carnet.projects.spec` (the files). See docs/projects.md.
"""

from carnet.projects.api import SubmittedRun, run
from carnet.projects.runner import ProjectRun, prepare, run_project
from carnet.projects.spec import EntryPoint, Parameter, Project, load_project

__all__ = [
    "EntryPoint",
    "Parameter",
    "Project",
    "ProjectRun",
    "SubmittedRun",
    "load_project",
    "prepare",
    "run",
    "run_project",
]
