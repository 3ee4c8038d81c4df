"""Helpers shared by the command modules: the --db option, tables, output formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from carnet.client import Client

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = "Store URI or SQLite path (default: $CARNET_TRACKING_URI, else ./carnet.db)."


def db_option(func: F) -> F:
    """The ``--db`` option every store command takes."""
    return click.option("--db", "db", default=None, metavar="URI", help=DB_HELP)(func)


def open_client(db: str | None, *, read_only: bool = False) -> Client:
    from carnet.client import Client

    return Client(db, read_only=read_only)


def fmt_time(ms: int | None) -> str:
    """Milliseconds since the epoch as a UTC timestamp a person can read."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.6g}"
    text = str(value)
    if text in ("nan", "NaT", "None"):
        return ""
    return " ".join(text.split())


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 40) -> str:
    """Plain aligned text: a header, a rule, one line per row; long cells are cut with '…'."""
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
    return json.dumps(value, indent=2, default=str, allow_nan=True)
