"""Malformed filters and order_by clauses, each with a fragment of its FilterError.

``test_bad_filters.py`` runs every one through the search API on each backend
and checks the error, the caret position it reports, that no SQL ran, and that
the store did not change. ``docs/reliability.md`` shows the same list (made by
:func:`markdown_table`). The fragments are the query engine's own words: when
it rewords a message, update the fragment here, not the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BadFilter:
    text: str
    #: Each must appear in the message.
    fragments: tuple[str, ...]
    #: Where the caret points, as the message says it: "position N" or "line L, column C".
    where: str


RUN_FILTERS: list[BadFilter] = [
    BadFilter("metrics.MSE <", ("expected a value", "found the end of the filter"), "position 13"),
    BadFilter(
        "metrics.MSE",
        ("expected a comparison operator", "found the end of the filter"),
        "position 11",
    ),
    BadFilter("metrics.MSE 3", ("expected a comparison operator", "found '3'"), "position 12"),
    BadFilter("metrics.MSE == 3", ("use '=' to compare, not '=='",), "position 12"),
    BadFilter("metrics.MSE => 3", ("expected a value", "found '>'"), "position 13"),
    BadFilter("metrics.MSE =< 3", ("expected a value", "found '<'"), "position 13"),
    BadFilter(
        "metrics.MSE < '3'", ("metrics, which are numbers, compare with numbers,",), "position 14"
    ),
    BadFilter(
        "metrics.MSE < 'abc'", ("metrics, which are numbers, compare with numbers,",), "position 14"
    ),
    BadFilter(
        "metrics.MSE LIKE '3%'",
        ("LIKE does not apply to metrics, which are numbers",),
        "position 12",
    ),
    BadFilter(
        "metrics.MSE ILIKE 'a'",
        ("ILIKE does not apply to metrics, which are numbers",),
        "position 12",
    ),
    BadFilter(
        "metrics.MSE IN ('a')",
        ("metrics, which are numbers, compare with numbers,",),
        "position 16",
    ),
    BadFilter("metrics.MSE = abc", ("expected a value", "found 'abc'"), "position 14"),
    BadFilter(
        "metrics.MSE = null", ("to test for a missing key use IS NULL or IS NOT",), "position 14"
    ),
    BadFilter(
        "metrics.MSE < 3 and",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 19",
    ),
    BadFilter(
        "and metrics.MSE < 3",
        ("expected a key such as metrics.MSE, params.alpha", "found 'and'"),
        "position 0",
    ),
    BadFilter(
        "metrics.MSE < 3 or",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 18",
    ),
    BadFilter(
        "or metrics.MSE < 3",
        ("expected a key such as metrics.MSE, params.alpha", "found 'or'"),
        "position 0",
    ),
    BadFilter(
        "metrics.MSE < 3 and and metrics.R2 > 0",
        ("expected a key such as metrics.MSE, params.alpha", "found 'and'"),
        "position 20",
    ),
    BadFilter(
        "metrics.MSE < 3 metrics.R2 > 0",
        ("expected AND, OR or the end of the filter", "found 'metrics.R2'"),
        "position 16",
    ),
    BadFilter(
        "(metrics.MSE < 3",
        ("expected ')' to close the '(' at position 0", "found the end of the filter"),
        "position 16",
    ),
    BadFilter("metrics.MSE < 3)", ("unbalanced ')': no '(' before it",), "position 15"),
    BadFilter(
        "((metrics.MSE < 3)",
        ("expected ')' to close the '(' at position 0", "found the end of the filter"),
        "position 18",
    ),
    BadFilter(
        "()", ("expected a key such as metrics.MSE, params.alpha", "found ')'"), "position 1"
    ),
    BadFilter(
        "(",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 1",
    ),
    BadFilter(")", ("expected a key such as metrics.MSE, params.alpha", "found ')'"), "position 0"),
    BadFilter(
        "not",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 3",
    ),
    BadFilter(
        "not metrics.MSE",
        ("expected a comparison operator", "found the end of the filter"),
        "position 15",
    ),
    BadFilter(
        "metrics.MSE < 3 and not",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 23",
    ),
    BadFilter(
        "metrics.", ("expected a key after '.'", "found the end of the filter"), "position 8"
    ),
    BadFilter("metrics", ("expected '.' and a key after 'metrics', as in",), "position 7"),
    BadFilter("params", ("expected '.' and a key after 'params', as in",), "position 6"),
    BadFilter("tags.", ("expected a key after '.'", "found the end of the filter"), "position 5"),
    BadFilter(
        "params.alpha",
        ("expected a comparison operator", "found the end of the filter"),
        "position 12",
    ),
    BadFilter("params.alpha =", ("expected a value", "found the end of the filter"), "position 14"),
    BadFilter(
        "params.alpha = 'unterminated",
        ("unterminated string: the ' opened here is never",),
        "position 15",
    ),
    BadFilter(
        'params.alpha = "unterminated',
        ('unterminated string: the " opened here is never',),
        "position 15",
    ),
    BadFilter("`params.alpha = 1", ("unterminated back-tick: the ` opened here is",), "position 0"),
    BadFilter("params.`alpha = 1", ("unterminated back-tick: the ` opened here is",), "position 7"),
    BadFilter("params.\"\" = 'x'", ("empty key",), "position 7"),
    BadFilter("params.`` = 'x'", ("empty key",), "position 7"),
    BadFilter("foo.bar = 1", ("unknown prefix 'foo'",), "position 0"),
    BadFilter(
        "metric.x.y.z.w.q > 1 OR",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 23",
    ),
    BadFilter("unknown_attr = 'x'", ("unknown run attribute 'unknown_attr'",), "position 0"),
    BadFilter("attributes.unknown = 'x'", ("unknown run attribute 'unknown'",), "position 0"),
    BadFilter("attributes.status = 'DONE'", ("unknown status 'DONE'",), "position 20"),
    BadFilter("attributes.status = 'finished'", ("unknown status 'finished'",), "position 20"),
    BadFilter(
        "attributes.status = 3", ("attributes.status, which is text, compare with",), "position 20"
    ),
    BadFilter(
        "attributes.status < 'FINISHED'",
        ("< does not apply to attributes.status, which is",),
        "position 18",
    ),
    BadFilter(
        "attributes.start_time = 'yesterday'",
        ("expected milliseconds since the epoch or an ISO",),
        "position 24",
    ),
    BadFilter(
        "attributes.start_time > 'abc'",
        ("expected milliseconds since the epoch or an ISO",),
        "position 24",
    ),
    BadFilter(
        "attributes.start_time LIKE '2024%'",
        ("LIKE does not apply to attributes.start_time,",),
        "position 22",
    ),
    BadFilter(
        "attributes.end_time < 'not-a-date'",
        ("expected milliseconds since the epoch or an ISO",),
        "position 22",
    ),
    BadFilter(
        "attributes.duration > 'long'",
        ("attributes.duration, which is a number, compare",),
        "position 22",
    ),
    BadFilter(
        "attributes.duration LIKE '1%'",
        ("LIKE does not apply to attributes.duration, which",),
        "position 20",
    ),
    BadFilter(
        "attributes.run_name < 'a'",
        ("< does not apply to attributes.run_name, which is",),
        "position 20",
    ),
    BadFilter(
        "attributes.run_name = 3",
        ("attributes.run_name, which is text, compare with",),
        "position 22",
    ),
    BadFilter(
        "attributes.run_id > 'abc'",
        ("> does not apply to attributes.run_id, which is",),
        "position 18",
    ),
    BadFilter(
        "attributes.user_id IN (1, 2)",
        ("attributes.user_id, which is text, compare with",),
        "position 23",
    ),
    BadFilter("tags.team < 'a'", ("< does not apply to tags, which are text",), "position 10"),
    BadFilter("tags.team = 3", ("tags, which are text, compare with quoted text:",), "position 12"),
    BadFilter("tags.team > 3", ("> does not apply to tags, which are text",), "position 10"),
    BadFilter(
        "tags.team IN (1)", ("tags, which are text, compare with quoted text:",), "position 14"
    ),
    BadFilter(
        "tags.team LIKE 3", ("tags, which are text, compare with quoted text:",), "position 15"
    ),
    BadFilter("params.alpha LIKE 3", ("LIKE needs a quoted pattern, as in '3%'",), "position 18"),
    BadFilter(
        "params.alpha < 'abc'", ("'<' compares params as numbers, and 'abc' is not",), "position 15"
    ),
    BadFilter(
        "params.alpha >= 'x1'", ("'>=' compares params as numbers, and 'x1' is not",), "position 16"
    ),
    BadFilter("params.alpha IN ()", ("the IN list is empty",), "position 17"),
    BadFilter(
        "params.alpha IN 'a'", ("expected '(' after IN, as in IN", "found \"'a'\""), "position 16"
    ),
    BadFilter(
        "params.alpha IN ('a' 'b')",
        ("expected ',' or ')' in the IN list", "found \"'b')\""),
        "position 21",
    ),
    BadFilter("params.alpha IN ('a',)", ("expected a value", "found ')'"), "position 21"),
    BadFilter("params.alpha IN ('a', )", ("expected a value", "found ')'"), "position 22"),
    BadFilter(
        "params.alpha IN ('a'",
        ("expected ',' or ')' in the IN list", "found the end of the filter"),
        "position 20",
    ),
    BadFilter(
        "params.alpha NOT 'a'",
        ("expected LIKE, ILIKE or IN after NOT", "found \"'a'\""),
        "position 17",
    ),
    BadFilter(
        "params.alpha NOT EQUALS 'a'",
        ("expected LIKE, ILIKE or IN after NOT", "found 'EQUALS'"),
        "position 17",
    ),
    BadFilter("params.alpha IS 'a'", ("expected NULL after IS", "found \"'a'\""), "position 16"),
    BadFilter(
        "params.alpha IS NOT 'a'", ("expected NULL after IS NOT", "found \"'a'\""), "position 20"
    ),
    BadFilter("params.alpha IS NULLS", ("expected NULL after IS", "found 'NULLS'"), "position 16"),
    BadFilter(
        "params.alpha ISNULL", ("expected a comparison operator", "found 'ISNULL'"), "position 13"
    ),
    BadFilter(
        "params.alpha BETWEEN 1 AND 2",
        ("expected a comparison operator", "found 'BETWEEN'"),
        "position 13",
    ),
    BadFilter("params.alpha ~ 'a'", ("expected a comparison operator", "found '~'"), "position 13"),
    BadFilter(
        "params.alpha != ", ("expected a value", "found the end of the filter"), "position 16"
    ),
    BadFilter(
        "params.alpha = 1 AND (",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 22",
    ),
    BadFilter(
        "params.alpha = 1 OR ()",
        ("expected a key such as metrics.MSE, params.alpha", "found ')'"),
        "position 21",
    ),
    BadFilter(
        "params.alpha = 1;",
        ("expected AND, OR or the end of the filter", "found ';'"),
        "position 16",
    ),
    BadFilter(
        "params.alpha = 1; DROP TABLE runs",
        ("expected AND, OR or the end of the filter", "found ';'"),
        "position 16",
    ),
    BadFilter(
        "params.alpha = 1 -- comment",
        ("expected AND, OR or the end of the filter", "found '--'"),
        "position 17",
    ),
    BadFilter(
        "params.alpha = 1 /* c */",
        ("expected AND, OR or the end of the filter", "found '/*'"),
        "position 17",
    ),
    BadFilter(
        "params.alpha = 'a' || 'b'",
        ("expected AND, OR or the end of the filter", "found '||'"),
        "position 19",
    ),
    BadFilter(
        "params.alpha = 1 +",
        ("expected AND, OR or the end of the filter", "found '+'"),
        "position 17",
    ),
    BadFilter("params.alpha = 1.2.3", ("expected a value", "found '1.2.3'"), "position 15"),
    BadFilter("params.alpha = 1e", ("expected a value", "found '1e'"), "position 15"),
    BadFilter("params.alpha = .", ("expected a value", "found '.'"), "position 15"),
    BadFilter("params.alpha = --1", ("expected a value", "found '--1'"), "position 15"),
    BadFilter("params.alpha = 0x10", ("expected a value", "found '0x10'"), "position 15"),
    BadFilter("params.alpha = TRUE", ("expected a value", "found 'TRUE'"), "position 15"),
    BadFilter("params.alpha = a'b'", ("expected a value", "found \"a'b'\""), "position 15"),
    BadFilter(
        "metrics.loss.min",
        ("expected a comparison operator", "found the end of the filter"),
        "position 16",
    ),
    BadFilter(
        "metrics.loss.min LIKE 'a'",
        ("LIKE does not apply to metrics, which are numbers",),
        "position 17",
    ),
    BadFilter(
        "metrics.loss.count < 'x'",
        ("metrics, which are numbers, compare with numbers,",),
        "position 21",
    ),
    BadFilter(
        "metrics.loss.max = 'big'",
        ("metrics, which are numbers, compare with numbers,",),
        "position 19",
    ),
    BadFilter(
        "metrics.MSE < 3 AND metrics.R2",
        ("expected a comparison operator", "found the end of the filter"),
        "position 30",
    ),
    BadFilter(
        "metrics.MSE < 3 XOR metrics.R2 > 0",
        ("expected AND, OR or the end of the filter", "found 'XOR'"),
        "position 16",
    ),
    BadFilter(
        "metrics.MSE < 3 && metrics.R2 > 0",
        ("expected AND, OR or the end of the filter", "found '&&'"),
        "position 16",
    ),
    BadFilter(
        "metrics.MSE < 3 || metrics.R2 > 0",
        ("expected AND, OR or the end of the filter", "found '||'"),
        "position 16",
    ),
    BadFilter(
        "metrics.MSE < 3 AND OR metrics.R2 > 0",
        ("expected a key such as metrics.MSE, params.alpha", "found 'OR'"),
        "position 20",
    ),
    BadFilter(
        "NOT NOT",
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 7",
    ),
    BadFilter("params.alpha = 'a\x00b'", ("NUL characters are not allowed",), "position 17"),
    BadFilter("params.alpha = '\ud800'", ("not valid Unicode text",), "position 16"),
    BadFilter(
        "params.a = 1 " + "AND params.a = 1 " * 200, ("more than 200 comparisons",), "position 3400"
    ),
    BadFilter(
        "(" * 60 + "params.a = 1" + ")" * 60, ("nested deeper than 50 levels",), "position 50"
    ),
    BadFilter("NOT " * 60 + "params.a = 1", ("nested deeper than 50 levels",), "position 200"),
    BadFilter(
        "params.alpha = 'x'\nAND metrics.MSE <",
        ("expected a value", "found the end of the filter"),
        "line 2, column 18",
    ),
    BadFilter(
        "metrics.MSE < 3\nAND\nparams.alpha",
        ("expected a comparison operator", "found the end of the filter"),
        "line 3, column 13",
    ),
    BadFilter("runs.alpha = 1", ("unknown prefix 'runs'",), "position 0"),
    BadFilter("param alpha = 1", ("expected '.' and a key after 'param', as in",), "position 5"),
    BadFilter("params alpha = 1", ("expected '.' and a key after 'params', as in",), "position 6"),
    BadFilter("params..alpha = 1", ("expected a key after '.'", "found '.alpha'"), "position 7"),
    BadFilter("params.alpha. = 1", ("expected a key after '.'", "found ''"), "position 13"),
    BadFilter(
        ".alpha = 1",
        ("expected a key such as metrics.MSE, params.alpha", "found '.alpha'"),
        "position 0",
    ),
    BadFilter("= 1", ("expected a key after '.'", "found '='"), "position 0"),
    BadFilter("< 3", ("expected a key after '.'", "found '<'"), "position 0"),
    BadFilter(
        "'a' = params.alpha",
        ("expected a key such as metrics.MSE, params.alpha", "found \"'a'\""),
        "position 0",
    ),
    BadFilter(
        "3 < metrics.MSE",
        ("expected a key such as metrics.MSE, params.alpha", "found '3'"),
        "position 0",
    ),
    BadFilter(
        "metrics.MSE < metrics.R2", ("expected a value", "found 'metrics.R2'"), "position 14"
    ),
    BadFilter(
        "params.alpha = params.beta", ("expected a value", "found 'params.beta'"), "position 15"
    ),
    BadFilter('metrics."MSE = 1', ('unterminated quoted key: the " opened here is',), "position 8"),
    BadFilter(
        "metrics.MSE IS NULL NULL",
        ("expected AND, OR or the end of the filter", "found 'NULL'"),
        "position 20",
    ),
    BadFilter(
        "metrics.MSE IS NOT",
        ("expected NULL after IS NOT", "found the end of the filter"),
        "position 18",
    ),
    BadFilter(
        "metrics.MSE NOT LIKE '%a'",
        ("NOT LIKE does not apply to metrics, which are",),
        "position 12",
    ),
    BadFilter(
        "metrics.MSE NOT IN",
        ("expected '(' after NOT IN, as in NOT IN", "found the end of the filter"),
        "position 18",
    ),
    BadFilter(
        "tags.t NOT IN 'a'",
        ("expected '(' after NOT IN, as in NOT IN", "found \"'a'\""),
        "position 14",
    ),
    BadFilter(
        "tags.t IN ('a', 'b'",
        ("expected ',' or ')' in the IN list", "found the end of the filter"),
        "position 19",
    ),
    BadFilter("tags.t IN (a, b)", ("expected a value", "found 'a,'"), "position 11"),
    BadFilter(
        "tags.t = 'a' 'b'",
        ("expected AND, OR or the end of the filter", "found \"'b'\""),
        "position 13",
    ),
    BadFilter(
        'tags.t = "a" and',
        ("expected a key such as metrics.MSE, params.alpha", "found the end of the filter"),
        "position 16",
    ),
    BadFilter(
        "attributes.status IN ('RUNNING', 'NOPE')", ("unknown status 'NOPE'",), "position 33"
    ),
    BadFilter(
        "attributes.status IN ('RUNNING', 3)",
        ("attributes.status, which is text, compare with",),
        "position 33",
    ),
    BadFilter(
        "attributes.start_time IN ('x')",
        ("expected milliseconds since the epoch or an ISO",),
        "position 26",
    ),
    BadFilter(
        "attributes.created < 'tomorrow'",
        ("expected milliseconds since the epoch or an ISO",),
        "position 21",
    ),
    BadFilter(
        "tags.t LIKE '" + "a" * 10001 + "'",
        ("pattern longer than 10000 characters",),
        "position 12",
    ),
    BadFilter(
        "metrics.m IN (" + ",".join(["1"] * 10001) + ")",
        ("more than 10000 values",),
        "position 20014",
    ),
    BadFilter(
        "params.alpha = 1 and params.beta = 2 extra",
        ("expected AND, OR or the end of the filter", "found 'extra'"),
        "position 37",
    ),
    BadFilter("params.alpha = 1)", ("unbalanced ')': no '(' before it",), "position 16"),
    BadFilter("params.alpha = (1)", ("expected a value", "found '(1)'"), "position 15"),
    BadFilter("params.alpha IN (('a'))", ("expected a value", "found \"('a'))\""), "position 17"),
    BadFilter("metrics.MSE < -", ("expected a value", "found '-'"), "position 14"),
    BadFilter("metrics.MSE < +", ("expected a value", "found '+'"), "position 14"),
    BadFilter("metrics.MSE < 1e+", ("expected a value", "found '1e+'"), "position 14"),
    BadFilter("metrics.MSE < 3abc", ("expected a value", "found '3abc'"), "position 14"),
    BadFilter("metrics.MSE < 3.4.5", ("expected a value", "found '3.4.5'"), "position 14"),
]

ORDER_BY: list[BadFilter] = [
    BadFilter("", ("empty order_by clause",), "position 0"),
    BadFilter(
        "metrics.MSE DESCENDING",
        ("expected ASC, DESC or the end of the clause", "found 'DESCENDING'"),
        "position 12",
    ),
    BadFilter(
        "metrics.MSE ASC DESC",
        ("expected ASC, DESC or the end of the clause", "found 'DESC'"),
        "position 16",
    ),
    BadFilter(
        "metrics.MSE, params.alpha",
        ("one key per order_by clause: pass a list such as",),
        "position 11",
    ),
    BadFilter("foo.bar", ("unknown prefix 'foo'",), "position 0"),
    BadFilter(
        "metrics.",
        ("expected a key after '.'", "found the end of the order_by clause"),
        "position 8",
    ),
    BadFilter("unknown_attr", ("unknown run attribute 'unknown_attr'",), "position 0"),
    BadFilter("attributes.nope ASC", ("unknown run attribute 'nope'",), "position 0"),
    BadFilter(
        "metrics.MSE ASC extra",
        ("expected ASC, DESC or the end of the clause", "found 'extra'"),
        "position 16",
    ),
    BadFilter("`metrics.MSE", ("unterminated back-tick: the ` opened here is",), "position 0"),
    BadFilter('params."" ASC', ("empty key",), "position 7"),
    BadFilter(
        "metrics.MSE < 3",
        ("expected ASC, DESC or the end of the clause", "found '<'"),
        "position 12",
    ),
    BadFilter("metrics", ("expected '.' and a key after 'metrics', as in",), "position 7"),
    BadFilter(
        "ASC", ("expected a key such as metrics.MSE, params.alpha", "found 'ASC'"), "position 0"
    ),
    BadFilter("  ", ("empty order_by clause",), "position 0"),
]

EXPERIMENT_FILTERS: list[BadFilter] = [
    BadFilter("metrics.x > 1", ("experiments have no metrics",), "position 0"),
    BadFilter("params.alpha = 'a'", ("experiments have no params",), "position 0"),
    BadFilter("attributes.nope = 'x'", ("unknown experiment attribute 'nope'",), "position 0"),
    BadFilter("name < 'a'", ("< does not apply to attributes.name, which is text",), "position 5"),
    BadFilter(
        "experiment_id = 'abc'", ("attributes.experiment_id is a whole number, got",), "position 16"
    ),
    BadFilter(
        "experiment_id = 1.5", ("attributes.experiment_id is a whole number, got",), "position 16"
    ),
    BadFilter(
        "creation_time > 'never'",
        ("expected milliseconds since the epoch or an ISO",),
        "position 16",
    ),
    BadFilter("nope = 'x'", ("unknown experiment attribute 'nope'",), "position 0"),
    BadFilter("name =", ("expected a value", "found the end of the filter"), "position 6"),
    BadFilter("tags.team LIKE", ("expected a value", "found the end of the filter"), "position 14"),
]


def _code(text: str) -> str:
    if not text.strip():
        return f"({len(text)} spaces)" if text else "(empty)"
    shown = text if len(text) <= 70 else text[:60] + "…"
    shown = shown.replace("\n", "\\n").replace("\x00", "\\x00").replace("\ud800", "\\ud800")
    shown = shown.replace("|", "\\|")
    note = f" ({len(text)} characters)" if len(text) > 70 else ""
    return (f"`` {shown} ``" if "`" in shown else f"`{shown}`") + note


def markdown_table() -> str:
    """The list as it appears in docs/reliability.md."""
    lines = [
        "| # | Where | Text | FilterError message contains | Caret at |",
        "|---|---|---|---|---|",
    ]
    n = 0
    for where, cases in (
        ("filter_string", RUN_FILTERS),
        ("order_by", ORDER_BY),
        ("search_experiments", EXPERIMENT_FILTERS),
    ):
        for case in cases:
            n += 1
            said = " … ".join(case.fragments).replace("|", "\\|")
            lines.append(f"| {n} | {where} | {_code(case.text)} | {said} | {case.where} |")
    return "\n".join(lines)
