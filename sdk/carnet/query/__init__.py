"""Filter and order_by text -> AST -> bound SQLAlchemy statements.

The store calls :func:`build_run_search`, :func:`count_runs` and
:func:`build_experiment_search`; each returns a SELECT that filters, sorts and
pages in the database and returns only ids. Every user literal is a bound
parameter. Anything wrong with the text raises :class:`carnet.errors.FilterError`
with a caret under the offending position, before any SQL runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, Select, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement

from carnet.entities import LifecycleStage, ViewType
from carnet.errors import FilterError, InvalidInputError
from carnet.query.compile import RunContext, compile_filter
from carnet.query.experiments import apply_experiment_order, compile_experiment_filter
from carnet.query.nodes import Aggregate, Kind, Node, OrderKey
from carnet.query.order import index_walk_search, page, simple_search, use_index_walk
from carnet.query.parser import parse_filter_syntax, parse_order_clause
from carnet.query.validate import (
    MAX_ORDER_KEYS,
    Entity,
    check_filter,
    check_order_key,
    sort_identity,
)
from carnet.store.schema import experiments, runs

__all__ = [
    "Node",
    "OrderKey",
    "build_experiment_search",
    "build_run_search",
    "count_runs",
    "explain",
    "parse_filter",
    "parse_order_by",
]


def parse_filter(text: str | None, *, entity: Entity = "run") -> Node | None:
    """Parse and check a filter; None when it is empty (everything matches)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise FilterError(f"filter_string must be a string, got {type(text).__name__}")
    node = parse_filter_syntax(text)
    return None if node is None else check_filter(node, text, entity)


def parse_order_by(clauses: Sequence[str] | None, *, entity: Entity = "run") -> list[OrderKey]:
    """Parse and check ``order_by`` clauses such as ``["metrics.MSE ASC", "start_time"]``.

    A key named again (in either direction) is dropped: the first clause already
    decided every order the repeat could. At most ``MAX_ORDER_KEYS`` distinct keys
    remain, which keeps the sort's SQL far from SQLite's limits.
    """
    if clauses is None:
        return []
    if isinstance(clauses, str):
        raise FilterError(
            f"order_by must be a list of clauses, got the string {clauses!r}; write [{clauses!r}]"
        )
    keys: list[OrderKey] = []
    seen_text: set[str] = set()
    seen_keys: set[tuple[Kind, str, Aggregate | None]] = set()
    for i, clause in enumerate(clauses):
        if not isinstance(clause, str):
            raise FilterError(
                f"order_by clause {i + 1} must be a string such as "
                f"'metrics.MSE DESC', got {type(clause).__name__}"
            )
        if clause in seen_text:
            continue
        seen_text.add(clause)
        key = check_order_key(parse_order_clause(clause), entity)
        if sort_identity(key) in seen_keys:
            continue
        seen_keys.add(sort_identity(key))
        if len(keys) == MAX_ORDER_KEYS:
            raise FilterError(
                f"order_by sorts by at most {MAX_ORDER_KEYS} different keys, and clause "
                f"{i + 1} ({clause!r}) is key {MAX_ORDER_KEYS + 1}; keep the first "
                f"{MAX_ORDER_KEYS} (each later key only breaks ties left by all before it)"
            )
        keys.append(key)
    return keys


def _lifecycle(column: ColumnElement[str], view_type: ViewType) -> ColumnElement[bool] | None:
    view_type = ViewType(view_type)
    if view_type is ViewType.ACTIVE_ONLY:
        return column == LifecycleStage.ACTIVE
    if view_type is ViewType.DELETED_ONLY:
        return column == LifecycleStage.DELETED
    return None


def _run_where(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    view_type: ViewType,
    now_ms: int,
    crash_timeout_ms: int,
) -> list[ColumnElement[bool]]:
    node = parse_filter(filter_string)
    ctx = RunContext(now_ms, crash_timeout_ms)
    where = [runs.c.experiment_id.in_([int(e) for e in experiment_ids])]
    for cond in (_lifecycle(runs.c.lifecycle_stage, view_type), compile_filter(node, ctx)):
        if cond is not None:
            where.append(cond)
    return where


def _check_page(limit: int | None, offset: int) -> None:
    """Refuse what PostgreSQL would refuse (SQLite reads a negative LIMIT as none)."""
    if (limit is not None and int(limit) < 0) or int(offset) < 0:
        raise InvalidInputError(
            f"max_results and offset must be 0 or more, got {limit} and {offset}"
        )


def build_run_search(
    *,
    experiment_ids: Sequence[int],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    view_type: ViewType,
    now_ms: int,
    crash_timeout_ms: int,
    limit: int | None,
    offset: int = 0,
) -> Select[Any]:
    """SELECT runs.id of matching runs, sorted (newest first by default) and paged."""
    _check_page(limit, offset)
    keys = parse_order_by(order_by)
    where = _run_where(experiment_ids, filter_string, view_type, now_ms, crash_timeout_ms)
    ctx = RunContext(now_ms, crash_timeout_ms)
    if use_index_walk(keys, limit, offset):
        assert limit is not None
        return index_walk_search(where, keys, ctx, limit, offset)
    return simple_search(where, keys, ctx, limit, offset)


def count_runs(
    *,
    experiment_ids: Sequence[int],
    filter_string: str | None,
    view_type: ViewType,
    now_ms: int,
    crash_timeout_ms: int,
) -> Select[Any]:
    """SELECT count(*) of the runs :func:`build_run_search` would return, unpaged."""
    where = _run_where(experiment_ids, filter_string, view_type, now_ms, crash_timeout_ms)
    return select(func.count()).select_from(runs).where(*where)


def build_experiment_search(
    *,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    view_type: ViewType,
    limit: int | None,
    offset: int = 0,
) -> Select[Any]:
    """SELECT experiments.experiment_id of matching experiments, sorted and paged."""
    _check_page(limit, offset)
    keys = parse_order_by(order_by, entity="experiment")
    node = parse_filter(filter_string, entity="experiment")
    stmt = select(experiments.c.experiment_id)
    for cond in (
        _lifecycle(experiments.c.lifecycle_stage, view_type),
        compile_experiment_filter(node),
    ):
        if cond is not None:
            stmt = stmt.where(cond)
    return page(apply_experiment_order(stmt, keys), limit, offset)


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
    """The database's plan for ``stmt``, one line per step (for the bench's verbose mode)."""
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
