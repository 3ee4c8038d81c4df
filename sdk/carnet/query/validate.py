"""What a parsed filter means: which operators and literals each key accepts.

Everything a user can get wrong is caught here, before any SQL exists, so a
bad filter is always a FilterError with a caret and never a database error.
Literals are normalised on the way (ISO dates become milliseconds, a quoted
number compared with ``<`` on a param becomes a number) so the compiler only
translates.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from carnet.entities import RunStatus
from carnet.query.nodes import (
    LISTS,
    NULLS,
    ORDERING,
    PATTERN,
    Aggregate,
    And,
    Comparison,
    Field,
    Kind,
    Node,
    Not,
    Op,
    Or,
    OrderKey,
    Value,
    error_at,
)
from carnet.query.parser import is_number

#: What a filter or order_by clause is about: runs, experiments, registered models and
#: model versions (attributes and tags only), or logged models.
Entity = Literal["run", "experiment", "registered_model", "model_version", "logged_model"]


class Type(enum.Enum):
    """What a key holds, which decides the operators and literals it accepts."""

    METRIC = "metric"
    PARAM = "param"
    TEXT = "text"
    STATUS = "status"
    TIME = "time"
    NUMBER = "number"
    ID = "id"
    DATASET = "dataset"


RUN_ATTRIBUTES: dict[str, tuple[str, Type]] = {
    "run_id": ("run_id", Type.TEXT),
    "run_uuid": ("run_id", Type.TEXT),
    "run_name": ("run_name", Type.TEXT),
    "status": ("status", Type.STATUS),
    "user_id": ("user_id", Type.TEXT),
    "artifact_uri": ("artifact_uri", Type.TEXT),
    "start_time": ("start_time", Type.TIME),
    "created": ("start_time", Type.TIME),
    "end_time": ("end_time", Type.TIME),
    "duration": ("duration", Type.NUMBER),
}
EXPERIMENT_ATTRIBUTES: dict[str, tuple[str, Type]] = {
    "name": ("name", Type.TEXT),
    "experiment_id": ("experiment_id", Type.ID),
    "creation_time": ("creation_time", Type.TIME),
    "last_update_time": ("last_update_time", Type.TIME),
}
#: MLflow's registry filters: ``name`` and the times for registered models ...
REGISTERED_MODEL_ATTRIBUTES: dict[str, tuple[str, Type]] = {
    "name": ("name", Type.TEXT),
    "creation_timestamp": ("creation_timestamp", Type.TIME),
    "last_updated_timestamp": ("last_updated_timestamp", Type.TIME),
    "timestamp": ("last_updated_timestamp", Type.TIME),
}
#: ... and for model versions also ``version_number``, ``run_id`` and ``source_path``.
MODEL_VERSION_ATTRIBUTES: dict[str, tuple[str, Type]] = {
    "name": ("name", Type.TEXT),
    "version_number": ("version_number", Type.NUMBER),
    "run_id": ("run_id", Type.TEXT),
    "source_path": ("source_path", Type.TEXT),
    "creation_timestamp": ("creation_timestamp", Type.TIME),
    "last_updated_timestamp": ("last_updated_timestamp", Type.TIME),
    "timestamp": ("last_updated_timestamp", Type.TIME),
}
#: What a logged model's filter names without a prefix (MLflow 3's logged-model search).
LOGGED_MODEL_ATTRIBUTES: dict[str, tuple[str, Type]] = {
    "name": ("name", Type.TEXT),
    "model_id": ("model_id", Type.TEXT),
    "status": ("status", Type.TEXT),
    "source_run_id": ("source_run_id", Type.TEXT),
    "model_type": ("model_type", Type.TEXT),
    "creation_timestamp": ("creation_timestamp", Type.TIME),
    "creation_time": ("creation_timestamp", Type.TIME),
    "last_updated_timestamp": ("last_updated_timestamp", Type.TIME),
}
ATTRIBUTES: dict[str, dict[str, tuple[str, Type]]] = {
    "run": RUN_ATTRIBUTES,
    "experiment": EXPERIMENT_ATTRIBUTES,
    "registered_model": REGISTERED_MODEL_ATTRIBUTES,
    "model_version": MODEL_VERSION_ATTRIBUTES,
    "logged_model": LOGGED_MODEL_ATTRIBUTES,
}
#: How messages name each entity in the plural.
PLURAL = {
    "run": "runs",
    "experiment": "experiments",
    "registered_model": "registered models",
    "model_version": "model versions",
    "logged_model": "logged models",
}
#: What ``datasets.<key>`` reads: the dataset's name or digest, or the input's context.
DATASET_FIELDS = ("name", "digest", "context")
RUN_NAME_TAG = "mlflow.runName"
MAX_PATTERN = 10_000
#: Different keys one ``order_by`` may sort by. Each adds a join and up to three ORDER BY
#: terms; SQLite 3.40 crashes the process once a LEFT JOIN meets 64 ORDER BY terms
#: (21 params or 31 metrics), and 10 keys stay at 32.
MAX_ORDER_KEYS = 10
#: How deep the logic may nest. Each level is a parenthesised group in the SQL, and
#: SQLite 3.40's parser overflows its stack at about 26 levels (an IN over a param
#: in an alternating AND/OR chain, inside the paged search's CTE): 10 leaves room.
MAX_NESTING = 10

_TEXT_OPS = {Op.EQ, Op.NE, *PATTERN, *LISTS, *NULLS}
_NUMBER_OPS = {Op.EQ, Op.NE, *ORDERING, *LISTS, *NULLS}
ALLOWED: dict[Type, set[Op]] = {
    Type.METRIC: _NUMBER_OPS,
    Type.PARAM: set(Op),
    Type.TEXT: _TEXT_OPS,
    Type.STATUS: _TEXT_OPS,
    Type.TIME: _NUMBER_OPS,
    Type.NUMBER: _NUMBER_OPS,
    Type.ID: _NUMBER_OPS,
    Type.DATASET: {Op.EQ, Op.NE, *LISTS},
}


def _names(table: dict[str, tuple[str, Type]]) -> str:
    return ", ".join(dict.fromkeys(k for k, _ in table.values()))


#: What has metrics and params to filter and sort by; the others have attributes and tags.
_WITH_DATA = ("run", "logged_model")


def resolve_field(field: Field, source: str, entity: Entity, what: str) -> tuple[Field, Type]:
    """Map aliases to canonical attribute names and say what type the key holds."""
    if entity not in _WITH_DATA and field.kind in (Kind.METRIC, Kind.PARAM):
        raise error_at(
            source,
            field.start,
            f"{PLURAL[entity]} have no {field.kind.value}; use "
            f"tags.<key> or the attributes {_names(ATTRIBUTES[entity])}",
            what=what,
        )
    if field.kind is Kind.DATASET:
        return _dataset_field(field, source, entity, what), Type.DATASET
    if entity == "logged_model" and field.kind is Kind.METRIC and field.aggregate is not None:
        raise error_at(
            source,
            field.start,
            "a logged model's metrics have no .min, .max or .count; compare the metric itself",
            what=what,
        )
    if field.kind is Kind.METRIC:
        return field, Type.METRIC
    if field.kind is Kind.PARAM:
        return field, Type.PARAM
    if field.kind is Kind.TAG:
        if entity == "run" and field.key == RUN_NAME_TAG:
            return replace(field, kind=Kind.ATTRIBUTE, key="run_name"), Type.TEXT
        return field, Type.TEXT
    table = ATTRIBUTES[entity]
    spec = table.get(field.key.lower())
    if spec is None:
        hint = ""
        if "." not in source[field.start : field.end]:
            hint = (
                f"; for a metric, param or tag write metrics.{field.key}, "
                f"params.{field.key} or tags.{field.key}"
            )
        if entity not in _WITH_DATA:
            hint = f"; for a tag write tags.{field.key}"
        raise error_at(
            source,
            field.start,
            f"unknown {entity.replace('_', ' ')} attribute '{field.key}' "
            f"(attributes are {_names(table)}){hint}",
            what=what,
        )
    return replace(field, key=spec[0]), spec[1]


def _dataset_field(field: Field, source: str, entity: Entity, what: str) -> Field:
    """``datasets.name``, ``datasets.digest`` or ``datasets.context``, in runs' filters only."""
    if entity != "run" or what != "filter":
        where = f"{PLURAL[entity]} have no datasets" if entity != "run" else "runs cannot sort"
        raise error_at(
            source,
            field.start,
            f"{where} by datasets.{field.key}; filter runs with datasets.name, "
            "datasets.digest or datasets.context",
            what=what,
        )
    key = field.key.lower()
    if key not in DATASET_FIELDS:
        raise error_at(
            source,
            field.start,
            f"unknown dataset field '{field.key}'; use datasets.name, datasets.digest "
            "or datasets.context",
            what=what,
        )
    return replace(field, key=key)


