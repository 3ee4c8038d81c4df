"""The filter language as a table: each filter with the runs it matches or its error.

Expected sets are run labels of the fixture sweep (tests/query/conftest.py);
``ACTIVE`` is every run that is not deleted. Each row runs on SQLite and, when
configured, on PostgreSQL, through a real ``build_run_search`` statement.
"""

from __future__ import annotations

import pytest

from carnet.errors import CarnetError, FilterError
from carnet.query import parse_filter

from .conftest import ACTIVE, Store, ms, run_uuid


def S(labels: str) -> frozenset[str]:
    return frozenset(f"r{n}" for n in labels.split())


MSE_PRESENT = S("01 02 03 04 05 06 07 09 11 12")
ALPHA_PRESENT = S("01 02 03 04 05 06 07 09 11 12")
TEAM_PRESENT = S("01 02 03 05 06 07 09 11")
ENDED = S("01 02 03 04 07 08 11 12")
R03 = run_uuid("r03")

MATCHES: list[tuple[str, frozenset[str]]] = [
    # metrics: last value by default
    ("metrics.MSE < 3000", S("01 06 11 12")),
    ("metrics.MSE <= 3000", S("01 02 06 09 11 12")),
    ("metrics.MSE = 3000", S("02 09")),
    ("metrics.MSE != 3000", S("01 03 04 05 06 07 11 12")),
    ("metrics.MSE <> 3000", S("01 03 04 05 06 07 11 12")),
    ("metrics.MSE > 3000", S("03 05 07")),
    ("metrics.MSE >= 3100.5", S("03 05 07")),
    ("metrics.MSE > 1e308", S("07")),
    ("metrics.MSE IS NULL", S("08")),
    ("metrics.MSE is not null", MSE_PRESENT),
    ("metrics.MSE IN (3000, 2500)", S("02 06 09")),
    ("metrics.MSE NOT IN (3000, 2500)", S("01 03 04 05 07 11 12")),
    ("NOT metrics.MSE < 3000", S("02 03 04 05 07 08 09")),
    ("metrics.R2 > 0.5", S("01 06")),
    ("metrics.R2 < 0", S("07")),
    ("metrics.R2 = 0.49", S("02 09")),
    ("metrics.R2 != 0.49", S("01 03 05 06 07")),
    ("metrics.MSE < -1", S("")),
    ("metrics.MSE < +1e3", S("11 12")),
    ("metrics.MSE < .5e4 and metrics.MSE > 2e3", S("01 02 03 06 09")),
    ("metrics.MSE = 3000.", S("02 09")),
    # NaN matches only !=
    ("metrics.MSE = 0 OR metrics.MSE > -1e308", S("01 02 03 05 06 07 09 11 12")),
    ("metrics.MSE != 0", MSE_PRESENT),
    # aggregates over the history
    ("metrics.loss < 2", S("01 09")),
    ("metrics.loss.last < 2", S("01 09")),
    ("metrics.loss.min <= 2", S("01 02 09")),
    ("metrics.loss.max > 2.5", S("01 09")),
    ("metrics.loss.count = 2", S("02 04")),
    ("metrics.loss.count >= 3", S("01 09")),
    ("metrics.loss != 1", S("01 02 04")),
    ("metrics.loss.min != 1.5", S("02 04 09")),
    ("metrics.loss.max IS NOT NULL", S("01 02 04 09")),
    # keys with dots, spaces, quotes; prefixes and their aliases
    ("metrics.val.loss < 1", S("08")),
    ("metrics.`val.loss` < 1", S("08")),
    ("metrics.val.min > 0", S("")),
    ("metrics.`val.min` > 0", S("08")),
    ('metrics."val.min" = 0.9', S("08")),
    ("metrics.`my metric` = 7", S("08")),
    ('metrics."my metric" >= 7', S("08")),
    ("metric.MSE < 1000", S("11 12")),
    ("`metrics`.MSE < 1000", S("11 12")),
    ("`metric`.`MSE` < 1000", S("11 12")),
    ("METRICS.MSE < 1000", S("11 12")),
    ("metrics.mse < 1000", S("")),
    # params: text for quoted values, numbers for numbers
    ("params.alpha = '0.01'", S("01 02 11")),
    ("params.alpha = 0.01", S("01 02 11")),
    ("params.l1_ratio = 1", S("03 04")),
    ("params.l1_ratio = '1.0'", S("03")),
    ("params.l1_ratio = '1'", S("04")),
    ("params.alpha < 0.05", S("01 02 06 11")),
    ("params.alpha <= 0.05", S("01 02 06 09 11")),
    ("params.alpha > 0.05", S("03 04 05 12")),
    ("params.alpha < '0.05'", S("01 02 06 11")),
    ("params.alpha = 0.001", S("06")),
    ("params.alpha = '1e-3'", S("06")),
    ("params.alpha = 'auto'", S("07")),
    ("params.alpha != 'auto'", ALPHA_PRESENT - S("07")),
    ("params.alpha != 0.01", S("03 04 05 06 07 09 12")),
    ("params.alpha LIKE '0.%'", S("01 02 03 04 09 11 12")),
    ("params.alpha LIKE '0._1'", S("01 02 11")),
    ("params.alpha IN ('0.1', 'auto')", S("03 04 07")),
    ("params.alpha IN (0.1, 1)", S("03 04 05")),
    ("params.alpha IN (1, 'auto')", S("05 07")),
    ("params.alpha NOT IN (0.01, 'auto')", S("03 04 05 06 09 12")),
    ("params.alpha IS NULL", S("08")),
    ("params.solver IS NOT NULL", S("03 06")),
    ("params.solver = 'saga'", S("03")),
    ('param.solver = "lbfgs"', S("06")),
    ("parameter.solver != 'lbfgs'", S("03")),
    ("parameters.solver ILIKE 'SA%'", S("03")),
    ("params.solver LIKE 'SA%'", S("")),
    ("params.solver NOT LIKE 's%'", S("06")),
    ("params.solver NOT ILIKE 'S%'", S("06")),
    ("params.alpha > 0.05 AND params.l1_ratio = 0.5", S("05")),
    ("params.alpha >= 0.1 AND params.alpha < 1", S("03 04 12")),
    # tags: text only
    ("tags.team = 'med-ai'", S("01 05 09 11")),
    ("tags.team != 'med-ai'", S("02 03 06 07")),
    ("tags.team LIKE 'med%'", S("01 05 09 11")),
    ("tags.team ILIKE 'med%'", S("01 02 05 09 11")),
    ("tags.team LIKE '%AI'", S("02")),
    ("tags.team ILIKE '%ai'", S("01 02 05 09 11")),
    ("tags.team LIKE 'a\\%b%'", S("07")),
    ("tags.team LIKE 'a%'", S("07")),
    ("tags.team LIKE '_io'", S("03")),
    ("tags.team LIKE 'a_b\\_c'", S("07")),
    ("tags.team LIKE 'a_b\\_'", S("")),
    ("tags.team LIKE '%[%'", S("")),
    ("tags.team LIKE '*'", S("")),
    ("tags.team = 'O''Brien'", S("06")),
    ('tags.team = "O\'Brien"', S("06")),
    ("tags.team IN ('bio', 'Med-AI')", S("02 03")),
    ("tags.team NOT IN ('bio', 'Med-AI')", S("01 05 06 07 09 11")),
    ("tags.team IS NULL", S("04 08 12")),
    ("tags.team IS NOT NULL", TEAM_PRESENT),
    ("tags.`my tag` = 'x y'", S("08")),
    ("tag.team = 'bio'", S("03")),
    ("tags.\"team\" = 'bio'", S("03")),
    ("`tags`.team = 'bio'", S("03")),
    ("tags.mlflow.runName = 'r03'", S("03")),
    ("tags.team = ''", S("")),
    # attributes
    ("attributes.status = 'FINISHED'", S("01 02 07 08 11")),
    ("status = 'CRASHED'", S("06")),
    ("attributes.status = 'RUNNING'", S("05")),
    ("attributes.status != 'FINISHED'", S("03 04 05 06 09 12")),
    ("attributes.status IN ('FAILED', 'KILLED')", S("03 04 12")),
    ("attributes.status NOT IN ('FAILED', 'KILLED', 'FINISHED')", S("05 06 09")),
    ("attr.status LIKE '%ED'", ACTIVE - S("05")),
    ("run.status = 'SCHEDULED'", S("09")),
    ('attribute.status = "FAILED"', S("03 12")),
    ("attributes.run_name = 'r03'", S("03")),
    ("attributes.run_name LIKE 'r0%'", S("01 02 03 04 05 06 07 08 09")),
    ("attributes.run_name IN ('r01', 'r11')", S("01 11")),
    ("attributes.run_name = 'it''s \"quoted\"'", S("12")),
    ('run_name = "it\'s ""quoted"""', S("12")),
    ("attributes.user_id = 'alice'", S("01 03 05 08")),
    ("attributes.user_id = ''", S("09")),
    (f"attributes.run_id = '{R03}'", S("03")),
    (f"attributes.run_uuid = '{R03}'", S("03")),
    (f"run_id IN ('{R03}', 'nope')", S("03")),
    ("attributes.run_id LIKE '1%'", S("11 12")),
    ("attributes.artifact_uri LIKE '%/r05/%'", S("05")),
    ("attributes.start_time >= '2023-11-05'", S("05 06 07 08 09")),
    ("attributes.start_time < '2023-11-01T00:00:00Z'", S("11 12")),
    (f"attributes.start_time = {ms('2023-11-03')}", S("03")),
    (f"attributes.start_time = '{ms('2023-11-03')}'", S("03")),
    ("attributes.start_time > '2023-11-02T23:00:00-02:00'", S("04 05 06 07 08 09")),
    ("created < '2023-10-15'", S("11 12")),
    ("attributes.end_time IS NULL", S("05 06 09")),
    ("attributes.end_time IS NOT NULL", ENDED),
    ("attributes.end_time > 0", ENDED),
    ("NOT attributes.end_time > 0", S("05 06 09")),
    ("attributes.end_time != 0", ENDED),
    ("attributes.duration > 59", S("01 02 07 11 12")),
    ("attributes.duration < 60", S("03 04 08")),
    ("attributes.duration = 60", S("01 11 12")),
    ("attributes.duration IS NULL", S("05 06 09")),
    ("attributes.duration IN (5, 10)", S("04 08")),
    # OR, NOT and parentheses
    ("metrics.MSE < 3000 OR tags.team = 'bio'", S("01 03 06 11 12")),
    ("metrics.MSE < 3000 AND tags.team = 'med-ai' OR params.solver = 'saga'", S("01 03 11")),
    ("params.solver = 'saga' OR metrics.MSE < 3000 AND tags.team = 'med-ai'", S("01 03 11")),
    ("metrics.MSE < 3000 AND (tags.team = 'med-ai' OR params.solver = 'saga')", S("01 11")),
    ("NOT tags.team = 'med-ai'", S("02 03 04 06 07 08 12")),
    ("NOT NOT tags.team = 'med-ai'", S("01 05 09 11")),
    ("NOT (metrics.MSE < 3000 OR metrics.MSE > 3000)", S("02 04 08 09")),
    ("not metrics.MSE < 3000 and not metrics.MSE > 3000", S("02 04 08 09")),
    ("NOT metrics.MSE != 3000", S("02 08 09")),
    ("NOT tags.team != 'bio'", S("03 04 08 12")),
    ("metrics.MSE >= 0 or metrics.MSE < 0 or metrics.MSE IS NULL", ACTIVE - S("04")),
    ("(((metrics.MSE = 3000)))", S("02 09")),
    ("metrics.MSE = 3000 And params.alpha = 0.05", S("02 09") & S("09")),
    ("tags.team = 'med-ai' OR tags.team = 'bio' OR tags.team = 'Med-AI'", S("01 02 03 05 09 11")),
    ("metrics.MSE < 3000\n  AND tags.team = 'med-ai'", S("01 11")),
    ("metrics.MSE<3000 AND tags.team='med-ai'", S("01 11")),
    ("\tmetrics.MSE < 3000 and (params.alpha = 0.01)  ", S("01 11")),
    ("tags.team = 'med-ai' OR NOT tags.team IS NOT NULL", S("01 04 05 08 09 11 12")),
    ("(metrics.MSE < 3000 OR metrics.R2 > 0.5) AND NOT (params.alpha < 0.005)", S("01 11 12")),
    ("", ACTIVE),
    ("   ", ACTIVE),
    # hostile text is just text
    ("tags.team = '; DROP TABLE runs; --'", S("")),
    ("tags.team = 'x'' OR ''1''=''1'", S("")),
    ("params.alpha = '0.01'' UNION SELECT id FROM runs --'", S("")),
    ("tags.`team' OR 1=1 --` = 'x'", S("")),
    ('metrics.`MSE"; DROP TABLE runs; --` < 1', S("")),
    ("attributes.run_name LIKE '%'' OR 1=1 --'", S("")),
]

