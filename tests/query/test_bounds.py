"""The language's bounds: sort keys, nesting of the logic, length of the text.

Each bound sits well inside what was measured to break on this machine's
SQLite 3.40: a LEFT JOIN with 64 ORDER BY terms crashes the process (21 param
keys), and logic nested 26 levels overflows SQLite's parser. At a bound a
query runs on both backends and selects what the oracle selects; one step past
it is a FilterError that names the bound (tests/reliability/test_order_bounds.py
runs the crashing inputs themselves, in child processes).
"""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite

from carnet.errors import FilterError
from carnet.query import parse_filter, parse_order_by
from carnet.query.nodes import And, Comparison, Node, Not, Or
from carnet.query.parser import MAX_LENGTH
from carnet.query.validate import MAX_NESTING, MAX_ORDER_KEYS

from . import oracle
from .conftest import Store

LEAVES = [
    "params.alpha NOT IN ('auto', 0.1)",
    "attributes.duration NOT IN (1, 2)",
    "tags.team ILIKE 'med%'",
    "status != 'FAILED'",
    "metrics.MSE >= 2500",
]


def levels(node: Node | None) -> int:
    """How deep the logic nests, counted the way the SQL nests its groups."""
    if node is None or isinstance(node, Comparison):
        return 0
    if isinstance(node, Not):
        return 1 + levels(node.item)
    kind = And if isinstance(node, And) else Or
    inner = [levels(n) - (1 if isinstance(n, kind) else 0) for n in node.items]
    return 1 + max(inner)


def shape(kind: str, depth: int, leaf: str) -> str:
    """A filter whose logic nests exactly ``depth`` levels."""
    if kind == "not":
        return "NOT " * depth + leaf
    text = leaf
    for i in range(depth):
        if kind == "alternating":
            text = f"({leaf} {'OR' if i % 2 else 'AND'} {text})"
        else:
            text = [f"NOT ({text})", f"({leaf} AND {text})", f"({leaf} OR {text})"][i % 3]
    return text


SHAPES = [(kind, leaf) for kind in ("not", "alternating", "mixed") for leaf in LEAVES]
TEN_KEYS = [
    "params.l1_ratio DESC",
    "params.alpha",
    "metrics.MSE DESC",
    "metrics.loss.min",
    "tags.fold",
    "params.solver",
    "metrics.R2",
    "tags.team DESC",
    "attributes.duration",
    "metrics.`my metric`",
]


@pytest.mark.parametrize(("kind", "leaf"), SHAPES)
def test_logic_at_the_nesting_bound_runs(store: Store, kind: str, leaf: str) -> None:
    text = shape(kind, MAX_NESTING, leaf)
    node = parse_filter(text)
    assert levels(node) == MAX_NESTING
    want = oracle.sweep_order(TEN_KEYS, node)
    assert store.search(text, TEN_KEYS) == want
    assert store.search(text, TEN_KEYS, limit=3, offset=1) == want[1:4]
    assert (
        store.search(text, ["metrics.MSE"], limit=2)
        == oracle.sweep_order(["metrics.MSE"], node)[:2]
    )
    assert store.count(text) == len(want)


@pytest.mark.parametrize(("kind", "leaf"), SHAPES)
@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 26, 40])
def test_logic_past_the_bound_is_a_filter_error(
    store: Store, kind: str, leaf: str, depth: int
) -> None:
    """26 levels overflowed SQLite's parser with the SQL in the message; now it never runs
    (at 40, NOTs and parentheses may first pass the parser's own bound of 50)."""
    text = shape(kind, depth, leaf)
    bound = f"nests deeper than {MAX_NESTING} levels" if depth < 40 else "nest(s|ed) deeper than"
    with pytest.raises(FilterError, match=bound) as info:
        store.search(text, ["params.alpha"], limit=5)
    assert "SELECT" not in str(info.value)
    with pytest.raises(FilterError):
        store.count(text)


def test_the_caret_points_at_the_group_one_level_too_deep() -> None:
    text = "NOT " * (MAX_NESTING + 1) + "metrics.MSE > 1"
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    assert f"(position {4 * MAX_NESTING})" in str(info.value)


def test_grouping_that_changes_nothing_does_not_count(store: Store) -> None:
    """``((a AND b) AND c)`` is one level, as in the SQL: forty of them still run."""
    for word in ("AND", "OR"):
        text = "metrics.MSE > 0"
        for i in range(40):
            text = f"({text} {word} params.alpha != {i})"
        node = parse_filter(text)
        assert isinstance(node, And if word == "AND" else Or) and len(node.items) == 41
        assert set(store.search(text)) == oracle.expected(node)
        assert (
            store.search(text, ["params.alpha"], limit=3)
            == oracle.sweep_order(["params.alpha"], node)[:3]
        )


