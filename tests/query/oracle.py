"""A plain-Python reading of the filter semantics, to check the SQL against.

It evaluates the checked AST (``parse_filter``) over the fixture sweep's
in-memory definition, written independently of the compiler: no SQL, no
shared helpers besides the parser.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from carnet.query.nodes import And, Comparison, Kind, Node, Not, Op, Or
from carnet.validation import numeric_value

from .conftest import NOW, RUNS, TIMEOUT, R, ms, run_uuid

_CMP: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: lambda a, b: a == b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}
_NEGATIONS = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_LIKE: Op.LIKE, Op.NOT_ILIKE: Op.ILIKE}


def like_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), flags | re.DOTALL)


def _metric(run: R, key: str, agg: str) -> tuple[bool, float | None]:
    """(present, value) with NaN as None."""
    if key not in run.metrics:
        return False, None
    values = run.metrics[key]
    finite = [v for v in values if not math.isnan(v)]
    if agg == "count":
        return True, float(len(values))
    if agg == "min":
        return True, min(finite) if finite else None
    if agg == "max":
        return True, max(finite) if finite else None
    return True, None if math.isnan(values[-1]) else values[-1]


def _attribute(run: R, key: str) -> str | float | None:
    start = ms(run.start)
    end = None if run.duration_s is None else start + run.duration_s * 1000
    status = run.status
    if status == "RUNNING" and (run.heartbeat or start) < NOW - TIMEOUT:
        status = "CRASHED"
    return {
        "run_id": run_uuid(run.label),
        "run_name": run.name or run.label,
        "status": status,
        "user_id": run.user,
        "artifact_uri": f"file:///art/{run.label}/artifacts",
        "start_time": float(start),
        "end_time": None if end is None else float(end),
        "duration": None if run.duration_s is None else float(run.duration_s),
    }[key]


def _positive(op: Op, values: list[str | float], text: str | None, num: float | None) -> bool:
    if op in (Op.LIKE, Op.ILIKE):
        assert text is not None and isinstance(values[0], str)
        flags = re.IGNORECASE if op is Op.ILIKE else 0
        return like_regex(values[0], flags).fullmatch(text) is not None
    if op is Op.IN:
        return any(_positive(Op.EQ, [v], text, num) for v in values)
    value = values[0]
    if isinstance(value, str):
        return text is not None and text == value
    return num is not None and _CMP[op](num, value)


def _comparison(c: Comparison, run: R) -> bool:
    f = c.field
    text: str | None = None
    num: float | None = None
    if f.kind is Kind.METRIC:
        present, num = _metric(run, f.key, f.aggregate.value if f.aggregate else "last")
    elif f.kind is Kind.PARAM:
        present = f.key in run.params
        text = run.params.get(f.key)
        num = numeric_value(text) if text is not None else None
    elif f.kind is Kind.TAG:
        present = f.key in run.tags
        text = run.tags.get(f.key)
    else:
        value = _attribute(run, f.key)
        present = value is not None
        text, num = (value, None) if isinstance(value, str) else (None, value)
    if c.op is Op.IS_NULL:
        return not present
    if c.op is Op.IS_NOT_NULL or not present:
        return present
    values = [v.value for v in c.values]
    if c.op in _NEGATIONS:
        return not _positive(_NEGATIONS[c.op], values, text, num)
    return _positive(c.op, values, text, num)


def matches(node: Node | None, run: R) -> bool:
    if node is None:
        return True
    if isinstance(node, Comparison):
        return _comparison(node, run)
    if isinstance(node, Not):
        return not matches(node.item, run)
    if isinstance(node, And):
        return all(matches(n, run) for n in node.items)
    assert isinstance(node, Or)
    return any(matches(n, run) for n in node.items)


def expected(node: Node | None) -> set[str]:
    """Labels of the active runs of both experiments that ``node`` matches."""
    return {r.label for r in RUNS if not r.deleted and matches(node, r)}