ERRORS: list[tuple[str, str]] = [
    (
        "metrics.MSE 3000",
        "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, "
        "NOT IN, IS NULL, IS NOT NULL) after metrics.MSE, found '3000'",
    ),
    (
        "metrics.MSE < '3000'",
        "metrics, which are numbers, compare with numbers, not text: write 3000 without quotes",
    ),
    ("metrics.MSE < 'abc'", "compare with numbers, not text: give a number"),
    ("metrics.MSE LIKE '3%'", "LIKE does not apply to metrics"),
    ("metrics.MSE ILIKE '3%'", "ILIKE does not apply to metrics"),
    ("metrics.MSE IN ('a')", "compare with numbers"),
    ("tags.team > 'a'", "> does not apply to tags, which are text"),
    ("tags.team <= 'a'", "<= does not apply to tags"),
    ("tags.team = 5", "tags, which are text, compare with quoted text: write '5'"),
    ("tags.team IN ('a', 5)", "write '5'"),
    ("params.alpha < 'abc'", "'<' compares params as numbers, and 'abc' is not a number"),
    ("params.alpha LIKE 5", "LIKE needs a quoted pattern"),
    ("params.alpha < 'inf'", "is not a number"),
    ("foo.bar = 1", "unknown prefix 'foo'"),
    ("inputs.name = 'x'", "unknown prefix 'inputs'"),
    ("metrics = 1", "expected '.' and a key after 'metrics'"),
    ("metrics. = 1", "expected a key after '.'"),
    ("metrics..MSE < 1", "expected a key after '.'"),
    ("metrics.MSE. < 1", "expected a key after '.'"),
    ("metrics.`` < 1", "empty key"),
    (
        "metrics.MSE < 3000 AND",
        "expected a key such as metrics.MSE, params.alpha or tags.team "
        "after AND, found the end of the filter",
    ),
    ("metrics.MSE < 3000 OR ", "after OR, found the end of the filter"),
    ("metrics.MSE < 3000 AND AND tags.x = 'a'", "after AND, found 'AND'"),
    ("AND metrics.MSE < 3000", "at the start of the filter, found 'AND'"),
    ("NOT", "after NOT, found the end of the filter"),
    ("()", "after '(', found ')'"),
    ("(metrics.MSE < 3000", "expected ')' to close the '(' at position 0"),
    ("((metrics.MSE < 3000)", "expected ')' to close the '(' at position 0"),
    ("metrics.MSE < 3000)", "unbalanced ')'"),
    ("tags.team = 'med-ai", "unterminated string: the ' opened here is never closed"),
    ('tags.team = "med-ai', 'unterminated string: the " opened here is never closed'),
    ("tags.`team = 'x'", "unterminated back-tick"),
    ('tags."team = 1', "unterminated quoted key"),
    (
        "metrics.MSE < 3000 tags.team = 'x'",
        "expected AND, OR or the end of the filter, found 'tags.team'",
    ),
    ("metrics.MSE < 3000 && tags.team = 'x'", "expected AND, OR or the end of the filter"),
    ("metrics.MSE < 3000 || tags.team = 'x'", "expected AND, OR or the end of the filter"),
    ("tags.team = 'med-ai' /* comment */", "expected AND, OR or the end of the filter"),
    ("tags.team = 'med-ai' -- comment", "expected AND, OR or the end of the filter"),
    ("tags.team = 'med-ai'; DROP TABLE runs", "expected AND, OR or the end of the filter"),
    ("metrics.MSE == 3000", "use '=' to compare, not '=='"),
    ("metrics.MSE < ", "expected a value (a number or a quoted string) after 'metrics.MSE <'"),
    ("metrics.MSE IN ()", "the IN list is empty"),
    ("metrics.MSE IN (1, 2", "expected ',' or ')' in the IN list"),
    ("metrics.MSE IN (1,)", "expected a value"),
    ("metrics.MSE IN 1", "expected '(' after IN"),
    ("metrics.MSE IS 5", "expected NULL after IS, found '5'"),
    ("metrics.MSE IS NOT 5", "expected NULL after IS NOT"),
    ("metrics.MSE = NULL", "use IS NULL or IS NOT NULL"),
    ("metrics.MSE NOT 5", "expected LIKE, ILIKE or IN after NOT"),
    (
        "attributes.foo = 'x'",
        "unknown run attribute 'foo' (attributes are run_id, run_name, "
        "status, user_id, artifact_uri, start_time, end_time, duration)",
    ),
    ("MSE < 3000", "for a metric, param or tag write metrics.MSE, params.MSE or tags.MSE"),
    ("attributes.status = 'finished'", "did you mean 'FINISHED'?"),
    ("attributes.status IN ('DONE')", "unknown status 'DONE'"),
    ("attributes.status > 'A'", "> does not apply to attributes.status, which is text"),
    ("attributes.start_time > 'yesterday'", "expected milliseconds since the epoch or an ISO date"),
    (
        "attributes.start_time LIKE '2023%'",
        "LIKE does not apply to attributes.start_time, which is a time",
    ),
    ("attributes.duration > '5'", "compare with numbers, not text: write 5 without quotes"),
    ("attributes.run_name = 5", "attributes.run_name, which is text, compare with quoted text"),
    ("attributes.run_name > 'a'", "> does not apply to attributes.run_name"),
    ("3000 > metrics.MSE", "expected a key such as metrics.MSE"),
    ("'med-ai' = tags.team", "expected a key such as metrics.MSE"),
    ("metrics.MSE < 3000abc", "expected a value (a number or a quoted string)"),
    ("metrics.MSE < 1.2.3", "expected a value"),
    ("tags.team = med", "quote text values, as in 'lbfgs'"),
    ("metrics.MSE < 1\x00", "NUL characters are not allowed"),
    ("tags.team = '\ud800'", "not valid Unicode text"),
    ("(" * 60 + "metrics.MSE < 1" + ")" * 60, "nested deeper than 50 levels"),
    ("NOT " * 60 + "metrics.MSE < 1", "nested deeper than 50 levels"),
    (" OR ".join(["metrics.MSE < 1"] * 201), "more than 200 comparisons"),
    ("metrics.MSE < 1 AND tags.team LIKE '" + "%" * 10_001 + "'", "pattern longer than"),
]


@pytest.mark.parametrize(("text", "expected"), MATCHES, ids=[m[0][:60] for m in MATCHES])
def test_filter_matches(store: Store, text: str, expected: frozenset[str]) -> None:
    assert set(store.search(text)) == expected
    assert store.count(text) == len(expected)


@pytest.mark.parametrize(("text", "fragment"), ERRORS, ids=[e[0][:60] for e in ERRORS])
def test_filter_errors(store: Store, text: str, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        store.search(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, CarnetError) and isinstance(info.value, ValueError)
    with pytest.raises(FilterError):
        store.count(text)


def test_table_is_big_enough() -> None:
    assert len(MATCHES) + len(ERRORS) >= 120
    assert len(MATCHES) >= 60 and len(ERRORS) >= 60


@pytest.mark.parametrize(("text", "fragment"), ERRORS[:20])
def test_errors_are_raised_by_parse_filter(text: str, fragment: str) -> None:
    with pytest.raises(FilterError, match="invalid filter"):
        parse_filter(text)