def check_filter(node: Node, source: str, entity: Entity) -> Node:
    """Check every comparison of ``node`` and how deep its logic nests; return the tree
    with normalised literals and with an AND inside an AND (an OR inside an OR) merged."""
    return _check_node(node, source, entity, 0)


def _merged(items: Sequence[Node], kind: type[And] | type[Or]) -> tuple[Node, ...]:
    """``a AND (b AND c)`` is ``a AND b AND c``: the same SQL, one level less."""
    out: list[Node] = []
    for item in items:
        out.extend(_merged(item.items, kind) if isinstance(item, kind) else (item,))
    return tuple(out)


def _check_node(node: Node, source: str, entity: Entity, depth: int) -> Node:
    if isinstance(node, Comparison):
        return _check_comparison(node, source, entity)
    if depth >= MAX_NESTING:
        raise error_at(
            source,
            node.start,
            f"the logic nests deeper than {MAX_NESTING} levels (each NOT, and each AND "
            "inside an OR or OR inside an AND, is a level); simplify the filter, for "
            "example with IN for ORs over one key or by removing double NOTs",
        )
    if isinstance(node, Not):
        return replace(node, item=_check_node(node.item, source, entity, depth + 1))
    items = _merged(node.items, type(node))
    return replace(node, items=tuple(_check_node(n, source, entity, depth + 1) for n in items))


