"""Hypothesis round-trips: what goes into the store comes back exactly."""

from __future__ import annotations

import math
import string
import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carnet

KEY_ALPHABET = string.ascii_letters + string.digits + "_-. :/" + "éßλ漢"
keys = st.text(KEY_ALPHABET, min_size=1, max_size=40).filter(
    lambda k: not k.startswith("/") and ".." not in k.split("/")
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [5e-324, 1.7976931348623157e308, -0.0, 1e-300, 2.2250738585072014e-308]
)
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=300)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(params=st.dictionaries(keys, texts, max_size=8))
def test_params_round_trip(tracking: str, params: dict[str, str]) -> None:
    with carnet.start_run() as run:
        carnet.log_params(params)
    assert carnet.get_run(run.info.run_id).data.params == params


@SETTINGS
@given(values=st.lists(floats, min_size=1, max_size=30), key=keys)
def test_metric_history_round_trip(tracking: str, values: list[float], key: str) -> None:
    client = carnet.Client()
    with carnet.start_run() as run:
        for step, value in enumerate(values):
            carnet.log_metric(key, value, step=step)
    history = client.get_metric_history(run.info.run_id, key)
    assert len(history) == len(values)
    for point, value in zip(history, values, strict=True):
        assert (math.isnan(value) and math.isnan(point.value)) or point.value == value
    last = client.get_run(run.info.run_id).data.metrics[key]
    assert (math.isnan(values[-1]) and math.isnan(last)) or last == values[-1]
    summary = client.get_run(run.info.run_id).summaries[key]
    real = [v for v in values if not math.isnan(v)]
    assert summary.count == len(values)
    if real:
        assert summary.min == min(real) and summary.max == max(real)
    else:
        assert math.isnan(summary.min) and math.isnan(summary.max)


@SETTINGS
@given(tags=st.dictionaries(keys.filter(lambda k: not k.startswith("mlflow.")), texts, max_size=8))
def test_tags_round_trip(tracking: str, tags: dict[str, str]) -> None:
    with carnet.start_run() as run:
        carnet.set_tags(tags)
    stored = carnet.get_run(run.info.run_id).data.tags
    assert {k: stored[k] for k in tags} == tags


def read_back_as(value: float, uri: str) -> str:
    """The bits a stored float must come back with: its own, bit for bit.

    NaN is kept as a flag, so any NaN (sign, payload) comes back as NaN. A SQLite
    REAL column stores -0.0 as the integer 0, so on SQLite it comes back as 0.0.
    """
    if math.isnan(value):
        return "nan"
    if value == 0.0 and uri.startswith("sqlite"):
        return struct.pack("<d", 0.0).hex()
    return struct.pack("<d", value).hex()


def bits(value: float) -> str:
    return "nan" if math.isnan(value) else struct.pack("<d", value).hex()


timestamps = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)


@SETTINGS
@given(points=st.lists(st.tuples(floats, timestamps), min_size=1, max_size=200))
def test_buffered_points_round_trip(tracking: str, points: list[tuple[float, int | None]]) -> None:
    """Queued points come back with their steps, values (bit for bit) and timestamps.

    A point logged without a timestamp is stamped when it is logged, not when the
    queue is written.
    """
    client = carnet.Client()
    with carnet.start_run() as run:
        before_ms = time.time_ns() // 1_000_000
        for step, (value, timestamp) in enumerate(points):
            carnet.log_metric("b", value, step=step, timestamp=timestamp, synchronous=False)
        after_ms = time.time_ns() // 1_000_000
    history = client.get_metric_history(run.info.run_id, "b")
    assert [p.step for p in history] == list(range(len(points)))
    assert [bits(p.value) for p in history] == [read_back_as(v, tracking) for v, _ in points]
    for point, (_, timestamp) in zip(history, points, strict=True):
        if timestamp is None:
            assert before_ms <= point.timestamp <= after_ms, (point, before_ms, after_ms)
        else:
            assert point.timestamp == timestamp, point
