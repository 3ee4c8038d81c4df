"""The sidebar's first choice skips the empty ``Default`` experiment every store opens with."""

from __future__ import annotations

import pytest

import carnet

from .conftest import make_app, no_exceptions


def test_an_imported_older_experiment_wins_over_the_empty_default(
    uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = carnet.Client(uri)  # a fresh store: MLflow's Default (id 0), created now
    assert [e.name for e in client.search_experiments()] == ["Default"]
    old = client.create_experiment("imported")
    run = client.create_run(old, start_time=1_577_836_800_000)  # 2020, before Default
    client.set_terminated(run.info.run_id)
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    at = make_app()
    no_exceptions(at)
    assert at.multiselect(key="w.experiments").value == [old]