def test_the_other_bounds_together_run(store: Store) -> None:
    """200 comparisons with 10,000 values between them, sorted by ten keys, paged or not."""
    ins = [
        "params.alpha IN (" + ", ".join([f"'{i}'" for i in range(98)] + ["'0.1'"]) + ")"
        for _ in range(100)
    ]
    text = " OR ".join(ins + [f"metrics.MSE = {i}" for i in range(100)])
    node = parse_filter(text)
    assert isinstance(node, Or) and len(node.items) == 200
    assert sum(len(c.values) for c in node.items if isinstance(c, Comparison)) == 10_000
    want = oracle.sweep_order(TEN_KEYS, node)
    assert want == ["r03", "r04"]
    assert store.search(text, TEN_KEYS) == want
    assert store.search(text, TEN_KEYS, limit=1, offset=1) == want[1:]


def test_filter_text_length_is_bounded(store: Store) -> None:
    padded = "tags.team = 'bio'" + " " * (MAX_LENGTH - len("tags.team = 'bio'"))
    assert store.search(padded) == ["r03"]
    with pytest.raises(FilterError, match="1,000,001 characters, over the limit of 1,000,000"):
        store.search(padded + " ")
    with pytest.raises(FilterError, match="over the limit"):
        parse_order_by(["metrics.MSE" + " " * MAX_LENGTH])


# -- order_by --------------------------------------------------------------------------
SAME_KEY = [
    ["metrics.MSE"] * 1000,
    ["metrics.MSE", "metrics.MSE DESC", "metric.MSE asc"],
    ["metrics.loss", "metrics.loss.last DESC"],
    ["start_time DESC", "created", "attributes.start_time ASC"],
    ["tags.mlflow.runName", "run_name DESC", "attributes.run_name"],
    ["params.alpha DESC", "param.alpha", "parameters.`alpha`"],
]


@pytest.mark.parametrize("clauses", SAME_KEY, ids=lambda c: f"{c[0]} x{len(c)}")
def test_a_repeated_key_is_dropped(store: Store, clauses: list[str]) -> None:
    """The first clause decides: a repeat (any spelling, any direction) changes nothing."""
    keys = parse_order_by(clauses)
    assert keys == parse_order_by(clauses[:1])
    want = oracle.sweep_order(clauses)
    assert want == oracle.sweep_order(clauses[:1])
    assert store.search(order_by=clauses) == want
    for limit, offset in ((1, 0), (3, 2), (20, 0)):
        assert (
            store.search(order_by=clauses, limit=limit, offset=offset)
            == want[offset : offset + limit]
        )


def test_ten_keys_sort_like_the_oracle(store: Store) -> None:
    assert len(parse_order_by(TEN_KEYS)) == MAX_ORDER_KEYS
    want = oracle.sweep_order(TEN_KEYS)
    assert store.search(order_by=TEN_KEYS) == want
    assert store.search(order_by=TEN_KEYS + TEN_KEYS[::-1]) == want
    for limit, offset in ((1, 0), (4, 3), (11, 0)):
        assert (
            store.search(order_by=TEN_KEYS, limit=limit, offset=offset)
            == want[offset : offset + limit]
        )


def test_an_eleventh_key_is_a_filter_error(store: Store) -> None:
    clauses = [*TEN_KEYS, "metrics.MSE", "start_time"]
    with pytest.raises(FilterError) as info:
        store.search(order_by=clauses)
    message = str(info.value)
    assert f"at most {MAX_ORDER_KEYS} different keys" in message
    assert "clause 12 ('start_time') is key 11" in message
    assert "keep the first 10" in message


def test_keys_of_one_row_share_its_join(store: Store) -> None:
    """``metrics.loss``, its min and its count read one summary row: one join, not three."""
    clauses = ["metrics.loss", "metrics.loss.min DESC", "metrics.loss.count", "params.alpha"]
    sql = str(store.run_select(None, clauses).compile(dialect=sqlite.dialect()))
    assert sql.count("LEFT OUTER JOIN metric_summaries") == 1
    assert sql.count("LEFT OUTER JOIN params") == 1
    want = oracle.sweep_order(clauses)
    assert store.search(order_by=clauses) == want
    assert store.search(order_by=clauses, limit=2, offset=1) == want[1:3]
    walked = str(store.run_select(None, ["metrics.loss", "metrics.loss.max"], limit=5))
    assert "index_walk" in walked
    assert (
        store.search(order_by=["metrics.loss", "metrics.loss.max"], limit=5)
        == (oracle.sweep_order(["metrics.loss", "metrics.loss.max"])[:5])
    )
