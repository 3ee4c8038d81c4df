"""Logged-model searches: a checked filter and ``order_by`` keys -> bound SQL over
``logged_models`` and its tag, param and metric tables.

MLflow 3's grammar: attributes without a prefix (``name``, ``model_id``, ``status``,
``source_run_id``, ``model_type``, ``creation_timestamp``), ``tags.<k>``,
``params.<k>`` (text) and ``metrics.<k>`` (a model matches when one of its
points with that key does). Every literal is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, func, not_, or_, select

from carnet.errors import FilterError
from carnet.query.nodes import NEGATED, And, Comparison, Kind, Node, Not, Op, OrderKey
from carnet.store import schema
from carnet.store.sql_search.run_filter import predicate, text

models: Table = schema.logged_models
_CHILDREN: dict[Kind, Table] = {
    Kind.TAG: schema.logged_model_tags,
    Kind.PARAM: schema.logged_model_params,
    Kind.METRIC: schema.logged_model_metrics,
}
_NULLABLE = {"source_run_id", "model_type"}


def _attribute(c: Comparison) -> ColumnElement[bool]:
    column = models.c[c.field.key]
    if c.op is Op.IS_NULL:
        return column.is_(None)
    if c.op is Op.IS_NOT_NULL:
        return column.is_not(None)
    positive = predicate(NEGATED.get(c.op, c.op), c.values, column, column)
    result = not_(positive) if c.op in NEGATED else positive
    return and_(column.is_not(None), result) if c.field.key in _NULLABLE else result


def _child(c: Comparison) -> ColumnElement[bool]:
    table = _CHILDREN[c.field.kind]
    rows = select(table.c.model_id).where(table.c.key == text(c.field.key))
    if c.op is Op.IS_NULL:
        return models.c.id.not_in(rows)
    if c.op is Op.IS_NOT_NULL:
        return models.c.id.in_(rows)
    if c.field.kind is Kind.PARAM and any(isinstance(v.value, float) for v in c.values):
        raise FilterError(
            f"params.{c.field.key}: a logged model's params are text; compare them with quoted "
            "values, e.g. params.alpha = '0.1'"
        )
    if c.field.kind is Kind.METRIC:
        positive = and_(
            table.c.is_nan.is_(False),
            predicate(NEGATED.get(c.op, c.op), c.values, None, table.c.value),
        )
    else:
        positive = predicate(NEGATED.get(c.op, c.op), c.values, table.c.value, None)
    return models.c.id.in_(rows.where(not_(positive) if c.op in NEGATED else positive))


def compile_logged_model_filter(node: Node | None) -> ColumnElement[bool] | None:
    """The WHERE condition for a checked logged-model filter (None: no condition)."""
    if node is None:
        return None
    if isinstance(node, Comparison):
        return _attribute(node) if node.field.kind is Kind.ATTRIBUTE else _child(node)
    if isinstance(node, Not):
        inner = compile_logged_model_filter(node.item)
        assert inner is not None
        return not_(inner)
    items = [p for p in (compile_logged_model_filter(n) for n in node.items) if p is not None]
    return and_(*items) if isinstance(node, And) else or_(*items)


def _sort_value(key: OrderKey) -> ColumnElement[Any]:
    field = key.field
    if field.kind is Kind.ATTRIBUTE:
        return models.c[field.key]
    table = _CHILDREN[field.kind]
    pick = func.max(table.c.value) if key.descending else func.min(table.c.value)
    return (
        select(pick)
        .where(table.c.model_id == models.c.id, table.c.key == text(field.key))
        .scalar_subquery()
    )


def build_logged_model_search(
    experiment_pks: Sequence[int],
    condition: ColumnElement[bool] | None,
    order: Sequence[OrderKey],
    limit: int | None,
    offset: int,
) -> Select[Any]:
    """The ids (``logged_models.id``) of active matching models, sorted and paged.

    By default the newest first; missing sort values come last, then ties break
    on the id so pages never overlap.
    """
    stmt = select(models.c.id).where(
        models.c.experiment_id.in_(list(experiment_pks)), models.c.lifecycle_stage == "active"
    )
    if condition is not None:
        stmt = stmt.where(condition)
    clauses: list[ColumnElement[Any]] = []
    for key in order:
        value = _sort_value(key)
        clauses.append(value.is_(None))
        clauses.append(value.desc() if key.descending else value.asc())
    if not order:
        clauses.append(models.c.creation_timestamp.desc())
    clauses.append(models.c.id.desc())
    stmt = stmt.order_by(*clauses).offset(offset)
    return stmt if limit is None else stmt.limit(limit)
