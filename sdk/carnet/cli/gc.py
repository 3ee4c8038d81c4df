"""``carnet gc``: purge deleted runs and experiments, and their artifacts, for good."""

from __future__ import annotations

import click

from carnet.cli._common import db_option, plural, progress_file


def _ids(text: str | None) -> list[str] | None:
    return None if text is None else [i.strip() for i in text.split(",") if i.strip()]


@click.command()
@db_option
@click.option(
    "--run-ids", default=None, metavar="ID,ID", help="Only these deleted runs (comma-separated)."
)
@click.option(
    "--experiment-ids",
    default=None,
    metavar="ID,ID",
    help="Only deleted runs of these experiments, and these experiments if deleted.",
)
@click.option(
    "--logged-model-ids",
    default=None,
    metavar="ID,ID",
    help="Only these deleted logged models (comma-separated); by default every deleted one.",
)
@click.option("--dry-run", is_flag=True, help="Show what would go, remove nothing.")  # fmt: skip
def gc(
    db: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
    logged_model_ids: str | None,
    dry_run: bool,
) -> None:
    """Purge deleted runs, experiments and logged models for good.

    Removes deleted runs (and every run of a deleted experiment) with their
    metrics, params, tags and artifact folders, then the deleted experiments,
    which frees their names, and deleted logged models with their files (not
    one a registered model version was made from). With --run-ids only those
    runs go (and the logged models --logged-model-ids names). Active runs and
    models are never touched. This cannot be undone; try --dry-run first.
    """
    from carnet.store.purge import collect_garbage

    bar: list[object] = []

    def start(total: int) -> None:
        if total:
            label = "checking" if dry_run else "purging"
            bar.append(click.progressbar(length=total, label=f"{label} {total} runs",
                                         file=progress_file()).__enter__())  # fmt: skip

    def step(n: int) -> None:
        if bar:
            bar[0].update(n)  # type: ignore[attr-defined]

    try:
        report = collect_garbage(
            db,
            run_ids=_ids(run_ids),
            experiment_ids=_ids(experiment_ids),
            model_ids=_ids(logged_model_ids),
            dry_run=dry_run,
            on_start=start,
            on_batch=step,
        )
    finally:
        if bar:
            bar[0].__exit__(None, None, None)  # type: ignore[attr-defined]
    verb = "would purge" if dry_run else "purged"
    runs = plural(len(report.run_ids), "run")
    experiments = plural(len(report.experiment_ids), "experiment")
    models = plural(len(report.model_ids), "logged model")
    click.echo(f"{verb} {runs}, {experiments} and {models}")
    folders = plural(report.artifact_folders, "artifact folder")
    click.echo(f"{'would free' if dry_run else 'freed'} {folders} ({_size(report.bytes_freed)})")
    for run_id in report.run_ids:
        click.echo(f"  run {run_id}")
    for experiment_id in report.experiment_ids:
        click.echo(f"  experiment {experiment_id}")
    for model_id in report.model_ids:
        click.echo(f"  logged model {model_id}")
    for note in report.kept:
        click.echo(f"kept: {note}", err=True)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
