"""Sorting and paging runs in the database, with missing values last both ways.

Each key sorts by a rank first (0 a number, 1 NaN or a text-valued param, 2
key missing; always ascending) and then by its values in the asked direction,
so the order is the same on SQLite and PostgreSQL without relying on either's
NULL placement. Ties fall to newest first, then to the run id, so pages never
overlap.

Ranks are CASE expressions, which no index can deliver, so "top 100 by a
metric" would sort every match. When the first key is a metric's last value or
a param and the search is paged, :func:`index_walk_search` instead walks that
key's ``(key, value)`` index in order and stops at ``offset + limit`` matches.
The walk is bounded (see ``window_size``); when a selective filter leaves it
short, a full sort of the matches runs instead (otherwise its LIMIT is 0, which
both databases answer without scanning). Either way the final ORDER BY re-sorts the few
candidates with the full rules, so both paths return exactly the same page.
"""

from __future__ import annotations

import math
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

from carnet.query.nodes import Aggregate, Field, Kind, OrderKey
from carnet.store.sql_search.run_filter import (
    NULLABLE,
    RunContext,
    attribute_column,
    metric_column,
    num,
    runs,
    table_for,
    text,
)

#: The index walk visits at most max(WINDOW_MIN, WINDOW_FACTOR * (offset + limit)) entries:
#: a filter that keeps at least 1 run in WINDOW_FACTOR finds its page there.
WINDOW_MIN = 2_000
WINDOW_FACTOR = 20
#: Pages deeper than this (offset + limit) are sorted whole.
MAX_WALK = 2_000


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
    """LEFT JOIN each key's row once (``metrics.loss`` and ``metrics.loss.min`` read the
    same summary row); ``lead`` (already joined) stands in for the first key's row."""
    aliases: list[FromClause | None] = []
    joined: dict[tuple[Kind, str], FromClause] = {}
    if lead is not None and keys:
        joined[keys[0].field.kind, keys[0].field.key] = lead
    for key in keys:
        field = key.field
        if field.kind is Kind.ATTRIBUTE:
            aliases.append(None)
            continue
        alias = joined.get((field.kind, field.key))
        if alias is None:
            alias = table_for(field.kind).alias(f"order_{len(joined)}")
            source = source.outerjoin(
                alias, and_(alias.c.run_id == runs.c.id, alias.c.key == text(field.key))
            )
            joined[field.kind, field.key] = alias
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


def page(stmt: Select[Any], limit: int | None, offset: int) -> Select[Any]:
    """``stmt`` with LIMIT and OFFSET (none when not asked for)."""
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
    columns: Sequence[ColumnElement[Any]] = (runs.c.id,),
) -> Select[Any]:
    """Filter, sort every match by the full rules, page; select ``columns`` of ``runs``."""
    source, aliases = _join_keys(runs, keys)
    stmt = select(*columns).select_from(source).where(*where)
    return page(stmt.order_by(*_clauses(keys, aliases, ctx)), limit, offset)


def use_index_walk(keys: Sequence[OrderKey], limit: int | None, offset: int) -> bool:
    """A small page sorted first by a metric's last value or a param: walk its index.

    Large pages (``search_runs`` asks for 100,000 by default) sort everything anyway.
    """
    if limit is None or int(limit) + int(offset) > MAX_WALK or not keys:
        return False
    field = keys[0].field
    return field.kind is Kind.PARAM or (
        field.kind is Kind.METRIC and field.aggregate in (None, Aggregate.LAST)
    )


def window_size(need: int) -> int:
    """How many index entries the walk may visit before the full sort takes over."""
    return max(WINDOW_MIN, WINDOW_FACTOR * need)


def index_walk_search(
    where: Sequence[ColumnElement[bool]],
    keys: Sequence[OrderKey],
    ctx: RunContext,
    limit: int,
    offset: int,
    columns: Sequence[ColumnElement[Any]] = (runs.c.id,),
) -> Select[Any]:
    """The top ``offset + limit`` runs found by walking the first key's index, else by a
    full sort; the two candidate sets are re-sorted with the full rules and paged, and
    ``columns`` of ``runs`` selected for them."""
    need = int(limit) + int(offset)
    first = keys[0]
    table = table_for(first.field.kind)
    name = "value" if first.field.kind is Kind.METRIC else "value_num"
    key = text(first.field.key)

    # The window: index entries up to the value of the window_size-th one (all of them
    # when there are fewer), as a range the index itself can stop at.
    probe = table.alias("window_end")
    end = probe.c[name]
    cutoff = (
        select(end)
        .where(probe.c.key == key, end.is_not(None))
        .order_by(end.desc() if first.descending else end.asc())
        .limit(1)
        .offset(window_size(need) - 1)
        .scalar_subquery()
    )
    lead = table.alias("lead")
    value = lead.c[name]
    bound = func.coalesce(cutoff, num(-math.inf if first.descending else math.inf))
    source, aliases = _join_keys(lead.join(runs, lead.c.run_id == runs.c.id), keys, lead)
    walked = (
        select(runs.c.id)
        .select_from(source)
        .where(
            lead.c.key == key,
            value.is_not(None),
            value >= bound if first.descending else value <= bound,
            *where,
        )
        .order_by(*_clauses(keys, aliases, ctx, first_rank=False))
        .limit(need)
        .cte("index_walk")
    )
    # LIMIT 0 unless the walk came up short: both databases then skip the full sort
    # entirely (a WHERE condition would still visit every run on SQLite).
    found = select(func.count()).select_from(walked).scalar_subquery()
    rows = case(
        (found < literal(need, Integer()), literal(need, Integer())), else_=literal(0, Integer())
    )
    source, aliases = _join_keys(runs, keys)
    fallback = (
        select(runs.c.id)
        .select_from(source)
        .where(*where)
        .order_by(*_clauses(keys, aliases, ctx))
        .limit(rows)
        .cte("full_sort")
    )
    candidates = union_all(select(walked.c.id), select(fallback.c.id))
    source, aliases = _join_keys(runs, keys)
    stmt = (
        select(*columns)
        .select_from(source)
        .where(runs.c.id.in_(candidates))
        .order_by(*_clauses(keys, aliases, ctx))
    )
    return page(stmt, limit, offset)
