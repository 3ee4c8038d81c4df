"""The database's own plan for a search statement (the bench's verbose mode, the docs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, Select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement


class _Explain(Executable, ClauseElement):
    """``EXPLAIN`` (SQLite: ``EXPLAIN QUERY PLAN``) of a statement, with its bound values."""

    inherit_cache = False

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt


@compiles(_Explain)
def _explain_default(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN " + str(compiler.process(element.stmt, **kw))


@compiles(_Explain, "sqlite")
def _explain_sqlite(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN QUERY PLAN " + str(compiler.process(element.stmt, **kw))


def explain(stmt: Select[Any], engine: Engine) -> str:
    """The database's plan for ``stmt``, one line per step, so a slow search can be read."""
    with engine.connect() as conn:
        rows = conn.execute(_Explain(stmt)).fetchall()
    if engine.dialect.name == "sqlite":  # (id, parent, notused, detail): indent by depth
        depth: dict[int, int] = {}
        lines = []
        for node_id, parent, _, detail in rows:
            depth[node_id] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node_id] + str(detail))
        return "\n".join(lines)
    return "\n".join(str(row[0]) for row in rows)
