"""Hypothesis: any text is a result or a FilterError; generated filters match the oracle.

Three properties, on SQLite and (when configured) PostgreSQL:

* arbitrary text and random edits of valid filters either run or raise
  FilterError, never a database error, and never change the store;
* generated valid filters select exactly the runs the Python oracle selects;
* a paged search (which may walk an index in tiers) returns the same runs as
  the matching slice of one full sort.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carnet.errors import FilterError
from carnet.query import parse_filter, parse_order_by
from carnet.query.nodes import Aggregate, Kind, OrderKey
from carnet.query.validate import MAX_ORDER_KEYS
from carnet.store.sql_search import run_order

from . import oracle
from .conftest import Store
from .test_filter_table import ERRORS, MATCHES

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def unchanged(store: Store) -> Iterator[Store]:
    """The store, checked row for row to be the same after the test."""
    before = store.snapshot()
    yield store
    assert store.snapshot() == before


def _run_or_filter_error(store: Store, text: str) -> None:
    try:
        store.search(text)
        store.search(text, ["metrics.MSE DESC"], limit=3)
    except FilterError:
        return


SPECIAL = st.sampled_from(
    [
        *"'\"`()=<>!,.%_-\\;: \t\n*?[]",
        " AND ",
        " OR ",
        " NOT ",
        " IN ",
        " LIKE ",
        " IS NULL",
        "NULL",
        "metrics.",
        "params.",
        "tags.",
        "attributes.",
        "1e999",
        "-",
        "'; DROP TABLE runs; --",
        " UNION SELECT 1 ",
        "\u00e9",
        "\u2028",
        "\U0001f600",
    ]
)


@FUZZ
@given(text=st.text(max_size=80))
def test_arbitrary_text(unchanged: Store, text: str) -> None:
    _run_or_filter_error(unchanged, text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid filter from the table with a few random cuts, inserts and repeats."""
    text = draw(st.sampled_from([m[0] for m in MATCHES] + [e[0] for e in ERRORS[:40]]))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 6)))
        action = draw(st.sampled_from(["cut", "insert", "replace", "repeat"]))
        piece = draw(SPECIAL)
        if action == "cut":
            text = text[:i] + text[j:]
        elif action == "insert":
            text = text[:i] + piece + text[i:]
        elif action == "replace":
            text = text[:i] + piece + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


@FUZZ
@given(text=mutated())
def test_mutated_filters(unchanged: Store, text: str) -> None:
    _run_or_filter_error(unchanged, text)


# -- generated valid filters against the oracle ---------------------------------
NUMBERS = st.sampled_from(
    [
        "-1",
        "0",
        "0.01",
        "0.1",
        "0.49",
        "1",
        "2",
        "60",
        "2500",
        "3000",
        "3100.5",
        "1e308",
        "1.0",
        ".5",
    ]
)
TEXTS = st.sampled_from(
    [
        "'0.01'",
        "'0.1'",
        "'1'",
        "'1.0'",
        "'auto'",
        "'saga'",
        "'med-ai'",
        "'Med-AI'",
        "'bio'",
        "'a'",
        "'b'",
        "''",
        "'O''Brien'",
        '"x y"',
    ]
)
PATTERNS = st.sampled_from(
    ["'0.%'", "'%a%'", "'s_ga'", "'M%'", "'%-ai'", "'a\\%b%'", "'%'", "'_'", "'r0%'", "'%ED'"]
)
METRICS = st.sampled_from(
    [
        "metrics.MSE",
        "metrics.R2",
        "metrics.loss",
        "metrics.loss.min",
        "metrics.loss.max",
        "metrics.loss.count",
        "metrics.`val.loss`",
        "metric.nope",
    ]
)
PARAMS = st.sampled_from(["params.alpha", "params.l1_ratio", "params.solver", "param.nope"])
TAGS = st.sampled_from(["tags.team", "tags.fold", "tags.`my tag`", "tag.nope"])
STATUSES = st.sampled_from(["'FINISHED'", "'FAILED'", "'RUNNING'", "'CRASHED'", "'SCHEDULED'"])


def _in_list(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=3).map(lambda v: "(" + ", ".join(v) + ")")


