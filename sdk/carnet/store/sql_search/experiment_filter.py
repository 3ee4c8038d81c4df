"""Experiment filters: attributes of ``experiments`` and ``tags.<k>`` from experiment_tags.

The same AST and the same NULL-safe predicates as runs, over a smaller
vocabulary (validation has already refused metrics and params).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, not_, or_, select

from carnet.query.nodes import NEGATED, And, Comparison, Kind, Node, Not, Op, OrderKey
from carnet.store import schema
from carnet.store.sql_search.run_filter import predicate, text

experiments: Table = schema.experiments
experiment_tags: Table = schema.experiment_tags


def _comparison(c: Comparison) -> ColumnElement[bool]:
    positive_op = NEGATED.get(c.op, c.op)
    if c.field.kind is Kind.ATTRIBUTE:
        column = experiments.c[c.field.key]
        if c.op is Op.IS_NULL:
            return column.is_(None)
        if c.op is Op.IS_NOT_NULL:
            return column.is_not(None)
        positive = predicate(positive_op, c.values, column, column)
        return and_(column.is_not(None), not_(positive) if c.op in NEGATED else positive)
    rows = select(experiment_tags.c.experiment_id).where(experiment_tags.c.key == text(c.field.key))
    if c.op is Op.IS_NULL:
        return experiments.c.experiment_id.not_in(rows)
    if c.op is Op.IS_NOT_NULL:
        return experiments.c.experiment_id.in_(rows)
    positive = predicate(positive_op, c.values, experiment_tags.c.value, None)
    return experiments.c.experiment_id.in_(
        rows.where(not_(positive) if c.op in NEGATED else positive)
    )


def compile_experiment_filter(node: Node | None) -> ColumnElement[bool] | None:
    """The WHERE condition for a checked experiment filter (None: no condition)."""
    if node is None:
        return None
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, Not):
        inner = compile_experiment_filter(node.item)
        assert inner is not None
        return not_(inner)
    items = [p for p in (compile_experiment_filter(n) for n in node.items) if p is not None]
    return and_(*items) if isinstance(node, And) else or_(*items)


def apply_experiment_order(stmt: Select[Any], keys: Sequence[OrderKey]) -> Select[Any]:
    """Order by ``keys``; by default most recently updated first, then by id."""
    clauses: list[ColumnElement[Any]] = []
    for key in keys:
        column = experiments.c[key.field.key]
        clauses.append(column.desc() if key.descending else column.asc())
    if not keys:
        clauses.append(experiments.c.last_update_time.desc())
    if not any(k.field.key == "experiment_id" for k in keys):
        clauses.append(experiments.c.experiment_id.desc())
    return stmt.order_by(*clauses)
