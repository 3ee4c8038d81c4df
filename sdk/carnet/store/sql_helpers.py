"""What every module of the SQL store shares: cursors, placeholders, the paramstyle, time.

This module imports nothing of the store, so any store module can use it
without an import circle. Our own statements are fixed text with ``?``
placeholders (sqlite3's paramstyle); :func:`statement_style` is the one place
that rewrites them to ``%s`` for psycopg.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

#: Ids bound in one ``IN (...)`` list at most, well below every backend's limit.
CHUNK = 4000
#: NaN, as metric values and summaries hold it.
NAN = float("nan")
#: Rows one multi-row INSERT carries at most; a larger batch goes through ``executemany``.
MULTI_ROW_MAX = 64

#: Turns one of our ``?`` statements into the DBAPI's paramstyle.
Sql = Callable[[str], str]


class Cursor(Protocol):
    """The part of a DBAPI (PEP 249) cursor the store uses; sqlite3's and psycopg's fit."""

    @property
    def rowcount(self) -> int:
        """Rows the last ``execute`` changed."""
        ...

    def execute(self, operation: str, parameters: Any = ..., /) -> Any:
        """Run one statement with bound parameters."""
        ...

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any], /) -> Any:
        """Run one statement once per parameter tuple."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> Sequence[Any]:
        """Every remaining row."""
        ...

    def fetchmany(self, size: int = ..., /) -> Sequence[Any]:
        """The next ``size`` rows (fewer at the end, none when done)."""
        ...


def now_ms() -> int:
    """Milliseconds since the epoch: what the store records as a time."""
    return time.time_ns() // 1_000_000


def placeholders(n: int) -> str:
    """``?,?,...`` for an ``IN`` list of ``n`` bound values."""
    return ",".join("?" * n)


@functools.lru_cache(maxsize=512)
def row_placeholders(width: int, n: int) -> str:
    """``(?, ?), (?, ?)``: the ``VALUES`` list of ``n`` rows of ``width`` bound values."""
    row = "(" + ", ".join("?" * width) + ")"
    return ", ".join([row] * n)


def insert_rows(
    cur: Cursor, sql: Sql, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
) -> None:
    """Run ``{head} VALUES (...){tail}`` for every row of ``rows`` (all of one width).

    A small batch (up to :data:`MULTI_ROW_MAX` rows, the usual few params, tags
    or metrics of a call) is one statement with every row in its ``VALUES``
    list: one execution instead of one per row, which at this size costs about
    half as much. A large one goes through ``executemany``. ``tail`` (an
    ``ON CONFLICT`` clause) must not return rows.
    """
    if not rows:
        return
    width = len(rows[0])
    if len(rows) <= MULTI_ROW_MAX:
        flat = [value for row in rows for value in row]
        cur.execute(sql(f"{head} VALUES {row_placeholders(width, len(rows))}{tail}"), flat)
    else:
        cur.executemany(sql(f"{head} VALUES {row_placeholders(width, 1)}{tail}"), rows)


def _as_written(text: str) -> str:
    return text


def statement_style(dialect: str) -> Sql:
    """A function giving our fixed ``?`` statements in ``dialect``'s DBAPI paramstyle.

    SQLite takes them as written. For psycopg each distinct statement is
    rewritten to ``%s`` once and remembered, so a hot path pays a dict lookup.
    """
    if dialect == "sqlite":
        return _as_written
    rewritten: dict[str, str] = {}

    def pyformat(text: str) -> str:
        found = rewritten.get(text)
        if found is None:
            found = rewritten[text] = text.replace("?", "%s")
        return found

    return pyformat


def table_exists(cur: Cursor, dialect: str, name: str) -> bool:
    """Whether the connected database has the table ``name`` (in the current schema)."""
    if dialect == "sqlite":
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None
    # Not to_regclass(): it reads the backend's relation cache, which keeps a
    # stale "no such table" after waiting on the advisory lock while another
    # process created the schema. A catalog query sees what is committed.
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
        "WHERE schemaname = current_schema() AND tablename = %s)",
        (name,),
    )
    return bool(cur.fetchone()[0])
