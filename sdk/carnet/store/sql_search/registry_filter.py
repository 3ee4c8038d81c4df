"""Registry searches: registered-model and model-version filters and orders -> SELECTs of ids.

MLflow's registry grammar (``name LIKE 'fraud%'``, ``tags.team = 'risk'``,
``run_id IN ('a', 'b')``, ``version_number > 3``, ``source_path LIKE ...``)
is parsed and checked by the filter language (``carnet.query``, entities
``registered_model`` and ``model_version``) and compiled here with the same
NULL-safe predicates as runs; every literal is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, not_, or_, select
from sqlalchemy.engine import Dialect

from carnet.query import parse_filter, parse_order_by
from carnet.query.nodes import NEGATED, And, Comparison, Kind, Node, Not, Op, OrderKey
from carnet.store import schema
from carnet.store.sql_search.run_filter import predicate, text
from carnet.store.sql_search.run_order import page

registered_models: Table = schema.registered_models
model_versions: Table = schema.model_versions
registered_model_tags: Table = schema.registered_model_tags
model_version_tags: Table = schema.model_version_tags

_MODEL_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": registered_models.c.name,
    "creation_timestamp": registered_models.c.creation_time,
    "last_updated_timestamp": registered_models.c.last_updated_time,
}
_VERSION_COLUMNS: dict[str, ColumnElement[Any]] = {
    "name": registered_models.c.name,
    "version_number": model_versions.c.version,
    "run_id": model_versions.c.run_id,
    "source_path": model_versions.c.source,
    "creation_timestamp": model_versions.c.creation_time,
    "last_updated_timestamp": model_versions.c.last_updated_time,
}


def _attribute(c: Comparison, column: ColumnElement[Any]) -> ColumnElement[bool]:
    if c.op is Op.IS_NULL:
        return column.is_(None)
    if c.op is Op.IS_NOT_NULL:
        return column.is_not(None)
    positive = predicate(NEGATED.get(c.op, c.op), c.values, column, column)
    return and_(column.is_not(None), not_(positive) if c.op in NEGATED else positive)


#: MLflow 3's client adds ``tags.`mlflow.prompt.is_prompt` != 'true'`` to every registry
#: search (prompts live in the registry too); a model without the tag is not a prompt.
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _missing_means_false(c: Comparison) -> bool:
    """The prompt tag compared as MLflow does: a model lacking it reads as ``'false'``."""
    value = c.values[0].value if len(c.values) == 1 else None
    return c.field.key == PROMPT_TAG and (
        (c.op is Op.NE and value == "true") or (c.op is Op.EQ and value == "false")
    )


def _tag(c: Comparison, owner: ColumnElement[Any], tags: Table, fk: str) -> ColumnElement[bool]:
    rows = select(tags.c[fk]).where(tags.c.key == text(c.field.key))
    if c.op is Op.IS_NULL:
        return owner.not_in(rows)
    if c.op is Op.IS_NOT_NULL:
        return owner.in_(rows)
    positive = predicate(NEGATED.get(c.op, c.op), c.values, tags.c.value, None)
    matched = owner.in_(rows.where(not_(positive) if c.op in NEGATED else positive))
    return or_(matched, owner.not_in(rows)) if _missing_means_false(c) else matched


def _compile(node: Node | None, versions: bool) -> ColumnElement[bool] | None:
    if node is None:
        return None
    if isinstance(node, Comparison):
        if node.field.kind is Kind.ATTRIBUTE:
            columns = _VERSION_COLUMNS if versions else _MODEL_COLUMNS
            return _attribute(node, columns[node.field.key])
        if versions:
            return _tag(node, model_versions.c.id, model_version_tags, "model_version_id")
        return _tag(node, registered_models.c.id, registered_model_tags, "registered_model_id")
    if isinstance(node, Not):
        inner = _compile(node.item, versions)
        assert inner is not None
        return not_(inner)
    items = [p for p in (_compile(n, versions) for n in node.items) if p is not None]
    return and_(*items) if isinstance(node, And) else or_(*items)


def _order(keys: Sequence[OrderKey], columns: dict[str, ColumnElement[Any]]) -> list[Any]:
    return [
        columns[k.field.key].desc() if k.descending else columns[k.field.key].asc() for k in keys
    ]


def build_registered_model_search(
    filter_string: str | None, order_by: Sequence[str] | None, limit: int | None, offset: int
) -> Select[Any]:
    """SELECT registered_models.id of matching models; by name unless ``order_by`` says else."""
    node = parse_filter(filter_string, entity="registered_model")
    keys = parse_order_by(order_by, entity="registered_model")
    stmt = select(registered_models.c.id)
    where = _compile(node, versions=False)
    if where is not None:
        stmt = stmt.where(where)
    clauses = _order(keys, _MODEL_COLUMNS)
    if not any(k.field.key == "name" for k in keys):
        clauses.append(registered_models.c.name.asc())
    return page(stmt.order_by(*clauses), limit, offset)


#: MLflow's order when a version search names none.
DEFAULT_VERSION_ORDER = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


def build_model_version_search(
    filter_string: str | None, order_by: Sequence[str] | None, limit: int | None, offset: int
) -> Select[Any]:
    """SELECT model_versions.id of matching versions, newest update first by default."""
    node = parse_filter(filter_string, entity="model_version")
    keys = parse_order_by(order_by or DEFAULT_VERSION_ORDER, entity="model_version")
    stmt = select(model_versions.c.id).join(
        registered_models, registered_models.c.id == model_versions.c.registered_model_id
    )
    where = _compile(node, versions=True)
    if where is not None:
        stmt = stmt.where(where)
    clauses = _order(keys, _VERSION_COLUMNS)
    named = {k.field.key for k in keys}
    if "name" not in named:
        clauses.append(registered_models.c.name.asc())
    if "version_number" not in named:
        clauses.append(model_versions.c.version.desc())
    return page(stmt.order_by(*clauses), limit, offset)


@lru_cache(maxsize=256)
def prepared_registry_search(
    dialect: Dialect,
    versions: bool,
    filter_string: str | None,
    order_by: tuple[str, ...] | None,
    limit: int | None,
    offset: int,
) -> tuple[str, Any]:
    """A registry search compiled once for these inputs: SQL text (every literal a bound
    parameter) and its parameters in the driver's style, for a DBAPI cursor.

    Building and compiling the statement costs more than SQLite takes to answer it, and
    a page asks the same search again and again.
    """
    build = build_model_version_search if versions else build_registered_model_search
    stmt = build(filter_string, order_by, limit, offset)
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    order = compiled.positiontup
    params: Any = dict(values) if order is None else tuple(values[n] for n in order)
    return str(compiled), params