def check_order_key(key: OrderKey, entity: Entity) -> OrderKey:
    """Resolve an order_by key; all but runs and logged models sort by attributes only."""
    what = "order_by clause"
    field, _ = resolve_field(key.field, key.clause, entity, what)
    if entity not in _WITH_DATA and field.kind is not Kind.ATTRIBUTE:
        raise error_at(
            key.clause,
            field.start,
            f"{PLURAL[entity]} sort by {_names(ATTRIBUTES[entity])}",
            what=what,
        )
    return replace(key, field=field)


def sort_identity(key: OrderKey) -> tuple[Kind, str, Aggregate | None]:
    """What a sort key reads, whatever its spelling or direction: a metric's ``.last``
    is its plain value, ``created`` is ``start_time``, ``tags.mlflow.runName`` the name."""
    field = key.field
    aggregate = None if field.aggregate is Aggregate.LAST else field.aggregate
    return field.kind, field.key, aggregate


def _describe(field: Field, kind: Type) -> str:
    if field.kind is Kind.TAG:
        return "tags, which are text"
    if kind is Type.METRIC:
        return "metrics, which are numbers"
    if kind in (Type.TEXT, Type.STATUS, Type.DATASET):
        return f"{field.label()}, which is text"
    return f"{field.label()}, which is a {'time' if kind is Type.TIME else 'number'}"