def _comparisons() -> st.SearchStrategy[str]:
    num_op = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    text_op = st.sampled_from(["=", "!="])
    like = st.sampled_from(["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
    in_op = st.sampled_from(["IN", "NOT IN"])
    null = st.sampled_from(["IS NULL", "IS NOT NULL"])
    key = st.one_of(METRICS, PARAMS, TAGS, st.just("attributes.end_time"))
    return st.one_of(
        st.tuples(METRICS, num_op, NUMBERS).map(" ".join),
        st.tuples(METRICS, in_op, _in_list(NUMBERS)).map(" ".join),
        st.tuples(PARAMS, num_op, NUMBERS).map(" ".join),
        st.tuples(PARAMS, text_op, TEXTS).map(" ".join),
        st.tuples(PARAMS, like, PATTERNS).map(" ".join),
        st.tuples(PARAMS, in_op, _in_list(st.one_of(NUMBERS, TEXTS))).map(" ".join),
        st.tuples(TAGS, text_op, TEXTS).map(" ".join),
        st.tuples(TAGS, like, PATTERNS).map(" ".join),
        st.tuples(TAGS, in_op, _in_list(TEXTS)).map(" ".join),
        st.tuples(key, null).map(" ".join),
        st.tuples(st.just("attributes.status"), text_op, STATUSES).map(" ".join),
        st.tuples(st.just("attributes.status"), in_op, _in_list(STATUSES)).map(" ".join),
        st.tuples(st.just("attributes.run_name"), like, PATTERNS).map(" ".join),
        st.tuples(
            st.sampled_from(["attributes.duration", "attributes.end_time"]),
            num_op,
            st.sampled_from(["0", "10", "60", "120", "1698796800000"]),
        ).map(" ".join),
    )


FILTERS = st.recursive(
    _comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" AND ", " OR ", " and ", " or "]), inner).map("".join),
        inner.map(lambda f: f"NOT ({f})"),
        inner.map(lambda f: f"({f})"),
    ),
    max_leaves=6,
)
SORT_KEYS = [
    "metrics.MSE",
    "metrics.R2",
    "metrics.loss",
    "metrics.loss.min",
    "params.alpha",
    "params.l1_ratio",
    "tags.fold",
    "tags.team",
    "attributes.duration",
    "attributes.status",
    "run_name",
    "start_time",
    "metrics.nope",
]
DIRECTIONS = st.sampled_from(["", " ASC", " DESC"])
ORDERS = st.lists(st.tuples(st.sampled_from(SORT_KEYS), DIRECTIONS).map("".join), max_size=3)
#: Keys whose text order is the same in every collation (tags.team and run_name mix
#: case and punctuation), plus spellings that name a key already in the list.
ORACLE_SORT_KEYS = [k for k in SORT_KEYS if k not in ("tags.team", "run_name")] + [
    "metrics.loss.last",
    "metrics.loss.max",
    "metrics.loss.count",
    "created",
    "param.alpha",
]


@FUZZ
@given(text=FILTERS)
def test_generated_filters_match_the_oracle(store: Store, text: str) -> None:
    want = oracle.expected(parse_filter(text))
    assert set(store.search(text)) == want, text
    assert store.count(text) == len(want)


@FUZZ
@given(
    text=st.one_of(st.none(), FILTERS),
    order_by=ORDERS,
    limit=st.integers(0, 12),
    offset=st.integers(0, 12),
    window=st.sampled_from([None, 1, 2, 5]),
)
def test_pages_agree_with_one_full_sort(
    store: Store,
    text: str | None,
    order_by: list[str],
    limit: int,
    offset: int,
    window: int | None,
) -> None:
    whole = store.search(text, order_by)
    assert set(whole) == oracle.expected(parse_filter(text))
    saved = run_order.WINDOW_MIN, run_order.WINDOW_FACTOR
    if window is not None:  # a window smaller than the sweep exercises its cut-off
        run_order.WINDOW_MIN, run_order.WINDOW_FACTOR = window, 1
    try:
        page = store.search(text, order_by, limit=limit, offset=offset)
    finally:
        run_order.WINDOW_MIN, run_order.WINDOW_FACTOR = saved
    assert page == whole[offset : offset + limit]


@FUZZ
@given(
    text=st.one_of(st.none(), FILTERS),
    order_by=st.lists(st.tuples(st.sampled_from(ORACLE_SORT_KEYS), DIRECTIONS).map("".join)),
    limit=st.integers(0, 12),
    offset=st.integers(0, 12),
)
def test_sorted_like_the_oracle(
    store: Store, text: str | None, order_by: list[str], limit: int, offset: int
) -> None:
    """Any list of clauses, repeats and aliases included, sorts as the oracle applies every
    clause in turn; past ten different keys it is a FilterError instead."""
    distinct = {(k.field.kind, k.field.key, k.field.aggregate) for k in _keys(order_by)}
    if len(distinct) > MAX_ORDER_KEYS:
        with pytest.raises(FilterError, match="at most 10 different keys"):
            store.search(text, order_by)
        return
    want = oracle.sweep_order(order_by, parse_filter(text))
    assert store.search(text, order_by) == want
    assert store.search(text, order_by, limit=limit, offset=offset) == want[offset : offset + limit]


def _keys(clauses: list[str]) -> list[OrderKey]:
    """Each clause on its own, spelled out: a plain metric is its ``.last``."""
    keys = []
    for clause in clauses:
        key = parse_order_by([clause])[0]
        if key.field.kind is Kind.METRIC and key.field.aggregate is None:
            key = replace(key, field=replace(key.field, aggregate=Aggregate.LAST))
        keys.append(key)
    return keys
