"""``carnet run URI``: run an MLflow project (an ``MLproject`` folder or git repository)."""

from __future__ import annotations

import click

from carnet.cli._common import DB_HELP


@click.command(name="run")
@click.argument("uri", metavar="DIR_OR_GIT_URI")
@click.option(
    "-e",
    "--entry-point",
    default="main",
    show_default=True,
    help="Entry point of the MLproject file, or a .py or .sh file of the project.",
)
@click.option(
    "-P",
    "--param-list",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter, repeatable: -P alpha=0.5 -P l1_ratio=0.1.",
)
@click.option(
    "-v",
    "--version",
    "version",
    default=None,
    metavar="COMMIT",
    help="Git commit, branch or tag to run (git projects only).",
)
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv", "uv"]),
    default=None,
    help="local: this Python; virtualenv or uv: a cached environment built from "
    "python_env.yaml. Default as in MLflow: virtualenv for a project with a python "
    "environment, conda (refused) for a conda one, local for one without.",
)
@click.option("--experiment-name", default=None, help="Experiment of the run (created if missing).")
@click.option("--experiment-id", default=None, help="Id of an existing experiment for the run.")
@click.option("--run-name", default=None, help="Name of the run.")
@click.option(
    "--mlflow-alias/--no-mlflow-alias",
    default=True,
    show_default=True,
    help="Let `import mlflow` in the project mean Carnet; turn it off to use a real "
    "mlflow installed in the project's environment.",
)
@click.option("--db", "db", default=None, metavar="URI", help=DB_HELP)
def run(
    uri: str,
    entry_point: str,
    params: tuple[str, ...],
    version: str | None,
    env_manager: str | None,
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    mlflow_alias: bool,
    db: str | None,
) -> None:
    """Run an MLflow project and record it as a run, as `mlflow run` does.

    DIR_OR_GIT_URI is a folder, a file:// URI, or a git URI (https://, ssh://,
    git@host:path); add #sub/dir to run a project in a subfolder. The MLproject
    file's entry point runs in bash in the project's folder, with its
    parameters shell-quoted; `carnet.start_run()` (or `mlflow.start_run()`) in
    the project logs into the project's run. The exit status is the project's.
    """
    from carnet.projects.params import parse_assignments
    from carnet.projects.runner import run_project

    def started(run_id: str, command: str) -> None:
        click.echo(f"=== Running command {command!r} in run {run_id} ===", err=True)

    outcome = run_project(
        uri,
        entry_point=entry_point,
        parameters=parse_assignments(params),
        version=version,
        env_manager=env_manager,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        tracking_uri=db,
        mlflow_alias=mlflow_alias,
        on_start=started,
    )
    click.echo(f"=== Run {outcome.run_id} {outcome.status} ===", err=True)
    if outcome.returncode != 0:
        raise SystemExit(outcome.returncode if outcome.returncode > 0 else 1)
