"""Each run's metric summary agrees with its full history, whatever was logged.

Random writes (single ``log_metric`` calls and ``log_batch`` batches, keys
mixed within a batch, steps and timestamps that tie, NaN and ±inf among the
values) go to a real store on both backends. Afterwards, for every key, the
summary must equal what the history says, computed here independently:

- ``count``: every point, NaN included;
- ``min`` / ``max``: over the non-NaN points (NaN when there is none);
- ``last``: the point with the greatest (step, timestamp, value), NaN ranking
  below every number, so it is the last point ``get_metric_history`` returns.

Filters read the same summary: ``metrics.k > 0`` must match exactly the runs
whose last value is a number above 0 (on PostgreSQL ``NaN > 0`` is true, so a
NaN kept in the value column would match). ``carnet db check`` must find
nothing wrong after any of it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

import carnet
from carnet.store import history
from carnet.store.engine import dispose_engines
from carnet.store.maintenance import check_store

Point = tuple[str, float, int, int]  # key, value, timestamp, step

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

values = st.sampled_from(
    [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.5, 1e308]
) | st.floats(allow_nan=True, allow_infinity=True)
points = st.tuples(st.sampled_from(["a", "b", "c"]), values, st.integers(0, 3), st.integers(-2, 4))
#: One write: a single point (log_metric) or a batch (log_batch) of any keys.
writes = st.lists(st.lists(points, min_size=1, max_size=30), min_size=1, max_size=10)


def _rank(point: Point) -> tuple[int, int, bool, float]:
    """(step, timestamp, value) with NaN below every number."""
    _, value, ts, step = point
    nan = math.isnan(value)
    return (step, ts, not nan, 0.0 if nan else value)


def expected(points: list[Point]) -> tuple[int, float, float, float, int, int]:
    """(count, last, min, max, step of last, timestamp of last) from a key's whole history."""
    numbers = [p[1] for p in points if not math.isnan(p[1])]
    last = max(points, key=_rank)
    return (
        len(points),
        last[1],
        min(numbers) if numbers else math.nan,
        max(numbers) if numbers else math.nan,
        last[3],
        last[2],
    )


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrunken history sizes, so a few dozen points go through chunks and tails alike."""
    monkeypatch.setattr(history, "TAIL_POINTS", 8)
    monkeypatch.setattr(history, "CHUNK_POINTS", 16)
    monkeypatch.setattr(history, "BATCH_POINTS", 5)


@SETTINGS
@given(writes=writes)
def test_summary_matches_the_history(
    tracking: str, client: carnet.Client, small: None, writes: list[list[Point]]
) -> None:
    exp_id = carnet.set_experiment("summaries").experiment_id
    run_id = client.create_run(exp_id).info.run_id
    logged: dict[str, list[Point]] = {}
    for batch in writes:
        if len(batch) == 1:
            key, value, ts, step = batch[0]
            client.log_metric(run_id, key, value, timestamp=ts, step=step)
        else:
            client.log_batch(run_id, metrics=batch)
        for point in batch:
            logged.setdefault(point[0], []).append(point)

    run = client.get_run(run_id)
    assert set(run.summaries) == set(logged)
    for key, pts in logged.items():
        count, last, low, high, step, ts = expected(pts)
        got = run.summaries[key]
        assert got.count == count, key
        assert same(got.last, last), (key, got.last, last)
        assert same(run.data.metrics[key], last)
        assert same(got.min, low) and same(got.max, high), (key, got, low, high)
        assert (got.step, got.timestamp) == (step, ts)
        history_last = client.get_metric_history(run_id, key)[-1]
        assert same(history_last.value, got.last), "last is the history's last point"

        above = {r.info.run_id for r in client.search_runs([exp_id], f"metrics.{key} > 0")}
        assert (run_id in above) == (not math.isnan(last) and last > 0), (key, last)
        below = {r.info.run_id for r in client.search_runs([exp_id], f"metrics.{key} <= 0")}
        assert (run_id in below) == (not math.isnan(last) and last <= 0), (key, last)

    report = check_store(tracking)
    assert report.ok, report.format()


def test_nan_loses_a_tie_of_step_and_timestamp(tracking: str, client: carnet.Client) -> None:
    """Within one batch and across calls, a number beats a NaN logged at the same instant."""
    run_id = client.create_run(carnet.set_experiment("ties").experiment_id).info.run_id
    client.log_batch(run_id, metrics=[("x", -math.inf, 5, 1), ("x", math.nan, 5, 1)])
    client.log_metric(run_id, "y", -1.0, timestamp=5, step=1)
    client.log_metric(run_id, "y", math.nan, timestamp=5, step=1)
    client.log_metric(run_id, "z", math.nan, timestamp=5, step=1)
    client.log_batch(run_id, metrics=[("z", -2.0, 5, 1), ("z", math.nan, 5, 1)])
    summaries = client.get_run(run_id).summaries
    assert summaries["x"].last == -math.inf
    assert summaries["y"].last == -1.0
    assert summaries["z"].last == -2.0
    assert [s.count for s in (summaries["x"], summaries["y"], summaries["z"])] == [2, 2, 3]


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE metric_summaries SET is_nan = TRUE WHERE key = 'x'",  # a number flagged NaN
        "UPDATE metric_summaries SET value = NULL WHERE key = 'x'",  # a number lost
        # NaN kept as a value (PostgreSQL's float NaN; on SQLite the text 'NaN')
        "UPDATE metric_summaries SET value = 'NaN' WHERE key = 'n'",
    ],
)
def test_db_check_reports_a_last_value_that_disagrees_with_its_nan_flag(
    tracking: str, client: carnet.Client, damage: str
) -> None:
    run_id = client.create_run(carnet.set_experiment("flags").experiment_id).info.run_id
    client.log_batch(run_id, metrics=[("x", 1.0, 5, 0), ("n", math.nan, 5, 0)])
    assert check_store(tracking).ok
    dispose_engines()
    engine = create_engine(tracking)
    with engine.begin() as conn:
        conn.execute(text(damage))
    engine.dispose()
    report = check_store(tracking)
    assert report.summary_mismatches == 1, report.format()
