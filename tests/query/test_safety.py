"""No user text in SQL: a cursor tracer, hostile inputs, and the PostgreSQL compiler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from carnet.entities import ViewType
from carnet.errors import FilterError
from carnet.store.sql_search import build_experiment_search, build_run_search, count_runs

from .conftest import NOW, TIMEOUT, Store
from .test_filter_table import MATCHES
from .test_order import ORDERS

SENTINELS = [
    ("tags.`zqxkeya` = 'zqxvala'", None),
    ("params.zqxkeyb LIKE 'zqx%valb' OR params.zqxkeyb ILIKE 'zqx_valc'", None),
    ("metrics.zqxkeyd < 987654.321 AND metrics.zqxkeyd.min != 987654.321", None),
    ("attributes.run_name IN ('zqxvale', 'zqxvalf') OR user_id = 'zqxvalg'", None),
    ("tags.team NOT LIKE 'zqxvalh' AND params.alpha NOT IN ('zqxvali', 987654.321)", None),
    ("attributes.start_time > '2023-01-02T03:04:05Z'", None),
    ("tags.team = '; DROP TABLE runs; --' OR tags.team = ''' UNION SELECT 1 --'", None),
    (None, ["metrics.zqxkeyj DESC", "tags.zqxkeyk", "params.zqxkeyl ASC"]),
    ("metrics.zqxkeym > 987654.321", ["metrics.zqxkeym"]),
]
FORBIDDEN = ["zqx", "987654", "1672628645000", "DROP TABLE", "UNION SELECT"]


@pytest.fixture
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (text and parameters) the store's engine executes meanwhile."""
    seen: list[tuple[str, Any]] = []

    def trace(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", trace)
    yield seen
    event.remove(store.engine, "before_cursor_execute", trace)


@pytest.mark.parametrize(("filter_string", "order_by"), SENTINELS)
def test_user_text_is_only_ever_a_bound_parameter(
    store: Store,
    statements: list[tuple[str, Any]],
    filter_string: str | None,
    order_by: list[str] | None,
) -> None:
    store.search(filter_string, order_by)
    store.search(filter_string, order_by, limit=5, offset=1)
    store.count(filter_string)
    store.experiments(filter_string and "name = 'zqxvaln' OR tags.zqxkeyo LIKE 'zqx%'")
    assert len(statements) >= 4
    for statement, _ in statements:
        for word in FORBIDDEN:
            assert word not in statement, (word, statement)
    bound = repr([p for _, p in statements])
    assert "zqx" in bound or "1672628645000" in bound


def _compile_everything(dialect: Any) -> int:
    n = 0
    for text, _ in MATCHES:
        stmt = build_run_search(
            experiment_ids=[1, 2],
            filter_string=text,
            order_by=["metrics.MSE DESC", "params.alpha"],
            view_type=ViewType.ACTIVE_ONLY,
            now_ms=NOW,
            crash_timeout_ms=TIMEOUT,
            limit=None,
            offset=3,
        )
        assert "SELECT" in str(stmt.compile(dialect=dialect))
        n += 1
    for order_by, _ in ORDERS:
        stmt = build_run_search(
            experiment_ids=[1],
            filter_string=None,
            order_by=order_by,
            view_type=ViewType.ALL,
            now_ms=NOW,
            crash_timeout_ms=TIMEOUT,
            limit=100,
        )
        str(stmt.compile(dialect=dialect))
        n += 1
    stmt = count_runs(
        experiment_ids=[1],
        filter_string="tags.a = 'b'",
        view_type=ViewType.ALL,
        now_ms=NOW,
        crash_timeout_ms=TIMEOUT,
    )
    str(stmt.compile(dialect=dialect))
    stmt = build_experiment_search(
        filter_string="tags.a LIKE 'b%' AND name != 'c'",
        order_by=["name"],
        view_type=ViewType.ALL,
        limit=3,
    )
    str(stmt.compile(dialect=dialect))
    return n


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["pg", "sqlite"])
def test_every_statement_compiles_without_a_server(dialect: Any) -> None:
    """The PostgreSQL SQL is checked even on a laptop without PostgreSQL."""
    assert _compile_everything(dialect) > 150


def test_like_is_case_sensitive_on_both_dialects() -> None:
    stmt = build_run_search(
        experiment_ids=[1],
        filter_string="tags.team LIKE 'Med%'",
        order_by=None,
        view_type=ViewType.ALL,
        now_ms=NOW,
        crash_timeout_ms=TIMEOUT,
        limit=None,
    )
    assert " GLOB " in str(stmt.compile(dialect=sqlite.dialect()))
    pg = str(stmt.compile(dialect=postgresql.dialect()))
    assert " LIKE " in pg and "ILIKE" not in pg and "ESCAPE '\\'" in pg


@pytest.mark.parametrize(
    "text",
    [
        "tags.team = 'med-ai'; DELETE FROM runs",
        "tags.team = 'med-ai' -- AND tags.team = 'x'",
        "tags.team = 'med-ai' UNION SELECT id FROM runs",
        "tags.team = 'x' OR 1=1",
        "tags.team = 'x' OR '1'='1'",
        "tags.`team` = 'x'`",
        "tags.team = 'x' /*",
        "params.alpha = 1; ATTACH DATABASE '/tmp/x' AS x",
    ],
)
def test_injection_attempts_are_filter_errors(store: Store, text: str) -> None:
    before = store.count(view=ViewType.ALL)
    with pytest.raises(FilterError):
        store.search(text)
    assert store.count(view=ViewType.ALL) == before


def test_the_largest_filter_allowed_runs(store: Store) -> None:
    """10,000 values, bound twice by a paged index walk, stay under both databases' limits."""
    numbers = ", ".join(str(i / 100) for i in range(5_000))
    texts = ", ".join(f"'t{i}'" for i in range(4_999))
    text = f"params.alpha IN ({numbers}) OR tags.team IN ({texts}, 'bio')"
    want = {"r01", "r02", "r03", "r04", "r05", "r09", "r11", "r12"}
    assert set(store.search(text, ["metrics.MSE"], limit=20)) == want
    assert store.count(text) == len(want)
    with pytest.raises(FilterError, match="more than 10000 values"):
        store.search(text + " OR metrics.MSE IN (1, 2)")
