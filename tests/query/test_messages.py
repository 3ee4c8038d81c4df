"""Error messages point at the right character; the AST keeps its positions; explain()."""

from __future__ import annotations

import pytest

from carnet.entities import ViewType
from carnet.errors import FilterError
from carnet.query import parse_filter, parse_order_by
from carnet.query.nodes import Aggregate, And, Comparison, Kind, Not, Op, Or
from carnet.store.sql_search import explain

from .conftest import NOW, TIMEOUT, Store


def caret(text: str) -> tuple[str, int]:
    """The message's first line and the column of its caret in the quoted line."""
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    lines = str(info.value).split("\n")
    assert len(lines) == 3
    assert lines[2].strip() == "^"
    return lines[0], lines[2].index("^") - 4


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("metrics.MSE 3000", 12),
        ("metrics.MSE < '3000'", 14),
        ("tags.team > 'a'", 10),
        ("metrics.MSE LIKE 'a'", 12),
        ("params.alpha < 1 AND", 20),
        ("(metrics.MSE < 1", 16),
        ("metrics.MSE < 1)", 15),
        ("tags.team = 'abc", 12),
        ("foo.bar = 1", 0),
        ("metrics.MSE < 1 AND bogus = 2", 20),
        ("metrics.MSE IN (1, 'a')", 19),
    ],
)
def test_caret_points_at_the_offending_character(text: str, column: int) -> None:
    first, col = caret(text)
    assert col == column, first
    assert first.startswith("invalid filter: ")
    assert first.endswith(f"(position {column})")


def test_message_quotes_the_filter_and_says_what_was_expected() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.MSE 3000")
    assert str(info.value) == (
        "invalid filter: expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, "
        "NOT IN, IS NULL, IS NOT NULL) after metrics.MSE, found '3000' (position 12)\n"
        "    metrics.MSE 3000\n"
        "                ^"
    )


def test_multi_line_filter_names_line_and_column() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.MSE < 3000\n  AND tags.team > 'x'")
    message = str(info.value)
    assert "(line 2, column 17)" in message
    assert message.split("\n")[1] == "      AND tags.team > 'x'"
    assert message.split("\n")[2] == "    " + " " * 16 + "^"


def test_long_filter_is_shown_around_the_caret() -> None:
    text = " AND ".join(f"metrics.m{i} < {i}" for i in range(30)) + " AND tags.t > 'x'"
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    line, mark = str(info.value).split("\n")[1:]
    assert len(line) < 120 and line.lstrip().startswith("…")
    assert line[mark.index("^")] == ">"


def test_tabs_and_control_characters_keep_the_caret_aligned() -> None:
    _, col = caret("\tmetrics.MSE\x0b< 'x'")
    assert col == 15


def test_order_by_message() -> None:
    with pytest.raises(FilterError) as info:
        parse_order_by(["metrics.MSE UP"])
    assert str(info.value).startswith("invalid order_by clause: expected ASC, DESC")
    assert str(info.value).endswith("    metrics.MSE UP\n                ^")


def test_ast_shape_and_positions() -> None:
    node = parse_filter(
        "metrics.loss.min < 1 OR NOT (tags.`a b` = 'x' AND params.alpha IN (1, 'y'))"
    )
    assert isinstance(node, Or)
    first, second = node.items
    assert isinstance(first, Comparison) and isinstance(second, Not)
    assert (first.field.kind, first.field.key, first.field.aggregate) == (
        Kind.METRIC,
        "loss",
        Aggregate.MIN,
    )
    assert (first.field.start, first.field.end, first.op, first.op_start) == (0, 16, Op.LT, 17)
    assert first.values[0].value == 1.0 and first.values[0].start == 19
    inner = second.item
    assert isinstance(inner, And)
    tag, param = inner.items
    assert isinstance(tag, Comparison) and isinstance(param, Comparison)
    assert (tag.field.kind, tag.field.key, tag.values[0].value) == (Kind.TAG, "a b", "x")
    assert [v.value for v in param.values] == [1.0, "y"]
    assert param.op is Op.IN


def test_aliases_resolve_to_canonical_names() -> None:
    node = parse_filter("run_uuid = 'x' AND created > 0 AND tags.mlflow.runName = 'n'")
    assert isinstance(node, And)
    keys = [c.field.key for c in node.items if isinstance(c, Comparison)]
    assert keys == ["run_id", "start_time", "run_name"]
    assert parse_filter(None) is None and parse_filter(" \n ") is None


def test_non_string_filter_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="filter_string must be a string"):
        parse_filter(42)  # type: ignore[arg-type]


def test_explain(store: Store) -> None:
    stmt = store.run_select(
        "metrics.MSE < 3000 AND params.alpha = 0.01", ["metrics.R2 DESC"], limit=100
    )
    plan = explain(stmt, store.engine)
    assert plan.strip()
    if store.backend == "sqlite":
        assert "ix_metric_summaries_key_value" in plan
    else:
        assert "Limit" in plan


def test_status_sees_crashed_runs_through_now(store: Store) -> None:
    from carnet.store.sql_search import build_run_search

    later = build_run_search(
        experiment_ids=[1],
        filter_string="status = 'CRASHED'",
        order_by=None,
        view_type=ViewType.ALL,
        now_ms=NOW + 10 * TIMEOUT,
        crash_timeout_ms=TIMEOUT,
        limit=None,
    )
    with store.engine.connect() as conn:
        ids = {store.labels[r[0]] for r in conn.execute(later)}
    assert ids == {"r05", "r06"}
