"""Histories stored as packed chunks plus a tail of rows read back exactly, in order.

The chunk, tail and batch sizes are shrunk so a few dozen points exercise
every path: a tail packed when its count crosses a multiple, a batch packed
with the tail, batches split over several chunks, points logged out of step
order across chunks, ties broken by timestamp and then value (NaN first).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import carnet
from carnet.errors import StoreError
from carnet.store import history
from carnet.store.engine import get_engine
from carnet.store.maintenance import check_store

Point = tuple[int, int, float]  # step, timestamp, value

values = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0])
points = st.tuples(st.integers(-3, 40), st.integers(0, 5), values)
#: A write: one synchronous point, or a batch of points for key "a" or "b".
writes = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.lists(points, min_size=1, max_size=40)),
    min_size=1,
    max_size=12,
)


def expected_order(pts: list[Point]) -> list[Point]:
    """History order, written independently: step, timestamp, NaN first, then value."""
    return sorted(
        pts, key=lambda p: (p[0], p[1], not math.isnan(p[2]), 0 if p[2] != p[2] else p[2])
    )


def same(a: list[Point], b: list[Point]) -> bool:
    """Equal point for point; NaN equals NaN (and -0.0 equals 0.0: SQLite's REAL drops the sign)."""

    def norm(p: Point) -> tuple[int, int, Any]:
        return (p[0], p[1], "NaN" if math.isnan(p[2]) else p[2])

    return [norm(p) for p in a] == [norm(p) for p in b]


def read(client: carnet.Client, run_id: str, key: str) -> list[Point]:
    return [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)]


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "TAIL_POINTS", 8)
    monkeypatch.setattr(history, "CHUNK_POINTS", 16)
    monkeypatch.setattr(history, "BATCH_POINTS", 5)


def layout(uri: str, run_id: str, key: str) -> tuple[list[int], int]:
    """(points per chunk in seq order, tail rows) of one history."""
    with get_engine(uri).connect() as conn:
        pk = conn.execute(text("SELECT id FROM runs WHERE run_uuid = :r"), {"r": run_id}).scalar()
        args = {"pk": pk, "k": key}
        chunks = conn.execute(
            text("SELECT n FROM metric_chunks WHERE run_id = :pk AND key = :k ORDER BY seq"), args
        ).scalars()
        tail = conn.execute(
            text("SELECT count(*) FROM metrics WHERE run_id = :pk AND key = :k"), args
        ).scalar()
        return list(chunks), int(tail or 0)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writes=writes)
def test_any_sequence_of_writes_reads_back_in_order(
    tracking: str, client: carnet.Client, small: None, writes: list[tuple[str, list[Point]]]
) -> None:
    run_id = client.create_run(carnet.set_experiment("h").experiment_id).info.run_id
    logged: dict[str, list[Point]] = {"a": [], "b": []}
    for key, batch in writes:
        if len(batch) == 1:
            step, ts, value = batch[0]
            client.log_metric(run_id, key, value, timestamp=ts, step=step)
        else:
            client.log_batch(run_id, metrics=[(key, v, t, s) for s, t, v in batch])
        logged[key].extend(batch)
    for key, pts in logged.items():
        assert same(read(client, run_id, key), expected_order(pts))
        chunks, tail = layout(tracking, run_id, key)
        assert tail < history.TAIL_POINTS and all(n <= history.CHUNK_POINTS for n in chunks)
        assert sum(chunks) + tail == len(pts)
    columns = client.get_metric_histories([run_id])
    for key, pts in logged.items():
        got = [
            (s, t, v)
            for k, s, t, v in zip(
                columns["key"], columns["step"], columns["timestamp"], columns["value"], strict=True
            )
            if k == key
        ]
        assert same(got, expected_order(pts))


def test_single_points_are_packed_every_tail_points(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        for i in range(2 * history.TAIL_POINTS + 452):
            carnet.log_metric("loss", i / 7, step=i)
    run_id = run.info.run_id
    assert layout(tracking, run_id, "loss") == ([history.TAIL_POINTS] * 2, 452)
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(2500))
    assert client.get_run(run_id).summaries["loss"].count == 2500
    assert check_store(tracking).ok


def test_a_big_batch_goes_straight_to_chunks(
    tracking: str, client: carnet.Client, small: None
) -> None:
    with carnet.start_run() as run:
        client.log_batch(run.info.run_id, metrics=[("x", float(i), 5, i) for i in range(40)])
        client.log_batch(run.info.run_id, metrics=[("x", 1.0, 5, 40), ("x", 2.0, 5, 41)])
    assert layout(tracking, run.info.run_id, "x") == ([16, 16, 8], 2)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "x")] == list(range(42))


def test_a_write_of_batch_points_packs_the_key_with_its_tail(
    tracking: str, client: carnet.Client
) -> None:
    few, many = history.BATCH_POINTS - 1, history.BATCH_POINTS
    with carnet.start_run() as run:
        run_id = run.info.run_id
        client.log_batch(run_id, metrics=[("x", 1.0, 5, i) for i in range(few)])
        client.log_metric(run_id, "x", 2.0, timestamp=5, step=few)
        assert layout(tracking, run_id, "x") == ([], few + 1)
        client.log_batch(run_id, metrics=[("x", 3.0, 5, few + 1 + i) for i in range(many)])
        assert layout(tracking, run_id, "x") == ([few + 1 + many], 0)
    steps = [m.step for m in client.get_metric_history(run_id, "x")]
    assert steps == list(range(few + 1 + many))


