"""The fast reader of log-batch points answers exactly as the typed field readers do: the
same points for what MLflow's server accepts, the same 400 message for what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from carnet.entities import Metric
from carnet.server.errors import ApiError
from carnet.server.parsing import Fields, loads
from carnet.server.points import metric_points


def _typed(items: list[Any]) -> list[Metric]:
    """The reading the fast path stands in for: every item through ``Fields``."""
    out = []
    for m in Fields({"metrics": items}).objects("metrics"):
        key = m.required_string("key")
        value = m.number("value", required=True)
        timestamp = m.integer("timestamp", required=True)
        assert value is not None and timestamp is not None
        out.append(Metric(key, value, timestamp, m.integer("step") or 0))
    return out


GOOD = [
    {"key": "loss", "value": 0.5, "timestamp": 1, "step": 3},
    {"key": "loss", "value": 2, "timestamp": 2},
    {"key": "acc", "value": -1e300, "timestamp": -5, "step": None},
    {"key": "acc", "value": "NaN", "timestamp": 3, "step": 1},
    {"key": "acc", "value": "-Infinity", "timestamp": "4", "step": "7"},
    {"key": "x", "value": "1.25", "timestamp": 2**63 - 1, "step": -(2**63)},
    {"key": "", "value": 0.0, "timestamp": 0, "step": 0, "model_id": "m", "extra": [1]},
]

BAD = [
    [{"value": 1.0, "timestamp": 1}],
    [{"key": "k", "timestamp": 1}],
    [{"key": "k", "value": 1.0}],
    [{"key": 3, "value": 1.0, "timestamp": 1}],
    [{"key": "k", "value": True, "timestamp": 1}],
    [{"key": "k", "value": 1.0, "timestamp": True}],
    [{"key": "k", "value": 1.0, "timestamp": 2**63}],
    [{"key": "k", "value": 1.0, "timestamp": 1, "step": 1.5}],
    [{"key": "k", "value": 2**1024, "timestamp": 1}],
    [{"key": "k", "value": "abc", "timestamp": 1}],
    [{"key": "k", "value": [1], "timestamp": 1}],
    [GOOD[0], "not an object"],
    [GOOD[0], None],
]


def test_points_read_as_the_typed_readers_read_them() -> None:
    fast = metric_points(Fields({"metrics": GOOD}))
    assert fast == _typed(GOOD)
    assert [type(m[1]) for m in fast] == [float] * len(GOOD)
    assert metric_points(Fields({})) == []


@pytest.mark.parametrize("items", BAD, ids=range(len(BAD)))
def test_bad_points_get_the_typed_readers_message(items: list[Any]) -> None:
    with pytest.raises(ApiError) as typed:
        _typed(items)
    with pytest.raises(ApiError) as fast:
        metric_points(Fields({"metrics": items}))
    assert (fast.value.status, fast.value.error_code) == (400, "INVALID_PARAMETER_VALUE")
    assert str(fast.value) == str(typed.value)


def test_metrics_that_are_not_a_list_are_refused() -> None:
    with pytest.raises(ApiError, match="metrics"):
        metric_points(Fields({"metrics": {"key": "k"}}))


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1.5, "b": [1, "x", null, true]}',
        b'{"value": NaN, "other": -Infinity}',
        b'{"key": "\\ud800"}',
        '{"key": "\u00e9t\u00e9"}'.encode(),
    ],
)
def test_bodies_read_as_the_json_module_reads_them(body: bytes) -> None:
    """orjson (when installed) reads what it can; the rest falls back, so answers agree."""
    import json
    import math

    got, want = loads(body), json.loads(body)
    assert json.dumps(got) == json.dumps(want)
    assert all(
        type(got[k]) is type(want[k]) or (isinstance(want[k], float) and math.isnan(want[k]))
        for k in want
    )


def test_an_integer_past_64_bits_is_refused_whichever_reader() -> None:
    body = b'{"metrics": [{"key": "k", "value": 123456789012345678901234567890, "timestamp": 1}]}'
    assert metric_points(Fields(loads(body)))[0][1] == 1.2345678901234568e29
    too_big = (
        b'{"metrics": [{"key": "k", "value": 1, "timestamp": 123456789012345678901234567890}]}'
    )
    with pytest.raises(ApiError) as refused:
        metric_points(Fields(loads(too_big)))
    assert refused.value.status == 400 and "metrics[0].timestamp" in refused.value.message


def test_bad_json_is_still_refused() -> None:
    with pytest.raises(ValueError):
        loads(b'{"a": }')
