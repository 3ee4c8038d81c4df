"""Helpers shared by the command modules: the --db option, experiments by name or id,
plain aligned tables and output formats."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from carnet.errors import ExperimentNotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from carnet.client import Client
    from carnet.entities import Experiment

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = "Store URI or SQLite path (default: $CARNET_TRACKING_URI, else ./carnet.db)."
FORMATS = click.Choice(["table", "csv", "json"], case_sensitive=False)


def db_option(func: F) -> F:
    """The ``--db`` option every store command takes."""
    return click.option("--db", "db", default=None, metavar="URI", help=DB_HELP)(func)


def format_option(func: F) -> F:
    """The ``--format table|csv|json`` option of commands that print rows."""
    return click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default="table",
        show_default=True,
        help="table for people; csv or json for scripts.",
    )(func)


def open_client(db: str | None, *, read_only: bool = False) -> Client:
    """A ``Client`` of the store ``--db`` names (or the default store), imported late
    so ``carnet --help`` stays fast.
    """
    from carnet.client import Client

    return Client(db, read_only=read_only)


def find_experiment(client: Client, ident: str) -> Experiment:
    """An experiment by exact name, else by id (deleted ones included)."""
    found = client.get_experiment_by_name(ident)
    if found is not None:
        return found
    if ident.isdigit():
        try:
            return client.get_experiment(ident)
        except ExperimentNotFoundError:
            pass
    raise ExperimentNotFoundError(
        f"no experiment named or numbered {ident!r}; see 'carnet experiments list --all'."
    )


def progress_file() -> TextIO:
    """Progress bars go to stderr so stdout stays clean for pipes."""
    return sys.stderr


def fmt_time(ms: int | None) -> str:
    """Milliseconds since the epoch as a UTC timestamp a person can read."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_cell(value: Any) -> str:
    """One table cell: missing values blank, floats short, timestamps to the second."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if hasattr(value, "strftime"):
        try:
            return str(value.strftime("%Y-%m-%d %H:%M:%S"))
        except ValueError:  # NaT
            return ""
    text = str(value)
    if text in ("nan", "NaT", "None", "<NA>"):
        return ""
    return " ".join(text.split())


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 40) -> str:
    """Plain aligned text: a header, a rule, one line per row; long cells end in '…'."""
    cells = [[_cut(fmt_cell(v), max_width) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def to_json(value: Any) -> str:
    """Indented JSON for ``--format json``; values JSON cannot hold are written as text."""
    return json.dumps(value, indent=2, default=str)


def plural(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} {noun}" if n == 1 or noun.endswith("s") else f"{n} {noun}s"


def echo_frame(frame: pd.DataFrame, fmt: str, noun: str = "row") -> None:
    """A DataFrame as a table, CSV or JSON records on stdout."""
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", indent=2))
    elif frame.empty:
        click.echo(f"no {noun}s")
    else:
        rows = frame.itertuples(index=False, name=None)
        click.echo(table([str(c) for c in frame.columns], list(rows)))
        click.echo(f"({plural(len(frame), noun)})")
