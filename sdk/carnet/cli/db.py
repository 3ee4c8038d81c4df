"""``carnet db``: check a store's schema and integrity, or upgrade it on purpose."""

from __future__ import annotations

import sys

import click

from carnet.cli._common import db_option, to_json


@click.group()
def db() -> None:
    """Check or upgrade the store's schema."""


@db.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for monitoring.")  # fmt: skip
def check(db: str | None, fmt: str) -> None:
    """Schema version, integrity and orphan rows, read-only. Exits 1 when not ok."""
    from carnet.store.maintenance import check_store

    report = check_store(db)
    if fmt == "json":
        click.echo(to_json({
            "uri": _redact(report.uri),
            "schema_version": report.schema_version,
            "code_schema_version": report.code_schema_version,
            "integrity": report.integrity,
            "orphan_rows": report.orphan_rows,
            "summary_mismatches": report.summary_mismatches,
            "problems": list(report.problems),
            "ok": report.ok,
        }))  # fmt: skip
    else:
        click.echo(report.format().replace(report.uri, _redact(report.uri)))
    if not report.ok:
        sys.exit(1)


@db.command()
@db_option
def upgrade(db: str | None) -> None:
    """Migrate the store to this Carnet's schema (back it up first)."""
    from carnet.store.maintenance import upgrade_store

    before, after = upgrade_store(db)
    if before == after:
        click.echo(f"schema already at version {after}; nothing to do")
    else:
        click.echo(f"upgraded schema from version {before} to {after}")


def _redact(uri: str) -> str:
    from carnet.cli.ui import redact

    return redact(uri)
