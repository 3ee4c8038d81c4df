"""The real, unmodified ``mlflow`` client logs to ``carnet server`` and reads back what it
logged; Carnet's own SDK, opened on the same store file, finds the same data.

One MLflow process (``scripts/sweep.py``) runs ordinary tracking code (the tutorial's
sweep, nested runs, searches with filters, order and page tokens, histories with NaN and
infinities, delete and restore, every kind of artifact, errors, eight threads at once)
and reports what it saw; each test checks one part of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet.entities import ViewType
from tests.server.served import Server, run_mlflow

SWEEP_GRID = [(a, l1) for a in (0.1, 0.5, 1.0) for l1 in (0.0, 0.5)]


@pytest.fixture(scope="module")
def sweep(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``scripts/sweep.py`` saw, run once for the module."""
    result: dict[str, Any] = run_mlflow(server, "sweep.py", tmp_path_factory.mktemp("mlflow"))
    return result


@pytest.fixture
def store(server: Server, monkeypatch: pytest.MonkeyPatch) -> carnet.Client:
    """Carnet's SDK on the server's store file and artifact folder, read-only, beside the
    running server."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(server.artifacts))
    return carnet.Client(server.uri, read_only=True)


def test_tutorial_sweep_lands_in_the_store(sweep: dict[str, Any], store: carnet.Client) -> None:
    assert sweep["sweep_status"] == ["FINISHED"] * 6
    experiment = store.get_experiment_by_name("sweep")
    assert experiment is not None and experiment.experiment_id == sweep["experiment_id"]
    assert sweep["experiment_artifact_location"] == f"mlflow-artifacts:/{sweep['experiment_id']}"
    assert sorted((v["alpha"], v["l1"]) for v in sweep["sweep"].values()) == sorted(SWEEP_GRID)
    for run_id, grid in sweep["sweep"].items():
        run = store.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"alpha={grid['alpha']},l1={grid['l1']}"
        assert run.data.params == {
            "alpha": str(grid["alpha"]),
            "l1_ratio": str(grid["l1"]),
            "solver": "saga",
        }
        assert run.data.metrics["rmse"] == grid["alpha"] + grid["l1"]
        assert run.data.metrics["r2"] == 1 - grid["alpha"]
        assert run.data.tags["team"] == "vision" and run.data.tags["stage"] == "sweep"
        history = store.get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(10))
        assert [m.value for m in history] == [
            (1 - grid["alpha"] / 2) ** step + grid["l1"] for step in range(10)
        ]
    run_id = next(iter(sweep["sweep"]))
    assert (
        sweep["run_artifact_uri"]
        == f"mlflow-artifacts:/{sweep['experiment_id']}/{run_id}/artifacts"
    )


def test_nested_runs_point_at_their_parent(sweep: dict[str, Any], store: carnet.Client) -> None:
    children = store.search_runs(
        [sweep["experiment_id"]], f"tags.mlflow.parentRunId = '{sweep['parent']}'"
    )
    assert sorted(r.info.run_id for r in children) == sweep["children"]
    assert len(sweep["children"]) == 2
    for child in children:
        parent = store.get_parent_run(child.info.run_id)
        assert parent is not None and parent.info.run_id == sweep["parent"]


def test_search_runs_filters_orders_and_pages(sweep: dict[str, Any]) -> None:
    expected = sorted(
        (a + l1, run_id)
        for run_id, g in sweep["sweep"].items()
        for a, l1 in [(g["alpha"], g["l1"])]
        if a + l1 < 1.2
    )
    assert sweep["filtered_rmse"] == [rmse for rmse, _ in expected]
    assert set(sweep["filtered"]) == {run_id for _, run_id in expected}
    pages = sweep["pages"]
    assert [len(p) for p in pages] == [2, 2, 2]
    flat = [run_id for page in pages for run_id in page]
    assert sorted(flat) == sorted(sweep["sweep"])  # every run once, none twice
    assert sweep["page_alphas"] == sorted(sweep["page_alphas"], reverse=True)


def test_search_experiments(sweep: dict[str, Any], store: carnet.Client) -> None:
    assert sweep["experiments_like"] == ["swap-2", "sweep"]
    assert sweep["all_experiments"] == ["Default", "swap-2", "sweep"]
    assert sweep["experiment_tags"] == {"owner": "ana"}
    names = sorted(e.name for e in store.search_experiments(ViewType.ALL))
    assert names == ["Default", "scratch-renamed", "swap-2", "sweep"]


def test_experiment_and_run_housekeeping(sweep: dict[str, Any], store: carnet.Client) -> None:
    assert sweep["scratch_deleted"] == "deleted"
    assert "scratch-renamed" not in sweep["active_names"]
    assert sweep["scratch"] == ["scratch-renamed", "active", {"b": "2"}]
    experiment = store.get_experiment_by_name("scratch-renamed")
    assert experiment is not None and experiment.tags == {"b": "2"}
    assert sweep["chore"] == ["chore-renamed", "KILLED", True, ["keep"]]
    (chore,) = store.search_runs([experiment.experiment_id])
    assert (chore.info.run_name, chore.info.status) == ("chore-renamed", "KILLED")
    assert "temp" not in chore.data.tags


def test_metric_history_keeps_nan_and_infinities(
    sweep: dict[str, Any], store: carnet.Client
) -> None:
    first = next(iter(sweep["sweep"]))
    assert sweep["history"] == [[m.step, m.value] for m in store.get_metric_history(first, "loss")]
    assert sweep["special_history"] == ["nan", "inf", "-inf", "1e-300", "2.5"]
    values = [m.value for m in store.get_metric_history(sweep["special"], "weird")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1e-300, 2.5]
    special = store.get_run(sweep["special"])
    assert special.info.experiment_id == "0"  # MLflow's Default experiment, as MLflow has it


def test_mlflow_log_input_is_stored_and_read_back(
    sweep: dict[str, Any], store: carnet.Client
) -> None:
    logged = sweep["special_dataset"]
    [entry] = store.get_run(sweep["special"]).inputs.dataset_inputs
    assert dataclasses.asdict(entry.dataset) == {k: logged.get(k) for k in logged}
    assert dict(entry.tags) == {"mlflow.data.context": "training"}
    assert sweep["special_inputs"] == [
        [logged["name"], logged["digest"], {"mlflow.data.context": "training"}]
    ]


def test_delete_and_restore_run(sweep: dict[str, Any], store: carnet.Client) -> None:
    assert sweep["deleted_hidden"] is True
    assert sweep["deleted_only"] == [sweep["victim"]]
    assert (sweep["deleted_stage"], sweep["restored_stage"]) == ("deleted", "active")
    assert store.get_run(sweep["victim"]).info.lifecycle_stage == "active"


def test_artifacts_round_trip(sweep: dict[str, Any], store: carnet.Client, server: Server) -> None:
    run_id = sweep["artifact_run"]
    names = {f.path: f.is_dir for f in store.list_artifacts(run_id)}
    assert names == {
        "config.json": False,
        "config.yaml": False,
        "data": True,
        "model.txt": False,
        "notes": True,
        "plots": True,
        "sub": True,
    }
    assert sorted(p for p, _, _ in sweep["root_listing"]) == sorted(names)
    assert sweep["sub_listing"] == [["sub/dir/model.txt", False]]
    assert store.read_artifact(run_id, "notes/hello.txt") == b"hello carnet\n"
    assert store.read_artifact(run_id, "sub/dir/model.txt") == b"weights: 1 2 3\n"
    assert sweep["text"] == "hello carnet\n"
    assert sweep["dict"] == {"lr": 0.1, "layers": [64, 32]}
    assert store.read_artifact(run_id, "plots/curve.png").startswith(b"\x89PNG")
    big = hashlib.sha256(store.read_artifact(run_id, "data/big.bin")).hexdigest()
    assert big == sweep["big_sha256"] == sweep["single_sha256"]
    assert sweep["downloaded"]["data/big.bin"] == big
    assert set(sweep["downloaded"]) == {
        "config.json",
        "config.yaml",
        "data/big.bin",
        "model.txt",
        "notes/hello.txt",
        "plots/curve.png",
        "sub/dir/model.txt",
    }
    for rel, digest in sweep["downloaded"].items():
        assert hashlib.sha256(store.read_artifact(run_id, rel)).hexdigest() == digest
    # The files live in the run's folder under the server's artifact folder, nowhere else.
    folder = server.artifacts / sweep["experiment_id"] / run_id / "artifacts"
    assert (folder / "notes" / "hello.txt").read_bytes() == b"hello carnet\n"
    leftovers = [p.name for p in Path(server.artifacts).iterdir() if p.name.startswith(".carnet")]
    assert leftovers == []


def test_errors_reach_the_client_as_mlflow_exceptions(sweep: dict[str, Any]) -> None:
    assert sweep["errors"] == {
        "missing_run": "RESOURCE_DOES_NOT_EXIST",
        "missing_experiment": "RESOURCE_DOES_NOT_EXIST",
        "duplicate_experiment": "RESOURCE_ALREADY_EXISTS",
        "param_overwrite": "INVALID_PARAMETER_VALUE",
        "finished_run": "no error",
        "deleted_run": "INVALID_STATE",
    }
    assert sweep["late_param"] == "1"
    assert sweep["missing_by_name"] is True


def test_eight_threads_log_at_once(
    sweep: dict[str, Any], store: carnet.Client, server: Server
) -> None:
    assert sweep["concurrent_failures"] == []
    assert len(sweep["concurrent_runs"]) == 8
    for run_id in sweep["concurrent_runs"]:
        run = store.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert [m.value for m in store.get_metric_history(run_id, "m")] == [
            float(s) for s in range(25)
        ]
    assert "locked" not in server.log_text()
