"""The metric points of a log-batch request, read fast: up to 1,000 a request, many
requests a second, so a point costs a few dict lookups and type checks.

A point in the shape MLflow's client and Carnet's REST store send
(``{"key": str, "value": float or int, "timestamp": int, "step": int}``, numbers
within range) becomes a :class:`~carnet.entities.Metric` at once; any other item
(a number sent as text, ``"NaN"``, a missing or wrong field) is read by the typed
:class:`~carnet.server.parsing.Fields` methods, which accept what MLflow's server
accepts and refuse the rest with MLflow's message naming the field. So the fast
path changes no answer, only its cost.
"""

from __future__ import annotations

from carnet.entities import Metric
from carnet.server.parsing import Fields, wrong_type

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: Past this an int sent as a value is refused (as ``Fields.number`` refuses it).
_FLOAT_INT_LIMIT = 2**1023


def _checked(item: object, name: str, index: int) -> Metric:
    """One point through the typed readers: accepted as MLflow's server accepts it, or refused."""
    if not isinstance(item, dict):
        raise wrong_type(f"{name}[{index}]", item, "an object")
    m = Fields(item, prefix=f"{name}[{index}].")
    key = m.required_string("key")
    value = m.number("value", required=True)
    timestamp = m.integer("timestamp", required=True)
    assert value is not None and timestamp is not None
    return Metric(key, value, timestamp, m.integer("step") or 0)


#: A point as ``Client.log_batch`` takes it: (key, value, timestamp, step).
Point = tuple[str, float, int, int]


def metric_points(fields: Fields, name: str = "metrics") -> list[Point]:
    """The points of the repeated ``name`` field, in order, checked (plain tuples: a
    ``Metric`` costs a Python call a point; ``Metric(*point)`` makes one)."""
    items = fields.raw(name)
    if items is None:
        return []
    if not isinstance(items, list):
        raise wrong_type(name, items, "a list of objects")
    out: list[Point] = []
    append = out.append
    for index, item in enumerate(items):
        if item.__class__ is dict:
            key = item.get("key")
            value = item.get("value")
            timestamp = item.get("timestamp")
            step = item.get("step", 0)
            if (
                key.__class__ is str
                and timestamp.__class__ is int
                and _INT64_MIN <= timestamp <= _INT64_MAX
                and (step is None or (step.__class__ is int and _INT64_MIN <= step <= _INT64_MAX))
            ):
                if value.__class__ is float:
                    append((key, value, timestamp, step or 0))
                    continue
                if value.__class__ is int and -_FLOAT_INT_LIMIT < value < _FLOAT_INT_LIMIT:
                    append((key, float(value), timestamp, step or 0))
                    continue
        append(_checked(item, name, index))
    return out
