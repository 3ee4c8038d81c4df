"""The search statements the store runs: filter, sort and page in the database.

:func:`build_run_search`, :func:`count_runs` and :func:`build_experiment_search`
each parse and check their text with the filter language (``carnet.query``)
and return a SELECT of ids (a run search: the run's whole row, see
:data:`RUN_ROW`). Every user literal is a bound parameter.
Anything wrong with the text raises :class:`carnet.errors.FilterError` with a
caret under the offending position, before any SQL runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from carnet.entities import LifecycleStage, ViewType
from carnet.errors import InvalidInputError
from carnet.query import parse_filter, parse_order_by
from carnet.store.schema import experiments, runs
from carnet.store.sql_search.experiment_filter import (
    apply_experiment_order,
    compile_experiment_filter,
)
from carnet.store.sql_search.run_filter import RunContext, compile_filter
from carnet.store.sql_search.run_order import (
    index_walk_search,
    page,
    simple_search,
    use_index_walk,
)

#: What a run search returns, in this order: the run's id and every column a reader builds
#: a run (or a frame row) from, so no second query fetches the rows the search found.
RUN_ROW = (
    runs.c.id,
    runs.c.run_uuid,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.user_id,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.heartbeat_time,
    runs.c.lifecycle_stage,
    runs.c.artifact_uri,
    runs.c.parent_run_uuid,
)


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
    """SELECT the :data:`RUN_ROW` of matching runs, sorted (newest first by default), paged."""
    _check_page(limit, offset)
    keys = parse_order_by(order_by)
    where = _run_where(experiment_ids, filter_string, view_type, now_ms, crash_timeout_ms)
    ctx = RunContext(now_ms, crash_timeout_ms)
    if use_index_walk(keys, limit, offset):
        assert limit is not None
        return index_walk_search(where, keys, ctx, limit, offset, RUN_ROW)
    return simple_search(where, keys, ctx, limit, offset, RUN_ROW)


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
