"""``carnet replay FILE``: write back buffered points Carnet saved to a spool file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from carnet.cli._common import DB_HELP, open_client, plural
from carnet.errors import CarnetError, ConfigurationError, RunNotActiveError

if TYPE_CHECKING:
    from carnet.client import Client
    from carnet.store.spool import SpooledBatch


def _write_back(client: Client, batch: SpooledBatch) -> None:
    """Log the batch to its run (an ended run takes it as it is, as on MLflow); a deleted
    run must be restored first."""
    run = client.get_run(batch.run_id)
    if run.info.lifecycle_stage == "deleted":
        raise RunNotActiveError(
            f"run {batch.run_id} is deleted; restore it (carnet runs restore {batch.run_id}) "
            "and replay again, or delete the spool file if the points are not wanted."
        )
    client.log_batch(batch.run_id, metrics=batch.metrics)


def _store_of(batches: list[SpooledBatch], file: Path) -> str:
    stores = {b.store for b in batches if b.store}
    if len(stores) > 1:
        raise ConfigurationError(f"{file} names several stores; replay it with --db URI.")
    recorded = next(iter(stores), None)
    if recorded is None or "***" in recorded:
        raise ConfigurationError(
            f"{file} does not name its store in full (a password is never written to it); "
            "replay it with --db URI."
        )
    return recorded


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db", default=None, metavar="URI", help=f"{DB_HELP[:-1]}; default: the "
              "store named in FILE.")  # fmt: skip
def replay(file: Path, db: str | None) -> None:
    """Write back buffered points that could not be written when they were logged.

    When the store refuses buffered points for good (the run was deleted
    meanwhile, the store stayed locked or full past the retry window, or the
    process ended first), Carnet saves them to a carnet-unwritten-*.jsonl file
    and logs its name. This writes them to their runs (a run that has ended
    since keeps its status and end time). Lines written are removed from FILE
    (FILE itself once all are); lines that fail stay, with the reason printed.
    """
    from carnet.store.spool import public_uri, read_spool, rewrite_spool

    batches = list(read_spool(file))
    uri = db if db is not None else _store_of(batches, file)
    client = open_client(uri)
    kept: list[int] = []
    written = 0
    runs: set[str] = set()
    try:
        for i, batch in enumerate(batches):
            try:
                _write_back(client, batch)
            except CarnetError as exc:
                kept.append(batch.line)
                click.echo(f"line {batch.line} (run {batch.run_id}): {exc}", err=True)
            except BaseException:
                kept.extend(b.line for b in batches[i:])
                raise
            else:
                written += len(batch.metrics)
                runs.add(batch.run_id)
    finally:
        rewrite_spool(file, kept)
    click.echo(
        f"replayed {plural(written, 'point')} of {plural(len(runs), 'run')} into {public_uri(uri)}"
    )
    if kept:
        raise click.ClickException(f"{plural(len(kept), 'line')} not written; they stay in {file}.")
