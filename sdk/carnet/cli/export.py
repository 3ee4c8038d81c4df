"""``carnet export``: every run of an experiment as one CSV or Parquet file."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click

from carnet.cli._common import db_option, find_experiment, open_client, plural
from carnet.errors import ConfigurationError


@click.command()
@db_option
@click.argument("experiment")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="PATH",
    help="File to write ('-' for stdout, CSV only). Default: <experiment>.<format>.",
)
@click.option(
    "--filter", "filter_string", default="", metavar="QUERY", help="Only runs matching this filter."
)
@click.option("--all", "show_all", is_flag=True, help="Include deleted runs.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")  # fmt: skip
def export(
    db: str | None,
    experiment: str,
    fmt: str,
    output: str | None,
    filter_string: str,
    show_all: bool,
    force: bool,
) -> None:
    """Write an experiment's runs to a CSV or Parquet file.

    EXPERIMENT is a name or an id. The columns are MLflow's: run_id, status,
    start_time, end_time, metrics.*, params.*, tags.* and the run name.
    """
    client = open_client(db, read_only=True)
    found = find_experiment(client, experiment)
    frame = client.search_runs_frame(
        [found.experiment_id], filter_string, "ALL" if show_all else "ACTIVE_ONLY"
    )
    if output == "-":
        if fmt != "csv":
            raise ConfigurationError("Parquet cannot go to stdout; give a file with -o.")
        click.echo(frame.to_csv(index=False), nl=False)
        return
    path = Path(output) if output else Path(f"{_safe_name(found.name)}.{fmt}")
    if path.exists() and not force:
        raise ConfigurationError(f"{path} exists; pass --force to overwrite it or -o elsewhere.")
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        _write_parquet(frame, path)
    click.echo(f"wrote {plural(len(frame), 'run')} of {found.name!r} to {path}")


def _safe_name(name: str) -> str:
    """An experiment name as a file name (no folders, no odd characters)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "experiment"


def _write_parquet(frame: object, path: Path) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError("Parquet needs pyarrow: pip install pyarrow.")
    frame = frame.copy()
    for column in frame.columns:  # params and tags are text; keep missing ones as nulls
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("string")
    frame.attrs.clear()
    frame.to_parquet(path, index=False, engine="pyarrow")