def _check_comparison(c: Comparison, source: str, entity: Entity) -> Comparison:
    field, kind = resolve_field(c.field, source, entity, "filter")
    if c.op not in ALLOWED[kind]:
        ops = ", ".join(o.value for o in Op if o in ALLOWED[kind] and o not in NULLS)
        nulls = "" if kind is Type.DATASET else ", IS NULL or IS NOT NULL"
        raise error_at(
            source,
            c.op_start,
            f"{c.op.value} does not apply to {_describe(field, kind)}; use {ops}{nulls}",
        )
    values = tuple(_check_value(v, c, field, kind, source) for v in c.values)
    return replace(c, field=field, values=values)


def _check_value(v: Value, c: Comparison, field: Field, kind: Type, source: str) -> Value:
    written = source[v.start : v.end]
    if kind in (Type.METRIC, Type.NUMBER):
        if isinstance(v.value, str):
            fix = f"write {v.value} without quotes" if is_number(v.value) else "give a number"
            raise error_at(
                source, v.start, f"{_describe(field, kind)}, compare with numbers, not text: {fix}"
            )
        return v
    if kind in (Type.TEXT, Type.STATUS, Type.DATASET):
        if not isinstance(v.value, str):
            raise error_at(
                source,
                v.start,
                f"{_describe(field, kind)}, compare with quoted text: write '{written}'",
            )
        if kind is Type.STATUS and c.op in (Op.EQ, Op.NE, *LISTS):
            _check_status(v.value, v.start, source)
        return _check_pattern(v, c, source)
    if kind is Type.TIME:
        return _check_time(v, source)
    if kind is Type.ID:
        digits = isinstance(v.value, str) and v.value.isascii() and v.value.isdigit()
        number = float(v.value) if isinstance(v.value, float) or digits else None
        if number is None or not number.is_integer():
            raise error_at(source, v.start, f"{field.label()} is a whole number, got {written}")
        return replace(v, value=number)
    # params: text or numbers, depending on the operator
    if c.op in PATTERN:
        if not isinstance(v.value, str):
            raise error_at(
                source, v.start, f"{c.op.value} needs a quoted pattern, as in '{written}%'"
            )
        return _check_pattern(v, c, source)
    if c.op in ORDERING and isinstance(v.value, str):
        if not is_number(v.value):
            raise error_at(
                source,
                v.start,
                f"'{c.op.value}' compares params as numbers, and "
                f"{written} is not a number; use = or LIKE for text",
            )
        return replace(v, value=float(v.value))
    return v


def _check_pattern(v: Value, c: Comparison, source: str) -> Value:
    if c.op in PATTERN and isinstance(v.value, str) and len(v.value) > MAX_PATTERN:
        raise error_at(source, v.start, f"pattern longer than {MAX_PATTERN} characters")
    return v


#: Statuses no run has but MLflow's documentation filters on (``attributes.status =
#: "ACTIVE"``): MLflow answers them with no rows, and so does Carnet.
_NO_RUN_STATUSES = frozenset({"ACTIVE"})


def _check_status(value: str, pos: int, source: str) -> None:
    names = [s.value for s in RunStatus]
    if value not in names and value not in _NO_RUN_STATUSES:
        hint = f"; did you mean '{value.upper()}'?" if value.upper() in names else ""
        raise error_at(
            source, pos, f"unknown status '{value}' (statuses are {', '.join(names)}){hint}"
        )


def _check_time(v: Value, source: str) -> Value:
    """Milliseconds stay as they are; an ISO date (UTC unless it says otherwise) becomes ms."""
    if not isinstance(v.value, str):
        return v
    if is_number(v.value):
        return replace(v, value=float(v.value))
    try:
        moment = datetime.fromisoformat(v.value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return replace(v, value=float(round(moment.timestamp() * 1000)))
    except (ValueError, OverflowError, OSError):
        raise error_at(
            source,
            v.start,
            "expected milliseconds since the epoch or an ISO "
            "date such as '2024-05-01' or '2024-05-01T12:30:00Z'",
        ) from None
