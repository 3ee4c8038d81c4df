"""Every malformed filter in ``bad_filters.py`` is a FilterError that points at its mistake.

Each runs through the public search API on both backends. Besides the message
fragments and the caret position, the statement tracer shows that no SQL at
all was sent for a bad filter (the query engine refuses it while parsing), and
a dump of every table shows the store unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

import carnet
from carnet.errors import FilterError

from .bad_filters import EXPERIMENT_FILTERS, ORDER_BY, RUN_FILTERS, BadFilter, markdown_table
from .conftest import dump_store

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def test_there_are_enough_and_no_duplicates() -> None:
    cases = [("run", c.text) for c in RUN_FILTERS] + [("order", c.text) for c in ORDER_BY]
    cases += [("experiment", c.text) for c in EXPERIMENT_FILTERS]
    assert len(RUN_FILTERS) + len(EXPERIMENT_FILTERS) >= 100
    assert len(set(cases)) == len(cases)


def test_every_bad_filter_raises_where_it_says(any_uri: str, sql_trace: list[str]) -> None:
    client = carnet.Client(any_uri)
    exp = client.create_experiment("filters")
    run = client.create_run(exp, run_name="r")
    client.log_batch(run.info.run_id, [("MSE", 1.0, 1, 0)], [("alpha", "0.1")], [("team", "a")])
    assert len(client.search_runs([exp], "metrics.MSE < 3 and params.alpha = '0.1'")) == 1
    before = dump_store(any_uri)

    def run_filter(case: BadFilter) -> object:
        return client.search_runs([exp], filter_string=case.text)

    def run_order(case: BadFilter) -> object:
        return client.search_runs([exp], order_by=[case.text])

    def experiment_filter(case: BadFilter) -> object:
        return client.search_experiments(filter_string=case.text)

    calls: list[tuple[BadFilter, Callable[[BadFilter], object]]] = [
        *((c, run_filter) for c in RUN_FILTERS),
        *((c, run_order) for c in ORDER_BY),
        *((c, experiment_filter) for c in EXPERIMENT_FILTERS),
    ]

    problems = []
    for case, call in calls:
        sql_trace.clear()
        try:
            call(case)
        except FilterError as exc:
            message = str(exc)
            missing = [f for f in case.fragments if f not in message]
            if missing:
                problems.append(f"{case.text[:60]!r}: {missing} not in {message!r}")
            if f"({case.where})" not in message.splitlines()[0]:
                problems.append(f"{case.text[:60]!r}: caret not at {case.where}: {message!r}")
            if not re.search(r"\n    .*\n    *\^$", message):
                problems.append(f"{case.text[:60]!r}: no caret line in {message!r}")
            if sql_trace:
                problems.append(f"{case.text[:60]!r}: SQL ran for a bad filter: {sql_trace}")
        except Exception as exc:
            problems.append(f"{case.text[:60]!r}: {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{case.text[:60]!r}: no error")
    assert not problems, "\n".join(problems)
    assert dump_store(any_uri) == before


@pytest.mark.parametrize(
    "text", ["metrics.MSE < ", "params.alpha = 'x"], ids=["end", "unterminated"]
)
def test_fluent_search_raises_the_same_error(tracking: str, text: str) -> None:
    carnet.set_experiment("filters")
    with pytest.raises(FilterError, match=r"\(position \d+\)"):
        carnet.search_runs(filter_string=text)


def test_the_docs_show_this_list() -> None:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- bad-filters:start -->\n(.*?)\n<!-- bad-filters:end -->", text, re.S)
    assert match, "docs/reliability.md lost its bad-filters markers"
    assert match.group(1) == markdown_table(), (
        "the list in docs/reliability.md differs from tests/reliability/bad_filters.py; "
        "paste markdown_table() between the markers"
    )
