"""Bulk reads the dashboard relies on: downsampled histories, key lists, columnar histories."""

from __future__ import annotations

import math

import pytest

import carnet


def test_sampled_history_keeps_the_envelope(tracking: str, client: carnet.Client) -> None:
    values = [math.sin(i / 50) for i in range(5000)]
    values[1234] = 7.0  # a spike must survive downsampling
    values[4000] = float("nan")
    with carnet.start_run() as run:
        client.log_batch(
            run.info.run_id, metrics=[("y", v, 1000 + i, i) for i, v in enumerate(values)]
        )
    sampled = client.get_metric_history(run.info.run_id, "y", max_points=200)
    assert 100 <= len(sampled) <= 200
    steps = [p.step for p in sampled]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 4999
    assert max(p.value for p in sampled if not math.isnan(p.value)) == 7.0
    assert min(p.value for p in sampled) == pytest.approx(min(v for v in values if v == v))
    full = client.get_metric_history(run.info.run_id, "y", max_points=10_000)
    assert len(full) == 5000 and math.isnan(full[4000].value)
    assert client.get_metric_history(run.info.run_id, "missing", max_points=100) == []
    with pytest.raises(carnet.InvalidInputError, match="at least 2"):
        client.get_metric_history(run.info.run_id, "y", max_points=1)


def test_sampled_history_of_a_constant_step(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        client.log_batch(run.info.run_id, metrics=[("y", float(i), 1000 + i, 0) for i in range(50)])
    assert len(client.get_metric_history(run.info.run_id, "y", max_points=10)) == 50


def test_list_keys_and_histories(tracking: str, client: carnet.Client) -> None:
    exp = carnet.set_experiment("keys")
    ids = []
    for i in range(3):
        with carnet.start_run() as run:
            carnet.log_params({f"p{i}": i, "shared": 1})
            carnet.log_metric("loss", 1.0, step=0)
            carnet.log_metric("loss", float("nan"), step=1)
            carnet.set_tag("team", "a")
        ids.append(run.info.run_id)
    keys = client.list_keys([exp.experiment_id])
    assert keys["params"] == ["p0", "p1", "p2", "shared"]
    assert keys["metrics"] == ["loss"]
    assert "team" in keys["tags"] and "mlflow.runName" in keys["tags"]
    frame = client.get_metric_histories(ids, ["loss"])
    assert list(frame.columns) == ["run_id", "key", "step", "timestamp", "value"]
    assert len(frame) == 6 and frame["value"].isna().sum() == 3
    assert client.get_metric_histories(ids, []).empty
