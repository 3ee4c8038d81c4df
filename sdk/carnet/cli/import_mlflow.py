"""``carnet import-mlflow``: copy an MLflow tracking store into Carnet, idempotently."""

from __future__ import annotations

from typing import Any

import click

from carnet.cli._common import db_option, progress_file


@click.command("import-mlflow")
@db_option
@click.argument("source")
@click.option(
    "--artifacts-dir",
    default=None,
    metavar="DIR",
    help="Where the MLflow artifacts are, when not at the paths the store "
    "records (e.g. a server's ./mlartifacts, or a moved mlruns).",
)
@click.option("-e", "--experiment", "experiments", multiple=True, metavar="NAME",
              help="Import only this experiment (repeatable).")  # fmt: skip
def import_mlflow(
    db: str | None, source: str, artifacts_dir: str | None, experiments: tuple[str, ...]
) -> None:
    """Copy an MLflow tracking store into Carnet.

    Copies experiments, runs, params, full metric histories, tags, statuses,
    start and end times, and artifacts.

    SOURCE is MLflow's SQLite file (mlflow.db or sqlite:///mlflow.db), another
    database URL MLflow wrote to, or an mlruns folder. Running it again imports
    only runs not imported yet (each keeps its MLflow id in the tag
    carnet.imported_from). MLflow need not be installed.
    """
    from carnet.mlflow_import import import_mlflow as run_import

    bar: list[Any] = []

    def start(total: int) -> None:
        if total:
            bar.append(click.progressbar(length=total, label=f"importing {total} runs",
                                         file=progress_file()).__enter__())  # fmt: skip

    try:
        report = run_import(
            source,
            tracking_uri=db,
            artifacts_dir=artifacts_dir,
            experiment_names=list(experiments) or None,
            on_start=start,
            on_run=lambda _run: bar[0].update(1) if bar else None,
        )
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
    click.echo(report.format())
