"""The run context: one client per store, a run stack per thread, runs the process owns.

The fluent API, the flavours and autolog all read it; the tests drive it
through the fluent API against real stores and read the results back.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import carnet
from carnet import process_hooks, run_context
from carnet.entities import RunStatus
from tests.conftest import sqlite_uri


def test_one_client_per_store_following_set_tracking_uri(tmp_path: Path) -> None:
    first, second = sqlite_uri(tmp_path, "a.db"), sqlite_uri(tmp_path, "b.db")
    carnet.set_tracking_uri(first)
    client_a = run_context.client()
    assert run_context.client() is client_a
    assert client_a.tracking_uri == first
    carnet.set_tracking_uri(second)
    client_b = run_context.client()
    assert client_b is not client_a and client_b.tracking_uri == second
    carnet.set_tracking_uri(first)
    assert run_context.client() is client_a
    assert {id(c) for c in run_context.clients()} == {id(client_a), id(client_b)}


def test_the_environment_chooses_the_store_when_nothing_was_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_TRACKING_URI", sqlite_uri(tmp_path, "env.db"))
    assert run_context.client().tracking_uri == sqlite_uri(tmp_path, "env.db")
    monkeypatch.setenv("CARNET_TRACKING_URI", sqlite_uri(tmp_path, "other.db"))
    assert run_context.client().tracking_uri == sqlite_uri(tmp_path, "other.db")


def test_each_thread_has_its_own_active_run(tracking: str) -> None:
    seen: dict[str, str | None] = {}

    def worker() -> None:
        seen["before"] = run_context.active_run_id()
        with carnet.start_run() as mine:
            seen["own"] = mine.info.run_id
            seen["during"] = run_context.active_run_id()
        seen["after"] = run_context.active_run_id()

    with carnet.start_run() as run:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert run_context.active_run_id() == run.info.run_id
        assert run_context.active_run() is run
    assert seen["before"] is None and seen["after"] is None
    assert seen["during"] == seen["own"] != run.info.run_id
    client = carnet.Client(tracking)
    assert client.get_run(str(seen["own"])).info.status == "FINISHED"
    assert run_context.active_run_id() is None
    assert run_context.last_run_id() == run.info.run_id


def test_the_active_experiment_is_the_one_set(tracking: str) -> None:
    assert run_context.active_experiment_id() is None
    experiment = carnet.set_experiment("context")
    assert run_context.active_experiment_id() == experiment.experiment_id
    with carnet.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id


def test_released_runs_are_neither_ended_nor_beaten_for_here(tracking: str) -> None:
    """What a forked child does: the parent's runs stay RUNNING, the child may log to them."""
    run = carnet.start_run()
    assert [rid for rid, _ in run_context.live_runs()] == [run.info.run_id]
    run_context.release_runs()
    assert run_context.live_runs() == []
    process_hooks.end_all(RunStatus.KILLED.value)
    client = carnet.Client(tracking)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    carnet.Client(tracking).set_terminated(run.info.run_id, "FINISHED")


def test_clear_forgets_the_context_and_writes_buffered_points_first(tracking: str) -> None:
    carnet.set_experiment("cleared")
    run = carnet.start_run()
    carnet.log_metric("loss", 0.5, synchronous=False)
    run_context.clear()
    assert run_context.active_run() is None
    assert run_context.active_experiment_id() is None
    assert run_context.last_run_id() is None
    assert run_context.live_runs() == [] and run_context.clients() == []
    client = carnet.Client(tracking)
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [0.5]
    assert client.get_run(run.info.run_id).info.status == "RUNNING"  # forgotten, not ended
    client.set_terminated(run.info.run_id, "FINISHED")


def test_a_model_without_a_run_id_goes_to_the_active_run(tracking: str) -> None:
    """Flavours log into the run the context says is active, or start one as MLflow does."""
    from sklearn.linear_model import LinearRegression

    import carnet.sklearn

    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with carnet.start_run() as run:
        info = carnet.sklearn.log_model(model, "model")
    assert info.run_id == run.info.run_id
    started = carnet.sklearn.log_model(model, "model")
    assert started.run_id != run.info.run_id
    assert run_context.active_run_id() == started.run_id
    carnet.end_run()
