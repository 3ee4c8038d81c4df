"""Run searches compiled once and run again with fresh values.

Building a search's SQLAlchemy statement costs several milliseconds (column
collections, aliases, CASE ranks), more than SQLite takes to answer a top-100
over thousands of runs. A notebook or the dashboard asks the same search again
and again, and between two such calls only the clock moves: the crash cutoff,
bound as :data:`run_filter.CRASH_CUTOFF`. So each search is compiled once per
dialect and its inputs, and kept as SQL text (every literal still a bound
parameter, never user text in the SQL) with its parameters in driver order.
The store runs that text on a DBAPI cursor (:meth:`PreparedSearch.execute`),
the one its next reads use: a top-100 is too small to pay for a SQLAlchemy
result object around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Dialect

from carnet.entities import ViewType
from carnet.store.sql_helpers import Cursor
from carnet.store.sql_search.run_filter import CRASH_CUTOFF
from carnet.store.sql_search.statements import build_run_search, count_runs

#: Distinct searches kept per process (each a few kilobytes of SQL text).
CACHE_SIZE = 256


@dataclass(frozen=True)
class PreparedSearch:
    """A compiled search: SQL text and its parameters, the cutoff filled in per call."""

    sql: str
    #: Positional drivers (SQLite): the values in order; None for named drivers.
    order: tuple[str, ...] | None
    values: Mapping[str, Any]

    def parameters(self, cutoff_ms: int) -> Any:
        """The driver's parameters for one call: a tuple (positional) or a dict (named)."""
        values: Mapping[str, Any] = self.values
        if CRASH_CUTOFF in values:
            values = {**values, CRASH_CUTOFF: cutoff_ms}
        if self.order is None:
            return dict(values)
        return tuple([values[n] for n in self.order])

    def run(self, conn: Connection, cutoff_ms: int) -> Any:
        """Execute with the crash cutoff of this call; returns the driver's result."""
        return conn.exec_driver_sql(self.sql, self.parameters(cutoff_ms))

    def execute(self, cursor: Cursor, cutoff_ms: int) -> None:
        """Execute on a DBAPI cursor (fetch from it next): the reads that follow share
        its snapshot, and no SQLAlchemy result is built around a few hundred rows."""
        cursor.execute(self.sql, self.parameters(cutoff_ms))


def _prepare(stmt: Select[Any], dialect: Dialect) -> PreparedSearch:
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    order = compiled.positiontup
    return PreparedSearch(str(compiled), None if order is None else tuple(order), dict(values))


@lru_cache(maxsize=CACHE_SIZE)
def prepared_run_search(
    dialect: Dialect,
    experiment_ids: tuple[int, ...],
    filter_string: str | None,
    order_by: tuple[str, ...] | None,
    view_type: ViewType,
    crash_timeout_ms: int,
    limit: int | None,
    offset: int,
) -> PreparedSearch:
    """:func:`statements.build_run_search`, compiled once for these inputs."""
    stmt = build_run_search(
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        order_by=order_by,
        view_type=view_type,
        now_ms=crash_timeout_ms,
        crash_timeout_ms=crash_timeout_ms,
        limit=limit,
        offset=offset,
    )
    return _prepare(stmt, dialect)


@lru_cache(maxsize=CACHE_SIZE)
def prepared_count_runs(
    dialect: Dialect,
    experiment_ids: tuple[int, ...],
    filter_string: str | None,
    view_type: ViewType,
    crash_timeout_ms: int,
) -> PreparedSearch:
    """:func:`statements.count_runs`, compiled once for these inputs."""
    stmt = count_runs(
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        view_type=view_type,
        now_ms=crash_timeout_ms,
        crash_timeout_ms=crash_timeout_ms,
    )
    return _prepare(stmt, dialect)


def freeze(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """A hashable copy of an order_by list (a cache key)."""
    return None if values is None else tuple(values)