def test_ties_order_by_timestamp_then_value_nan_first(
    tracking: str, client: carnet.Client, small: None
) -> None:
    nan, inf = math.nan, math.inf
    pts = [(3, 9, 2.0), (3, 9, nan), (3, 9, -inf), (3, 8, 5.0), (1, 9, inf), (3, 9, -0.0)]
    with carnet.start_run() as run:
        for s, t, v in pts:  # crosses into a chunk with points logged before and after
            client.log_metric(run.info.run_id, "t", v, timestamp=t, step=s)
        client.log_batch(run.info.run_id, metrics=[("t", v, t, s) for s, t, v in pts])
    want = expected_order(pts + pts)
    assert [p[2] for p in want[:3]] == [inf, inf, 5.0] and math.isnan(want[4][2])
    assert same(read(client, run.info.run_id, "t"), want)


def test_points_of_one_step_and_millisecond_order_across_chunks(
    tracking: str, client: carnet.Client, small: None
) -> None:
    """Step-less logging (step 0) faster than a point per millisecond: ties span chunks."""
    values = [float((i * 7) % 30) for i in range(30)] + [math.nan]
    with carnet.start_run() as run:
        for value in values:
            client.log_metric(run.info.run_id, "t", value, timestamp=7, step=0)
    chunks, tail = layout(tracking, run.info.run_id, "t")
    assert len(chunks) >= 3 and tail > 0
    got = [m.value for m in client.get_metric_history(run.info.run_id, "t")]
    assert math.isnan(got[0]) and got[1:] == sorted(v for v in values if not math.isnan(v))


def test_sampled_history_matches_a_reference_over_chunks_and_tail(
    tracking: str, client: carnet.Client
) -> None:
    n = 3 * history.TAIL_POINTS + 77
    vals = [math.cos(i / 40) * (1 + i % 13) for i in range(n)]
    vals[500] = math.nan
    with carnet.start_run() as run:
        client.log_batch(
            run.info.run_id, metrics=[("y", v, 10 + i, 2 * i) for i, v in enumerate(vals)]
        )
        for i in range(n, n + 30):  # a tail after the chunks
            client.log_metric(run.info.run_id, "y", float(i), timestamp=10 + i, step=2 * i)
    full = read(client, run.info.run_id, "y")
    sampled = client.get_metric_history(run.info.run_id, "y", max_points=100)
    assert same([(m.step, m.timestamp, m.value) for m in sampled], reference_sample(full, 100))


def test_sampled_history_over_the_whole_int64_step_range(
    tracking: str, client: carnet.Client
) -> None:
    low, high = -(2**63), 2**63 - 1
    steps = [low, low + 1, -5, 0, 7, high - 1, high]
    with carnet.start_run() as run:
        points = [("w", float(i), 1, step) for i, step in enumerate(steps)]
        client.log_batch(run.info.run_id, metrics=points)
    full = read(client, run.info.run_id, "w")
    for max_points in (2, 4, 6):
        sampled = client.get_metric_history(run.info.run_id, "w", max_points=max_points)
        got = [(m.step, m.timestamp, m.value) for m in sampled]
        assert same(got, reference_sample(full, max_points)), max_points


def reference_sample(full: list[Point], max_points: int) -> list[Point]:
    """The bucket rule of get_metric_history(max_points=), point by point."""
    lo, hi = full[0][0], full[-1][0]
    buckets = max_points // 2
    width = -(-(hi - lo + 1) // buckets)
    groups: dict[int, list[Point]] = {}
    for p in full:
        groups.setdefault((p[0] - lo) // width, []).append(p)
    out: list[Point] = []
    for _, group in sorted(groups.items()):
        real = [p[2] for p in group if not math.isnan(p[2])]
        low, high = (min(real), max(real)) if real else (math.nan, math.nan)
        first, last = group[0][0], group[-1][0]
        out.append((first, min(p[1] for p in group), low))
        if last != first or (real and high != low):
            out.append((last, max(p[1] for p in group), high))
    return out


def test_concurrent_writers_to_one_key_lose_nothing(tracking: str, client: carnet.Client) -> None:
    """Writers crossing a pack boundary at once: each point lands exactly once."""
    run_id = client.create_run(carnet.set_experiment("h").experiment_id).info.run_id
    per_writer, writers = 700, 4
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            mine = carnet.Client(tracking)
            for i in range(per_writer):
                step = w * per_writer + i
                if i % 50 == 49:
                    batch = [("k", float(step), 1, step), ("other", 1.0, 1, step)]
                    mine.log_batch(run_id, metrics=batch)
                else:
                    mine.log_metric(run_id, "k", float(step), timestamp=1, step=step)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    steps = [m.step for m in client.get_metric_history(run_id, "k")]
    assert steps == list(range(per_writer * writers))
    chunks, tail = layout(tracking, run_id, "k")
    assert sum(chunks) + tail == per_writer * writers and tail < history.TAIL_POINTS
    assert check_store(tracking).ok


def test_a_damaged_chunk_is_reported_not_misread(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        client.log_batch(run.info.run_id, metrics=[("z", 1.0, 1, i) for i in range(2000)])
    with get_engine(tracking).begin() as conn:
        conn.execute(text("UPDATE metric_chunks SET n = n + 1"))
    with pytest.raises(StoreError, match="carnet db check"):
        client.get_metric_history(run.info.run_id, "z")
    report = check_store(tracking)
    assert not report.ok and any("metric summar" in p for p in report.problems)
