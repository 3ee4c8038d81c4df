"""``carnet experiments``: list, create, rename, delete and restore experiments."""

from __future__ import annotations

import click

from carnet.cli._common import (
    db_option,
    echo_frame,
    find_experiment,
    fmt_time,
    format_option,
    open_client,
)
from carnet.errors import InvalidInputError


@click.group()
def experiments() -> None:
    """List and manage experiments."""


@experiments.command("list")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@click.option("--deleted", is_flag=True, help="Only deleted experiments.")
@format_option
def list_(db: str | None, show_all: bool, deleted: bool, fmt: str) -> None:
    """Experiments with their number of runs, newest first."""
    import pandas as pd

    client = open_client(db, read_only=True)
    view = "DELETED_ONLY" if deleted else "ALL" if show_all else "ACTIVE_ONLY"
    found = sorted(
        client.search_experiments(view), key=lambda e: e.creation_time or 0, reverse=True
    )
    rows = [
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "lifecycle_stage": e.lifecycle_stage,
            "runs": client.count_runs([e.experiment_id], run_view_type="ALL"),
            "created": fmt_time(e.creation_time),
            "artifact_location": e.artifact_location,
        }
        for e in found
    ]
    columns = ["experiment_id", "name", "lifecycle_stage", "runs", "created", "artifact_location"]
    echo_frame(pd.DataFrame(rows, columns=columns), fmt, "experiment")


def _parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--tag {pair!r}: write it as KEY=VALUE, e.g. --tag team=med.")
        tags[key] = value
    return tags


@experiments.command()
@db_option
@click.argument("name")
@click.option(
    "--artifact-location",
    default=None,
    help="Folder for the runs' artifacts; it must lie under an allowed artifact root "
    "(CARNET_ARTIFACT_ROOT, the store's default, or a folder in CARNET_ARTIFACT_ROOTS).",
)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
def create(db: str | None, name: str, artifact_location: str | None, tags: tuple[str, ...]) -> None:
    """Create an experiment called NAME."""
    client = open_client(db)
    experiment_id = client.create_experiment(name, artifact_location, _parse_tags(tags))
    click.echo(f"created experiment {name!r} with id {experiment_id}")


@experiments.command()
@db_option
@click.argument("experiment")
@click.argument("new_name")
def rename(db: str | None, experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT (a name or an id) to NEW_NAME."""
    client = open_client(db)
    found = find_experiment(client, experiment)
    client.rename_experiment(found.experiment_id, new_name)
    click.echo(f"renamed experiment {found.experiment_id}: {found.name!r} -> {new_name!r}")


@experiments.command()
@db_option
@click.argument("experiment")
def delete(db: str | None, experiment: str) -> None:
    """Delete EXPERIMENT (name or id); its runs are kept until 'carnet gc'."""
    client = open_client(db)
    found = find_experiment(client, experiment)
    client.delete_experiment(found.experiment_id)
    click.echo(
        f"deleted experiment {found.name!r} (id {found.experiment_id}); undo with "
        f"'carnet experiments restore {found.experiment_id}', purge with 'carnet gc'"
    )


@experiments.command()
@db_option
@click.argument("experiment")
def restore(db: str | None, experiment: str) -> None:
    """Restore a deleted EXPERIMENT (name or id)."""
    client = open_client(db)
    found = find_experiment(client, experiment)
    client.restore_experiment(found.experiment_id)
    click.echo(f"restored experiment {found.name!r} (id {found.experiment_id})")
