"""Sorting and paging runs in the database, with missing values last both ways.

Each key sorts by a rank first (0 a number, 1 NaN or a text-valued param, 2
key missing; always ascending) and then by its values in the asked direction,
so the order is the same on SQLite and PostgreSQL without relying on either's
NULL placement. Ties fall to newest first, then to the run id, so pages never
overlap.

Ranks are CASE expressions, which no index can deliver, so "top 100 by a
metric" would visit every run. When the first key is a metric's last value, a
param or a tag and the search is paged, :func:`tiered_search` instead walks that
key's ``(key, value)`` index in order and stops after ``offset + limit``
matches (tier 0: numbers), then adds NaN or text rows (tier 1) and runs
lacking the key (tier 2, only computed when the first tiers come up short);
the final ORDER BY re-sorts those few candidates with the full rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)

from carnet.query.compile import (
    NULLABLE,
    RunContext,
    attribute_column,
    has_key,
    metric_column,
    runs,
    table_for,
    text,
)
from carnet.query.nodes import Aggregate, Field, Kind, OrderKey


def _rank(*cases: tuple[ColumnElement[bool], int]) -> ColumnElement[int]:
    return case(
        *((cond, literal(rank, Integer())) for cond, rank in cases), else_=literal(0, Integer())
    )


def sort_columns(
    field: Field, ctx: RunContext, alias: FromClause | None
) -> tuple[ColumnElement[int] | None, list[ColumnElement[Any]]]:
    """The rank (None when every run has a value) and the value columns for one key."""
    if field.kind is Kind.ATTRIBUTE:
        column = attribute_column(field.key, ctx)
        if field.key in NULLABLE:
            return _rank((column.is_(None), 1)), [column]
        return None, [column]
    assert alias is not None
    missing = alias.c.run_id.is_(None)
    if field.kind is Kind.METRIC:
        column = metric_column(alias, field.aggregate)
        if field.aggregate is Aggregate.COUNT:
            return _rank((missing, 2)), [column]
        nan = alias.c.is_nan if field.aggregate in (None, Aggregate.LAST) else column.is_(None)
        return _rank((missing, 2), (nan, 1)), [column]
    if field.kind is Kind.PARAM:
        return _rank((missing, 2), (alias.c.value_num.is_(None), 1)), [
            alias.c.value_num,
            alias.c.value,
        ]
    return _rank((missing, 1)), [alias.c.value]


def _join_keys(
    source: FromClause, keys: Sequence[OrderKey], lead: FromClause | None = None
) -> tuple[FromClause, list[FromClause | None]]:
    """LEFT JOIN each key's row; ``lead`` (already joined) stands in for the first key."""
    aliases: list[FromClause | None] = []
    for i, key in enumerate(keys):
        if i == 0 and lead is not None:
            aliases.append(lead)
        elif key.field.kind is Kind.ATTRIBUTE:
            aliases.append(None)
        else:
            alias = table_for(key.field.kind).alias(f"order_{i}")
            source = source.outerjoin(
                alias, and_(alias.c.run_id == runs.c.id, alias.c.key == text(key.field.key))
            )
            aliases.append(alias)
    return source, aliases


def _clauses(
    keys: Sequence[OrderKey],
    aliases: Sequence[FromClause | None],
    ctx: RunContext,
    *,
    first_rank: bool = True,
) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for i, (key, alias) in enumerate(zip(keys, aliases, strict=True)):
        rank, values = sort_columns(key.field, ctx, alias)
        if rank is not None and (i > 0 or first_rank):
            clauses.append(rank.asc())
        clauses.extend(v.desc() if key.descending else v.asc() for v in values)
    if not any(k.field.kind is Kind.ATTRIBUTE and k.field.key == "start_time" for k in keys):
        clauses.append(runs.c.start_time.desc())
    clauses.append(runs.c.id.desc())
    return clauses


def _page(stmt: Select[Any], limit: int | None, offset: int) -> Select[Any]:
    if limit is not None:
        stmt = stmt.limit(int(limit))
    if offset:
        stmt = stmt.offset(int(offset))
    return stmt


def simple_search(
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[OrderKey],
    ctx: RunContext,
    limit: int | None,
    offset: int,
) -> Select[Any]:
    """Filter, sort every match by the full rules, page."""
    source, aliases = _join_keys(runs, keys)
    stmt = select(runs.c.id).select_from(source).where(*where)
    return _page(stmt.order_by(*_clauses(keys, aliases, ctx)), limit, offset)


def index_ordered(key: OrderKey) -> bool:
    """Whether the first key can be walked in an index (last metric value, param, tag)."""
    field = key.field
    return field.kind in (Kind.PARAM, Kind.TAG) or (
        field.kind is Kind.METRIC and field.aggregate in (None, Aggregate.LAST)
    )


def tiered_search(
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[OrderKey],
    ctx: RunContext,
    limit: int,
    offset: int,
) -> Select[Any]:
    """Top ``offset + limit`` runs per tier from the first key's index, re-sorted and paged."""
    need = int(limit) + int(offset)
    first = keys[0].field
    table = table_for(first.kind)
    tier_sets = []

    lead_col = {Kind.METRIC: "value", Kind.PARAM: "value_num", Kind.TAG: "value"}[first.kind]

    def tier(name: str, has_number: bool) -> Any:
        lead = table.alias(f"lead_{name}")
        column = lead.c[lead_col]
        present = column.is_not(None) if has_number else column.is_(None)
        joined = lead.join(runs, lead.c.run_id == runs.c.id)
        source, aliases = _join_keys(joined, keys, lead)
        stmt = (
            select(runs.c.id)
            .select_from(source)
            .where(lead.c.key == text(first.key), present, *where)
            .order_by(*_clauses(keys, aliases, ctx, first_rank=False))
            .limit(need)
        )
        return stmt.cte(f"tier_{name}")

    numbers = tier("values", True)
    tier_sets.append(numbers)
    if first.kind is not Kind.TAG:  # NaN metrics, text-valued params
        tier_sets.append(tier("others", False))
    found = sum(
        (select(func.count()).select_from(t).scalar_subquery() for t in tier_sets),
        start=literal(0, Integer()),
    )
    source, aliases = _join_keys(runs, keys[1:])
    missing = (
        select(runs.c.id)
        .select_from(source)
        .where(found < literal(need, Integer()), ~has_key(table, first.key), *where)
        .order_by(*_clauses(keys[1:], aliases, ctx))
        .limit(need)
        .cte("tier_missing")
    )
    candidates = union_all(*(select(t.c.id) for t in [*tier_sets, missing])).subquery("tiers")
    source, aliases = _join_keys(runs.join(candidates, candidates.c.id == runs.c.id), keys)
    stmt = select(runs.c.id).select_from(source).order_by(*_clauses(keys, aliases, ctx))
    return _page(stmt, limit, offset)
