"""Filters and sorts over stores written through the SDK, checked against the oracle.

The fixture sweep (conftest.py) is inserted row by row with SQL, so it cannot
catch a store that writes its summaries or numeric param copies wrong. Here
every run goes in through the public API (``log_param``, ``log_metric``,
``set_tag``, their plural forms and ``Client.log_batch``), histories are
logged out of step order, values include NaN, ±inf and -0.0, and
``search_runs`` must select and order exactly the runs the oracle does, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carnet
from carnet.query import parse_filter

from . import oracle
from .conftest import R

NAN = math.nan
INF = math.inf

#: Param texts: plain and odd numbers (as Python's float reads them), NaN spelled
#: out, words. All lower case ASCII where text order matters, so any collation
#: sorts them alike.
PARAM_TEXTS = [
    "1",
    "1.0",
    "1e0",
    "-0",
    "0",
    "0.01",
    "1e-3",
    "12",
    "1_000",
    "1000",
    "inf",
    "-infinity",
    "nan",
    "auto",
    "saga",
    "",
    "1e999",
    "9" * 64,
    "9" * 65,
]
METRIC_VALUES = [0.0, -0.0, 1.0, -1.5, 2.5, 12.0, 1e308, -1e308, INF, -INF, NAN, 5e-324]
TAG_TEXTS = ["a", "b", "med-ai", "x%y", "", "abc"]
METRIC_KEYS = ["loss", "acc", "val.x"]
PARAM_KEYS = ["alpha", "solver", "n"]
TAG_KEYS = ["team", "fold"]


@dataclass
class Written:
    """One generated run and the SDK route it is written by."""

    run: R
    route: str  # "fluent", "plural" or "batch"
    order: list[int]  # the order in which history steps are logged


@st.composite
def runs(draw: st.DrawFn) -> list[Written]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        params = draw(st.dictionaries(st.sampled_from(PARAM_KEYS), st.sampled_from(PARAM_TEXTS)))
        metrics = draw(
            st.dictionaries(
                st.sampled_from(METRIC_KEYS),
                st.lists(st.sampled_from(METRIC_VALUES), min_size=1, max_size=4),
            )
        )
        tags = draw(st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_TEXTS)))
        longest = max((len(v) for v in metrics.values()), default=0)
        order = draw(st.permutations(list(range(longest))))
        route = draw(st.sampled_from(["fluent", "plural", "batch"]))
        run = R(f"s{i}", params=params, metrics=metrics, tags=tags, name=f"s{i}")
        out.append(Written(run, route, list(order)))
    return out


def write(client: carnet.Client, experiment_id: str, written: Sequence[Written]) -> list[R]:
    """Log each run through its route; return the runs with their real start times."""
    stored = []
    for w in written:
        run = w.run
        points = [
            (key, values[step], step)
            for step in w.order
            for key, values in run.metrics.items()
            if step < len(values)
        ]
        if w.route == "batch":
            run_id = client.create_run(experiment_id, run_name=run.label).info.run_id
            client.log_batch(
                run_id,
                metrics=[(k, v, 1_000 + s, s) for k, v, s in points],
                params=list(run.params.items()),
                tags=list(run.tags.items()),
            )
            client.set_terminated(run_id)
        else:
            with carnet.start_run(experiment_id=experiment_id, run_name=run.label) as active:
                run_id = active.info.run_id
                if w.route == "fluent":
                    for k, text in run.params.items():
                        carnet.log_param(k, text)
                    for k, text in run.tags.items():
                        carnet.set_tag(k, text)
                    for k, v, s in points:
                        carnet.log_metric(k, v, step=s)
                else:
                    carnet.log_params(dict(run.params))
                    carnet.set_tags(dict(run.tags))
                    for k, v, s in points:
                        carnet.log_metrics({k: v}, step=s)
        start = client.get_run(run_id).info.start_time
        stored.append(dataclasses.replace(run, start_ms=start))
    return stored


def _experiment(client: carnet.Client) -> str:
    return client.create_experiment("sdk-" + uuid.uuid4().hex[:12])


def _labels(frame: object) -> list[str]:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    return [] if frame.empty else [str(name) for name in frame["run_name"]]


# -- generated filters --------------------------------------------------------------------
NUMBERS = st.sampled_from(["-1e308", "-1.5", "-1", "0", "1", "2.5", "12", "1000", "1e308"])
QUOTED = st.sampled_from(["'1'", "'1.0'", "'auto'", "'nan'", "''", "'1_000'", "'a'", "'med-ai'"])
PATTERNS = st.sampled_from(["'1%'", "'%a%'", "'_'", "'x\\%y'", "'%'", "'MED%'"])


def _comparison() -> st.SearchStrategy[str]:
    metric = st.sampled_from(
        [
            f"metrics.`{k}`{a}"
            for k in [*METRIC_KEYS, "nope"]
            for a in ("", ".last", ".min", ".max", ".count")
        ]
    )
    param = st.sampled_from([f"params.{k}" for k in [*PARAM_KEYS, "nope"]])
    tag = st.sampled_from([f"tags.{k}" for k in [*TAG_KEYS, "nope"]])
    num_op = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    eq_op = st.sampled_from(["=", "!="])
    like = st.sampled_from(["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
    in_op = st.sampled_from(["IN", "NOT IN"])
    null = st.sampled_from(["IS NULL", "IS NOT NULL"])

    def listed(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.lists(values, min_size=1, max_size=3).map(lambda v: "(" + ", ".join(v) + ")")

    return st.one_of(
        st.tuples(metric, num_op, NUMBERS).map(" ".join),
        st.tuples(metric, in_op, listed(NUMBERS)).map(" ".join),
        st.tuples(param, num_op, NUMBERS).map(" ".join),
        st.tuples(param, eq_op, QUOTED).map(" ".join),
        st.tuples(param, in_op, listed(st.one_of(NUMBERS, QUOTED))).map(" ".join),
        st.tuples(param, like, PATTERNS).map(" ".join),
        st.tuples(tag, eq_op, QUOTED).map(" ".join),
        st.tuples(tag, like, PATTERNS).map(" ".join),
        st.tuples(st.one_of(metric, param, tag), null).map(" ".join),
    )


FILTERS = st.recursive(
    _comparison(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" AND ", " OR "]), inner).map("".join),
        inner.map(lambda f: f"NOT ({f})"),
    ),
    max_leaves=5,
)
ORDER_KEYS = st.sampled_from(
    [
        *(f"metrics.`{k}`" for k in METRIC_KEYS),
        "metrics.loss.min",
        "metrics.loss.max",
        "metrics.loss.count",
        *(f"params.{k}" for k in PARAM_KEYS),
        *(f"tags.{k}" for k in TAG_KEYS),
        "metrics.nope",
        "start_time",
    ]
)
ORDERS = st.lists(
    st.tuples(ORDER_KEYS, st.sampled_from(["", " ASC", " DESC"])).map("".join), max_size=4
)
SDK = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SDK
@given(written=runs(), filters=st.lists(FILTERS, min_size=1, max_size=4), order_by=ORDERS)
def test_sdk_written_runs_match_the_oracle(
    client: carnet.Client, written: list[Written], filters: list[str], order_by: list[str]
) -> None:
    experiment_id = _experiment(client)
    stored = write(client, experiment_id, written)
    pk = {r.label: i for i, r in enumerate(stored)}
    for text in filters:
        node = parse_filter(text)
        want = {r.label for r in stored if oracle.matches(node, r)}
        frame = carnet.search_runs(experiment_ids=[experiment_id], filter_string=text)
        assert set(_labels(frame)) == want, text
        assert client.count_runs([experiment_id], text) == len(want), text
    expected = oracle.ordered(stored, order_by, pk)
    frame = carnet.search_runs(experiment_ids=[experiment_id], order_by=order_by)
    assert _labels(frame) == expected, order_by
    paged = client.search_runs([experiment_id], order_by=order_by, max_results=2)
    assert [r.info.run_name for r in paged] == expected[:2], order_by


# -- NaN and infinities, by hand ---------------------------------------------------------
HISTORIES = {
    "nan_last": [1.0, NAN],
    "nan_only": [NAN, NAN],
    "nan_then_two": [NAN, 2.0],
    "inf": [INF],
    "minus_inf": [-INF],
    "zero": [-0.0],
    "no_x": [],
}
NAN_CASES = [
    ("metrics.x > 0", {"nan_then_two", "inf"}),
    ("metrics.x >= -1e308", {"nan_then_two", "inf", "zero"}),
    ("metrics.x < 0", {"minus_inf"}),
    ("metrics.x = 0", {"zero"}),
    ("metrics.x != 0", {"nan_last", "nan_only", "nan_then_two", "inf", "minus_inf"}),
    ("metrics.x NOT IN (2, 0)", {"nan_last", "nan_only", "inf", "minus_inf"}),
    ("NOT metrics.x > 0", {"nan_last", "nan_only", "minus_inf", "zero", "no_x"}),
    ("metrics.x IS NULL", {"no_x"}),
    ("metrics.x.max > 0", {"nan_last", "nan_then_two", "inf"}),
    ("metrics.x.min < 1.5", {"nan_last", "minus_inf", "zero"}),
    ("metrics.x.max != 5", {"nan_last", "nan_only", "nan_then_two", "inf", "minus_inf", "zero"}),
    ("metrics.x.count = 2", {"nan_last", "nan_only", "nan_then_two"}),
    ("metrics.x > 1e308", {"inf"}),
    ("metrics.x < -1e308", {"minus_inf"}),
]


@pytest.fixture
def nan_store(client: carnet.Client) -> tuple[str, list[R]]:
    """One run per history above, logged point by point through the fluent API."""
    experiment_id = _experiment(client)
    written: list[Written] = []
    for label, values in HISTORIES.items():
        metrics = {"x": values} if values else {"y": [1.0]}
        route = "fluent" if len(written) % 2 else "batch"
        steps = list(range(max(len(v) for v in metrics.values())))
        written.append(Written(R(label, metrics=metrics, name=label), route, steps))
    return experiment_id, write(client, experiment_id, written)


@pytest.mark.parametrize(("text", "expected"), NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_and_infinities(nan_store: tuple[str, list[R]], text: str, expected: set[str]) -> None:
    """A run whose last value is NaN fails every comparison but != and NOT IN, on both
    backends (PostgreSQL orders NaN above every number, so a stored NaN would pass > 0)."""
    experiment_id, stored = nan_store
    node = parse_filter(text)
    assert {r.label for r in stored if oracle.matches(node, r)} == expected
    frame = carnet.search_runs(experiment_ids=[experiment_id], filter_string=text)
    assert set(_labels(frame)) == expected


def test_nan_and_infinities_sort_last_but_missing(nan_store: tuple[str, list[R]]) -> None:
    experiment_id, stored = nan_store
    pk = {r.label: i for i, r in enumerate(stored)}
    for clause in ("metrics.x ASC", "metrics.x DESC", "metrics.x.max", "metrics.x.min DESC"):
        frame = carnet.search_runs(experiment_ids=[experiment_id], order_by=[clause])
        assert _labels(frame) == oracle.ordered(stored, [clause], pk), clause
    frame = carnet.search_runs(experiment_ids=[experiment_id], order_by=["metrics.x"])
    assert _labels(frame)[:4] == ["minus_inf", "zero", "nan_then_two", "inf"]
    assert _labels(frame)[-1] == "no_x"
