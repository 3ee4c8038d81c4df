"""order_by: several keys, numbers as numbers, NaN then missing last both ways, paging."""

from __future__ import annotations

import pytest

from carnet.entities import ViewType
from carnet.errors import FilterError, InvalidInputError
from carnet.query import parse_order_by
from carnet.store.sql_search import run_order

from .conftest import Store


def L(labels: str) -> list[str]:
    return [f"r{n}" for n in labels.split()]


NEWEST_FIRST = L("09 08 07 06 05 04 03 02 01 12 11")

ORDERS: list[tuple[list[str], list[str]]] = [
    ([], NEWEST_FIRST),
    (["metrics.MSE ASC"], L("11 12 06 01 09 02 03 05 07 04 08")),
    (["metrics.MSE"], L("11 12 06 01 09 02 03 05 07 04 08")),
    (["metrics.MSE DESC"], L("07 05 03 09 02 01 06 12 11 04 08")),
    (["metric.MSE desc"], L("07 05 03 09 02 01 06 12 11 04 08")),
    (["metrics.R2 DESC"], L("06 01 09 02 03 05 07 08 04 12 11")),
    (["params.alpha ASC"], L("06 02 01 11 09 04 03 12 05 07 08")),
    (["params.alpha DESC"], L("05 12 04 03 09 02 01 11 06 07 08")),
    (["params.l1_ratio ASC", "metrics.MSE DESC"], L("01 06 05 09 02 07 04 03 12 11 08")),
    (["tags.fold ASC"], L("05 02 07 01 03 09 08 06 04 12 11")),
    (["tags.fold DESC"], L("03 07 01 05 02 09 08 06 04 12 11")),
    (["tags.fold ASC", "params.alpha DESC"], L("05 02 01 07 03 12 04 09 11 06 08")),
    (["attributes.duration DESC"], L("07 02 01 12 11 03 04 08 09 06 05")),
    (["attributes.status ASC"], L("06 03 12 08 07 02 01 11 04 05 09")),
    (["metrics.loss.min ASC"], L("09 01 02 04 08 07 06 05 03 12 11")),
    (["metrics.loss.count DESC"], L("09 01 04 02 08 07 06 05 03 12 11")),
    (["start_time ASC"], L("11 12 01 02 03 04 05 06 07 08 09")),
    (["attributes.start_time DESC"], NEWEST_FIRST),
    (["attributes.run_name DESC"], L("11 09 08 07 06 05 04 03 02 01 12")),
    (["metrics.`my metric` ASC"], L("08 09 07 06 05 04 03 02 01 12 11")),
    (["tags.mlflow.runName ASC"], L("12 01 02 03 04 05 06 07 08 09 11")),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDERS, ids=[" ".join(o[0]) for o in ORDERS])
def test_order(store: Store, order_by: list[str], expected: list[str]) -> None:
    assert store.search(order_by=order_by) == expected


@pytest.mark.parametrize(("order_by", "expected"), ORDERS, ids=[" ".join(o[0]) for o in ORDERS])
def test_pages_are_slices_of_the_whole(
    store: Store, order_by: list[str], expected: list[str]
) -> None:
    """Paged searches (which may walk an index in tiers) agree with one full sort."""
    for limit in (1, 3, 11, 50):
        for offset in (0, 4, 12):
            page = store.search(order_by=order_by, limit=limit, offset=offset)
            assert page == expected[offset : offset + limit], (limit, offset)


