"""Searches compiled once and run again: the clock and every value still apply."""

from __future__ import annotations

import time

import pytest

import carnet
from carnet.entities import ViewType
from carnet.store import sql_search


def test_a_repeated_search_sees_a_run_go_stale(
    client: carnet.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash cutoff is bound per call: the same search later sees the run CRASHED."""
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "2")
    eid = client.create_experiment("stale")
    run = client.create_run(eid)
    query = "attributes.status = 'CRASHED'"
    first = client.search_runs([eid], query)
    counted = client.count_runs([eid], query)
    time.sleep(2.5)
    later = client.search_runs([eid], query)
    assert [r.info.run_id for r in first] == [] and counted == 0
    assert [r.info.run_id for r in later] == [run.info.run_id]
    assert client.count_runs([eid], query) == 1


def test_same_text_other_values_give_other_runs(client: carnet.Client) -> None:
    """Two searches that differ only in a value each return their own runs."""
    eid = client.create_experiment("values")
    for name in ("adam", "sgd"):
        run = client.create_run(eid, run_name=name)
        client.log_param(run.info.run_id, "opt", name)
    for name in ("adam", "sgd", "adam"):
        found = client.search_runs([eid], f"params.opt = '{name}'", order_by=["params.opt"])
        assert [r.info.run_name for r in found] == [name]


def test_prepared_sql_binds_every_value(client: carnet.Client) -> None:
    """The cached SQL text holds no value from the filter, only parameters."""
    marker = "zz_marker_value"
    search = sql_search.prepared_run_search(
        client.store.engine.dialect,
        (1,),
        f"params.p = '{marker}' and metrics.m < 12345.5 and tags.t LIKE '%{marker}%'",
        ("metrics.m DESC",),
        ViewType.ACTIVE_ONLY,
        60_000,
        100,
        0,
    )
    assert marker not in search.sql and "12345" not in search.sql
    assert marker in search.values.values()
