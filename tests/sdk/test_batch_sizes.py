"""Small batches are written as one multi-row statement, large ones row by row: both
store the same data, on SQLite and on PostgreSQL, and a failed call writes nothing."""

from __future__ import annotations

import math

import pytest

import carnet
from carnet.errors import ParamOverwriteError, RunNotFoundError
from carnet.store.sql_helpers import MULTI_ROW_MAX

SIZES = [1, 5, MULTI_ROW_MAX, MULTI_ROW_MAX + 1, 3 * MULTI_ROW_MAX]


@pytest.mark.parametrize("n", SIZES)
def test_batches_of_any_size_store_the_same(client: carnet.Client, n: int) -> None:
    run = client.create_run(
        client.create_experiment(f"sizes-{n}"), tags={f"t{i}": f"v{i}" for i in range(n)}
    )
    rid = run.info.run_id
    values = [math.nan if i % 3 == 0 else (math.inf if i % 3 == 1 else i * 0.5) for i in range(n)]
    client.log_batch(
        rid,
        metrics=[(f"m{i}", values[i], 1000 + i, i) for i in range(n)],
        params=[(f"p{i}", str(i * 0.25) if i % 2 else f"text-{i}") for i in range(n)],
        tags=[(f"s{i}", "first") for i in range(n)] + [(f"s{i}", "last") for i in range(n)],
    )
    client.log_batch(rid, metrics=[(f"m{i}", -1.0, 1, 0) for i in range(n)])  # older points
    client.log_batch(
        rid, params=[(f"p{i}", str(i * 0.25) if i % 2 else f"text-{i}") for i in range(n)]
    )
    got = client.get_run(rid).data
    assert {k: v for k, v in got.tags.items() if k.startswith("t")} == {
        f"t{i}": f"v{i}" for i in range(n)
    }
    assert {k: v for k, v in got.tags.items() if k.startswith("s")} == {
        f"s{i}": "last" for i in range(n)
    }
    assert got.params == {f"p{i}": str(i * 0.25) if i % 2 else f"text-{i}" for i in range(n)}
    for i in range(n):
        last = got.metrics[f"m{i}"]
        assert (math.isnan(last) and math.isnan(values[i])) or last == values[i]
        history = client.get_metric_history(rid, f"m{i}")
        assert [(p.step, p.timestamp) for p in history] == [(0, 1), (i, 1000 + i)]
    if n > 1:
        found = client.search_runs([run.info.experiment_id], "params.p1 = '0.25'")
        assert [r.info.run_id for r in found] == [rid]


@pytest.mark.parametrize("n", [5, 3 * MULTI_ROW_MAX])
def test_a_changed_param_in_a_batch_writes_nothing_of_it(client: carnet.Client, n: int) -> None:
    run = client.create_run(client.create_experiment(f"clash-{n}"))
    rid = run.info.run_id
    client.log_batch(rid, params=[("p0", "1")])
    with pytest.raises(ParamOverwriteError):
        client.log_batch(
            rid,
            metrics=[(f"m{i}", 1.0, 1, 0) for i in range(n)],
            params=[(f"p{i}", "2") for i in range(n)],
            tags=[(f"t{i}", "x") for i in range(n)],
        )
    got = client.get_run(rid).data
    assert got.params == {"p0": "1"}
    assert got.metrics == {}
    assert not any(k.startswith("t") for k in got.tags)


def test_ending_a_run_that_does_not_exist_raises(client: carnet.Client) -> None:
    with pytest.raises(RunNotFoundError):
        client.set_terminated("0" * 32)
    run = client.create_run(client.create_experiment("ends"))
    client.set_terminated(run.info.run_id, "KILLED", end_time=1234)
    info = client.get_run(run.info.run_id).info
    assert (info.status, info.end_time) == ("KILLED", 1234)
