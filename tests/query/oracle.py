"""A plain-Python reading of the filter and sort semantics, to check the SQL against.

It evaluates the checked AST (``parse_filter``) over runs described in memory
(the fixture sweep, or runs a test wrote through the SDK), written
independently of the compiler and the store: no SQL and no production helper
besides the parser. Even the number a param's text spells is worked out here
(:func:`param_number`), by its own grammar, rather than by the store's code.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from carnet.query.nodes import Aggregate, And, Comparison, Kind, Node, Not, Op, Or, OrderKey
from carnet.query.parser import parse_order_clause
from carnet.query.validate import check_order_key

from .conftest import NOW, RUNS, TIMEOUT, R, ms, run_uuid

#: A param's text is a number when it is a float in Python's literal syntax: digits
#: (of any script) with single '_' between them, an optional point and exponent,
#: a sign, or inf/infinity; spaces around it are ignored. NaN is not a number (it
#: could never compare), and neither is text longer than 64 characters.
_DIGITS = r"\d(?:_?\d)*"
_DECIMAL = re.compile(rf"[+-]?(?:(?:{_DIGITS})?\.{_DIGITS}|{_DIGITS}\.?)(?:[eE][+-]?{_DIGITS})?")
_INFINITY = re.compile(r"([+-]?)(?:inf|infinity)", re.IGNORECASE)
MAX_NUMBER_TEXT = 64


def param_number(text: str) -> float | None:
    """The number a param's text spells, or None when it spells none."""
    if not text or len(text) > MAX_NUMBER_TEXT:
        return None
    body = text.strip()
    infinity = _INFINITY.fullmatch(body)
    if infinity is not None:
        return -math.inf if infinity.group(1) == "-" else math.inf
    if _DECIMAL.fullmatch(body) is None:
        return None
    ascii_text = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c for c in body if c != "_"
    )
    return float(Decimal(ascii_text))


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
    start = ms(run.start) if run.start_ms is None else run.start_ms
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
        num = param_number(text) if text is not None else None
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


# -- sorting --------------------------------------------------------------------------
#: What one key contributes to a run's place: a rank (0 a value, 1 NaN, text where a
#: number sorts or no value, 2 key missing), always ascending, then values in the
#: asked direction.
Place = tuple[int, tuple[Any, ...]]


def _place(run: R, key: OrderKey) -> Place:
    f = key.field
    if f.kind is Kind.METRIC:
        if f.key not in run.metrics:
            return 2, ()
        if f.aggregate is Aggregate.COUNT:
            return 0, (float(len(run.metrics[f.key])),)
        agg = f.aggregate.value if f.aggregate else "last"
        _, value = _metric(run, f.key, agg)
        return (1, ()) if value is None else (0, (value,))
    if f.kind is Kind.PARAM:
        if f.key not in run.params:
            return 2, ()
        text = run.params[f.key]
        number = param_number(text)
        return (1, (text,)) if number is None else (0, (number, text))
    if f.kind is Kind.TAG:
        return (1, ()) if f.key not in run.tags else (0, (run.tags[f.key],))
    attribute = _attribute(run, f.key)
    return (1, ()) if attribute is None else (0, (attribute,))


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def ordered(runs: Sequence[R], clauses: Sequence[str], pk: Mapping[str, int]) -> list[str]:
    """Labels of ``runs`` in ``order_by`` order: every clause is applied, repeats
    included; ties go to the newest run, then to the greatest ``pk``."""
    keys = [check_order_key(parse_order_clause(c), "run") for c in clauses]
    by_start = any(k.field.kind is Kind.ATTRIBUTE and k.field.key == "start_time" for k in keys)

    def compare(a: R, b: R) -> int:
        for key in keys:
            (rank_a, values_a), (rank_b, values_b) = _place(a, key), _place(b, key)
            if rank_a != rank_b:
                return rank_a - rank_b
            for x, y in zip(values_a, values_b, strict=True):
                order = _cmp(x, y)
                if order:
                    return -order if key.descending else order
        if not by_start:
            order = _cmp(_attribute(b, "start_time"), _attribute(a, "start_time"))
            if order:
                return order
        return _cmp(pk[b.label], pk[a.label])

    return [r.label for r in sorted(runs, key=functools.cmp_to_key(compare))]


def sweep_order(clauses: Sequence[str], node: Node | None = None) -> list[str]:
    """The fixture sweep's active matching runs in ``order_by`` order."""
    pk = {r.label: i for i, r in enumerate(RUNS, 1)}
    return ordered([r for r in RUNS if not r.deleted and matches(node, r)], clauses, pk)
