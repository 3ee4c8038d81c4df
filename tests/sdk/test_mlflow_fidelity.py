"""Small behaviours that ordinary MLflow code relies on, matched to MLflow's own.

Each was checked against the real MLflow: its examples read ``run._info``, its
docs filter on ``attributes.status = "ACTIVE"`` (no rows, not an error), and a
launcher hands a run to a script through ``MLFLOW_RUN_ID``.
"""

from __future__ import annotations

import pytest

import carnet


def test_active_run_has_mlflow_private_info(tracking: str) -> None:
    with carnet.start_run() as run:
        assert run._info is run.info
        assert run._data is run.data
    fetched = carnet.get_run(run.info.run_id)
    assert fetched._info.run_id == run.info.run_id


def test_status_active_matches_no_run(tracking: str) -> None:
    with carnet.start_run():
        pass
    assert len(carnet.search_runs(filter_string='attributes.status = "ACTIVE"')) == 0
    assert len(carnet.search_runs(filter_string="attributes.status != 'ACTIVE'")) == 1


def test_status_typo_still_explained(tracking: str) -> None:
    with pytest.raises(carnet.errors.FilterError, match="unknown status 'DONE'"):
        carnet.search_runs(filter_string="attributes.status = 'DONE'")


@pytest.mark.parametrize("variable", ["MLFLOW_RUN_ID", "CARNET_RUN_ID"])
def test_run_id_variable_resumes_run_once(
    tracking: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with carnet.start_run() as first:
        carnet.log_param("alpha", "0.5")
    monkeypatch.setenv(variable, first.info.run_id)
    with carnet.start_run() as resumed:
        assert resumed.info.run_id == first.info.run_id
        assert carnet.get_run(first.info.run_id).info.status == "RUNNING"
        carnet.log_metric("loss", 0.25)
    run = carnet.get_run(first.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.5"}
    assert run.data.metrics == {"loss": 0.25}
    with carnet.start_run() as later:  # the variable is consumed, as on MLflow
        assert later.info.run_id != first.info.run_id


def test_explicit_run_id_wins_over_variable(tracking: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with carnet.start_run() as a:
        pass
    with carnet.start_run() as b:
        pass
    monkeypatch.setenv("MLFLOW_RUN_ID", a.info.run_id)
    with carnet.start_run(run_id=b.info.run_id) as resumed:
        assert resumed.info.run_id == b.info.run_id


def test_start_tags_are_system_tags_by_mlflow_rule(tracking: str) -> None:
    """Code that keeps user tags as those not starting with ``mlflow.`` sees none of Carnet's."""
    with carnet.start_run(tags={"team": "med"}) as run:
        pass
    tags = carnet.get_run(run.info.run_id).data.tags
    user = {k for k in tags if not k.startswith("mlflow.")}
    assert user == {"team"}
    assert tags["mlflow.system.host"] and tags["mlflow.system.python"]
    assert tags["mlflow.source.command"] and tags["mlflow.source.cwd"]
    frame = carnet.search_runs()
    assert [c for c in frame.columns if c.startswith("tags.") and "mlflow." not in c] == [
        "tags.team"
    ]


def test_a_fresh_store_has_mlflow_default_experiment(tracking: str) -> None:
    """As on MLflow: ``search_experiments()`` on a new store lists ``Default`` with id 0."""
    (default,) = carnet.search_experiments()
    assert (default.experiment_id, default.name, default.lifecycle_stage) == (
        "0",
        "Default",
        "active",
    )
    assert default.artifact_location.endswith("/0")
    carnet.set_experiment("mine")  # a user's first experiment still gets id 1
    assert carnet.get_experiment_by_name("mine").experiment_id == "1"  # type: ignore[union-attr]


def test_default_is_not_recreated_in_a_store_with_experiments(tracking: str) -> None:
    carnet.delete_experiment("0")
    assert carnet.search_experiments() == []
    carnet.Client(tracking)  # another writable open of the same store
    assert carnet.search_experiments(view_type="ALL")[0].lifecycle_stage == "deleted"
