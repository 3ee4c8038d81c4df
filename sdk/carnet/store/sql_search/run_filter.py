"""A checked filter AST -> SQLAlchemy expressions over the store's tables.

Each comparison on a metric, param, tag or dataset becomes a correlated ``EXISTS
(SELECT 1 FROM <table> WHERE run_id = runs.id AND key = :k AND <predicate>)``:
one primary-key probe per candidate run, which lets the database stop early
when the runs arrive in the wanted order (newest first, or walking a metric's
index, see ``run_order``) instead of materialising every match first. EXISTS is
always TRUE or FALSE, never NULL, which makes NOT behave: a run lacking the
key fails ``k != v`` and therefore passes ``NOT k != v``. Negated operators
(``!=``, ``NOT IN``, ``NOT LIKE``) mean "has the key and the positive form does
not hold"; predicates are written NULL-safe so a NaN metric or a text-valued
param fails ``=`` and passes ``!=``. Every literal is a typed bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    FromClause,
    Table,
    Text,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
)

from carnet.query.nodes import (
    NEGATED,
    Aggregate,
    And,
    Comparison,
    Kind,
    Node,
    Not,
    Op,
    Value,
)
from carnet.store import schema
from carnet.store.sql_search.like import like

# Typed handles on the store's tables (schema.py exports them untyped).
runs: Table = schema.runs
params: Table = schema.params
tags: Table = schema.tags
metric_summaries: Table = schema.metric_summaries
inputs: Table = schema.inputs
datasets: Table = schema.datasets

#: Attributes that are NULL for some runs (a run still running has no end).
NULLABLE = frozenset({"end_time", "duration"})
#: The bound parameter holding "now minus the crash timeout" (ms): the only value of a
#: run search that changes between two identical calls, so a compiled search is reused.
CRASH_CUTOFF = "crash_cutoff_ms"


@dataclass(frozen=True)
class RunContext:
    """What a run filter needs besides the text: the clock that decides CRASHED."""

    now_ms: int
    crash_timeout_ms: int


def num(value: float) -> ColumnElement[float]:
    """A float bound parameter (typed, so integer columns never truncate it)."""
    return literal(value, Float())


def text(value: str) -> ColumnElement[str]:
    """A text bound parameter."""
    return literal(value, Text())


def effective_status(ctx: RunContext) -> ColumnElement[str]:
    """The status a reader sees: a RUNNING run whose heartbeat went stale is CRASHED.

    The rule of ``schema.effective_status``, with the cutoff as the named parameter
    :data:`CRASH_CUTOFF` so that a cached statement can be run again later.
    """
    cutoff = bindparam(CRASH_CUTOFF, ctx.now_ms - ctx.crash_timeout_ms, BigInteger())
    stale = and_(
        runs.c.status == "RUNNING",
        func.coalesce(runs.c.heartbeat_time, runs.c.start_time) < cutoff,
    )
    return case((stale, literal("CRASHED")), else_=runs.c.status)


def attribute_column(name: str, ctx: RunContext) -> ColumnElement[Any]:
    """The SQL expression for a run attribute (durations in milliseconds)."""
    if name == "status":
        return effective_status(ctx)
    if name == "duration":
        return runs.c.end_time - runs.c.start_time
    column: ColumnElement[Any] = runs.c[{"run_id": "run_uuid", "run_name": "name"}.get(name, name)]
    return column


def metric_column(table: FromClause, aggregate: Aggregate | None) -> ColumnElement[Any]:
    """The summary column an aggregate reads (a plain metric is its last value)."""
    column = {
        None: "value",
        Aggregate.LAST: "value",
        Aggregate.MIN: "min_value",
        Aggregate.MAX: "max_value",
        Aggregate.COUNT: "count",
    }[aggregate]
    return table.c[column]


def predicate(
    op: Op,
    values: Sequence[Value],
    text_col: ColumnElement[Any] | None,
    num_col: ColumnElement[Any] | None,
) -> ColumnElement[bool]:
    """The positive form of a comparison, TRUE or FALSE even where a column is NULL."""
    strings = [v.value for v in values if isinstance(v.value, str)]
    numbers = [v.value for v in values if isinstance(v.value, float)]
    if op in (Op.LIKE, Op.ILIKE):
        assert text_col is not None
        return like(text_col, strings[0], case_sensitive=op is Op.LIKE)
    parts: list[ColumnElement[bool]] = []
    if strings:
        assert text_col is not None
        parts.append(
            text_col == text(strings[0])
            if op is Op.EQ
            else text_col.in_([text(s) for s in strings])
        )
    if numbers:
        assert num_col is not None
        cond: ColumnElement[bool]
        if op is Op.IN:
            cond = num_col.in_([num(x) for x in numbers])
        else:
            cond = {
                Op.EQ: num_col.__eq__,
                Op.LT: num_col.__lt__,
                Op.LE: num_col.__le__,
                Op.GT: num_col.__gt__,
                Op.GE: num_col.__ge__,
            }[op](num(numbers[0]))
        parts.append(and_(num_col.is_not(None), cond))
    return or_(*parts) if len(parts) > 1 else parts[0]


def _scaled(values: Sequence[Value], factor: float) -> list[Value]:
    return [
        Value(v.value * factor, v.start, v.end) if isinstance(v.value, float) else v for v in values
    ]


def _attribute(c: Comparison, ctx: RunContext) -> ColumnElement[bool]:
    column = attribute_column(c.field.key, ctx)
    if c.op is Op.IS_NULL:
        return column.is_(None)
    if c.op is Op.IS_NOT_NULL:
        return column.is_not(None)
    values = _scaled(c.values, 1000.0) if c.field.key == "duration" else list(c.values)
    positive = predicate(NEGATED.get(c.op, c.op), values, column, column)
    result = not_(positive) if c.op in NEGATED else positive
    return and_(column.is_not(None), result) if c.field.key in NULLABLE else result


def table_for(kind: Kind) -> Table:
    """The table a metric, param or tag key is looked up in."""
    return {Kind.METRIC: metric_summaries, Kind.PARAM: params, Kind.TAG: tags}[kind]


def has_key(
    table: Table, key: str, where: Callable[[FromClause], ColumnElement[bool]] | None = None
) -> ColumnElement[bool]:
    """``EXISTS (SELECT 1 FROM table WHERE run_id = runs.id AND key = :key AND ...)``."""
    row = table.alias()
    conds = [row.c.run_id == runs.c.id, row.c.key == text(key)]
    if where is not None:
        conds.append(where(row))
    return exists().where(*conds).correlate(runs)


def comparison(c: Comparison, ctx: RunContext) -> ColumnElement[bool]:
    """One comparison as a boolean over ``runs``."""
    field = c.field
    if field.kind is Kind.ATTRIBUTE:
        return _attribute(c, ctx)
    if field.kind is Kind.DATASET:
        return dataset_comparison(c)
    table = table_for(field.kind)
    if c.op is Op.IS_NULL:
        return ~has_key(table, field.key)
    if c.op is Op.IS_NOT_NULL:
        return has_key(table, field.key)

    def row_matches(row: FromClause) -> ColumnElement[bool]:
        text_col: ColumnElement[Any] | None
        num_col: ColumnElement[Any] | None
        if field.kind is Kind.METRIC:
            text_col, num_col = None, metric_column(row, field.aggregate)
        else:
            text_col = row.c.value
            num_col = row.c.value_num if field.kind is Kind.PARAM else None
        positive = predicate(NEGATED.get(c.op, c.op), c.values, text_col, num_col)
        return not_(positive) if c.op in NEGATED else positive

    return has_key(table, field.key, row_matches)


def dataset_comparison(c: Comparison) -> ColumnElement[bool]:
    """``EXISTS`` an input of the run whose dataset name or digest, or whose context,
    matches (as MLflow reads ``datasets.*``: ``!=`` holds when some input differs)."""
    row, dataset = inputs.alias(), datasets.alias()
    column = row.c.context if c.field.key == "context" else dataset.c[c.field.key]
    positive = predicate(NEGATED.get(c.op, c.op), c.values, column, None)
    matches = and_(column.is_not(None), not_(positive)) if c.op in NEGATED else positive
    return (
        exists()
        .where(row.c.run_id == runs.c.id, dataset.c.id == row.c.dataset_id, matches)
        .correlate(runs)
    )


def compile_filter(node: Node | None, ctx: RunContext) -> ColumnElement[bool] | None:
    """The WHERE condition for a checked filter (None: no condition)."""
    if node is None:
        return None
    if isinstance(node, Comparison):
        return comparison(node, ctx)
    if isinstance(node, Not):
        inner = compile_filter(node.item, ctx)
        assert inner is not None
        return not_(inner)
    parts = [compile_filter(n, ctx) for n in node.items]
    items = [p for p in parts if p is not None]
    return and_(*items) if isinstance(node, And) else or_(*items)