@pytest.mark.parametrize(("order_by", "expected"), ORDERS, ids=[" ".join(o[0]) for o in ORDERS])
def test_pages_with_a_tiny_index_window(
    store: Store, monkeypatch: pytest.MonkeyPatch, order_by: list[str], expected: list[str]
) -> None:
    """The index walk stops at its window's last value (ties included) or falls back."""
    monkeypatch.setattr(run_order, "WINDOW_MIN", 1)
    monkeypatch.setattr(run_order, "WINDOW_FACTOR", 1)
    for limit in (1, 2, 3, 6):
        for offset in (0, 1, 5):
            page = store.search(order_by=order_by, limit=limit, offset=offset)
            assert page == expected[offset : offset + limit], (limit, offset)
    page = store.search("params.alpha >= 0.01", order_by, limit=2, offset=1)
    assert (
        page
        == [r for r in expected if r in {"r01", "r02", "r03", "r04", "r05", "r09", "r11", "r12"}][
            1:3
        ]
    )


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        ("metrics.MSE > 0", ["metrics.R2 ASC"], L("07 05 03 09 02 01 06 12 11")),
        ("params.alpha < 0.5", ["metrics.MSE DESC"], L("03 09 02 01 06 11 04")),
        ("tags.team ILIKE 'med%'", ["params.alpha DESC"], L("05 09 02 01 11")),
        ("metrics.MSE IS NULL OR metrics.MSE > 3000", ["metrics.MSE ASC"], L("03 05 07 08")),
        ("NOT tags.fold IS NULL", ["tags.fold DESC", "start_time ASC"], L("03 01 07 02 05")),
    ],
)
def test_filter_and_order(
    store: Store, filter_string: str, order_by: list[str], expected: list[str]
) -> None:
    assert store.search(filter_string, order_by) == expected
    for limit in (1, 2, 4):
        assert (
            store.search(filter_string, order_by, limit=limit, offset=1) == expected[1 : 1 + limit]
        )


def test_view_types_and_experiments(store: Store) -> None:
    assert store.search(view=ViewType.DELETED_ONLY) == ["r10"]
    assert store.search(view=ViewType.ALL)[:2] == ["r10", "r09"]
    assert store.search(view=ViewType.ALL, order_by=["metrics.MSE"], limit=3) == L("11 12 10")
    assert store.search(experiments=[2]) == ["r12", "r11"]
    assert store.search(experiments=[]) == []
    assert store.count(view=ViewType.ALL) == 12
    assert store.count("metrics.MSE < 2000", view=ViewType.DELETED_ONLY) == 1


@pytest.mark.parametrize(
    ("clauses", "fragment"),
    [
        (["metrics.MSE UP"], "expected ASC, DESC or the end of the clause, found 'UP'"),
        (["metrics.MSE ASC, params.alpha"], "one key per order_by clause"),
        ([""], "empty order_by clause"),
        (["  "], "empty order_by clause"),
        (["foo.x"], "unknown prefix 'foo'"),
        (["metrics"], "expected '.' and a key after 'metrics'"),
        (["bogus"], "unknown run attribute 'bogus'"),
        (["metrics.`MSE"], "unterminated back-tick"),
        (["metrics.MSE ASC DESC"], "expected ASC, DESC or the end of the clause"),
        ("metrics.MSE", "order_by must be a list of clauses"),
        ([3], "order_by clause 1 must be a string"),
        (["metrics.MSE\x00"], "NUL characters"),
    ],
)
def test_order_by_errors(store: Store, clauses: list[str], fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        store.search(order_by=clauses)
    assert fragment in str(info.value)


def test_parse_order_by() -> None:
    keys = parse_order_by(["metrics.loss.min DESC", "params.`l1 ratio`", "run_name asc"])
    assert [(k.field.kind.value, k.field.key, k.descending) for k in keys] == [
        ("metrics", "loss", True),
        ("params", "l1 ratio", False),
        ("attributes", "run_name", False),
    ]
    assert keys[0].field.aggregate is not None and keys[0].field.aggregate.value == "min"
    assert parse_order_by(None) == [] and parse_order_by([]) == []


def test_strategy_by_page_size(store: Store) -> None:
    """Small pages sorted by a metric or param walk its index; big pages sort everything."""
    assert "index_walk" in str(store.run_select(None, ["metrics.MSE"], limit=100))
    assert "index_walk" in str(store.run_select(None, ["params.alpha DESC"], limit=10, offset=5))
    assert "index_walk" not in str(store.run_select(None, ["metrics.MSE"], limit=100_000))
    assert "index_walk" not in str(store.run_select(None, ["metrics.loss.min"], limit=10))
    assert "index_walk" not in str(store.run_select(None, ["tags.fold"], limit=10))
    assert store.search(order_by=["metrics.MSE"], limit=100_000) == ORDERS[1][1]


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (10, -1)])
def test_negative_pages_are_refused(store: Store, limit: int, offset: int) -> None:
    with pytest.raises(InvalidInputError, match="0 or more"):
        store.search(limit=limit, offset=offset)
    with pytest.raises(InvalidInputError, match="0 or more"):
        store.experiments(limit=limit, offset=offset)
