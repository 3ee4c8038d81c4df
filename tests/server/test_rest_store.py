"""Carnet's own SDK over HTTP: ``set_tracking_uri("http://host:port")`` makes the fluent API
and ``Client`` talk to a real ``carnet server`` (on a SQLite file and on PostgreSQL) through
the REST store. What they record is read back directly from the server's store, and what
they read over HTTP is compared with the same read made directly."""

from __future__ import annotations

import math
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import carnet
from carnet.entities import FileInfo
from carnet.errors import (
    ArtifactNotFoundError,
    ArtifactPathError,
    ExperimentExistsError,
    ExperimentNotFoundError,
    FilterError,
    ParamOverwriteError,
    ReadOnlyError,
    RunNotActiveError,
    RunNotFoundError,
)
from carnet.store.rest import RestStore
from tests.server.served import Server

README = Path(__file__).resolve().parents[2] / "README.md"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def over_http(any_server: Server) -> Server:
    """The fluent API pointed at the server by its address."""
    carnet.set_tracking_uri(any_server.base)
    return any_server


def direct(server: Server) -> carnet.Client:
    """The server's own store, opened directly (to check what the server wrote)."""
    return carnet.Client(server.uri, read_only=True)


def quick_start() -> str:
    section = README.read_text().split("## Quick start", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_quick_start_runs_against_the_server(over_http: Server) -> None:
    code = quick_start()
    assert '"sqlite:///quickstart.db"' in code
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    exec(compile(code.replace('"sqlite:///quickstart.db"', repr(over_http.base)), "README", "exec"),
         namespace)  # fmt: skip
    assert isinstance(carnet.Client().store, RestStore)
    best = namespace["best"]
    assert list(best["params.alpha"]) == ["0.02"] and list(best["metrics.MSE"]) == [2921.8]
    stored = direct(over_http).get_run(best["run_id"][0])
    assert stored.info.status == "FINISHED" and stored.info.run_name == "elastic-net"
    assert stored.data.params == {"alpha": "0.02", "l1_ratio": "1.0"}
    assert stored.data.metrics == {"loss": 1 / 3, "MSE": 2921.8, "R2": 0.47}
    history = direct(over_http).get_metric_history(stored.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert "mlflow.carnet.heartbeat" not in stored.data.tags  # its own process beat for it


def test_nested_runs_record_their_parent(over_http: Server) -> None:
    carnet.set_experiment(unique("nested"))
    with (
        carnet.start_run(run_name="parent") as parent,
        carnet.start_run(run_name="child", nested=True) as child,
    ):
        carnet.log_metric("x", 1.0)
        assert carnet.active_run().info.run_id == child.info.run_id
    pid, cid = parent.info.run_id, child.info.run_id
    children = carnet.search_runs(filter_string=f"tags.mlflow.parentRunId = '{pid}'")
    assert list(children["run_id"]) == [cid] and list(children["parent_run_id"]) == [pid]
    stored = direct(over_http)
    assert stored.get_run(cid).data.tags["mlflow.parentRunId"] == pid
    assert {stored.get_run(r).info.status for r in (pid, cid)} == {"FINISHED"}
    assert carnet.Client().get_parent_run(cid).info.run_id == pid


def _sweep(name: str) -> str:
    experiment_id = carnet.set_experiment(name).experiment_id
    for i, alpha in enumerate([0.1, 0.01, 0.001, 0.05, 0.2]):
        with carnet.start_run(run_name=f"a{i}"):
            carnet.log_params({"alpha": alpha, "solver": "saga" if i % 2 else "lbfgs"})
            carnet.set_tag("team", "medical" if i % 2 else "vision")
            for step in range(4):
                carnet.log_metric("loss", alpha * (4 - step), step=step)
            carnet.log_metric("odd", [math.nan, math.inf, -math.inf, 1.5, 2.5][i])
    return experiment_id


def test_search_runs_into_a_dataframe_reads_as_the_direct_store(over_http: Server) -> None:
    experiment_id = _sweep(unique("sweep"))
    query = "params.alpha < 0.06 and tags.team LIKE 'med%' or metrics.loss.min < 0.002"
    order = ["metrics.loss DESC", "params.alpha ASC"]
    found = carnet.search_runs(filter_string=query, order_by=order)
    assert isinstance(found, pd.DataFrame)
    assert list(found["params.alpha"]) == ["0.05", "0.01", "0.001"]
    over = carnet.Client(over_http.base)
    local = direct(over_http)
    for summaries in (False, True):
        ours = over.search_runs_frame([experiment_id], query, order_by=order, summaries=summaries)
        theirs = local.search_runs_frame(
            [experiment_id], query, order_by=order, summaries=summaries
        )
        # The artifact location is the server's to give: mlflow-artifacts:/ over HTTP.
        assert all(u.startswith("mlflow-artifacts:/") for u in ours["artifact_uri"])
        pd.testing.assert_frame_equal(
            ours.drop(columns="artifact_uri"), theirs.drop(columns="artifact_uri")
        )
    everything = over.search_runs_frame([experiment_id], order_by=["attributes.run_name ASC"])
    assert list(everything["run_name"]) == ["a0", "a1", "a2", "a3", "a4"]
    assert math.isnan(everything["metrics.odd"][0]) and everything["metrics.odd"][1] == math.inf
    assert list(over.search_runs_frame([experiment_id], max_results=2, offset=3)["run_name"]) == (
        list(local.search_runs_frame([experiment_id], max_results=2, offset=3)["run_name"])
    )
    assert over.count_runs([experiment_id], "params.solver = 'saga'") == 2
    assert over.list_keys([experiment_id]) == local.list_keys([experiment_id])


def test_run_inputs_read_over_http_as_the_direct_store(over_http: Server) -> None:
    """Datasets logged over HTTP come back in ``get_run(...).inputs`` and ``to_dictionary()``."""
    carnet.set_experiment(unique("inputs"))
    frame = pd.DataFrame({"age": [0.1, 0.2], "bmi": [1.5, 2.5]})
    dataset = carnet.data.from_pandas(frame, source="s3://bucket/diabetes.csv", name="diabetes")
    with carnet.start_run() as run:
        carnet.log_input(dataset, context="training")
    over = carnet.Client(over_http.base).get_run(run.info.run_id)
    local = direct(over_http).get_run(run.info.run_id)
    assert over.inputs == local.inputs
    (item,) = over.inputs.dataset_inputs
    assert item.dataset.name == "diabetes" and item.dataset.digest == dataset.digest
    assert dict(item.tags) == {"mlflow.data.context": "training"}
    shape = over.to_dictionary()["inputs"]
    assert shape["dataset_inputs"][0]["tags"] == {"mlflow.data.context": "training"}
    assert shape["dataset_inputs"][0]["dataset"]["name"] == "diabetes"


def test_search_pages_through_tokens(over_http: Server) -> None:
    experiment_id = _sweep(unique("pages"))
    client = carnet.Client()
    seen: list[str] = []
    token = None
    for _ in range(4):
        page = client.search_runs(
            [experiment_id], max_results=2, order_by=["params.alpha ASC"], page_token=token
        )
        seen += [r.data.params["alpha"] for r in page]
        token = page.token
        if token is None:
            break
    assert seen == ["0.001", "0.01", "0.05", "0.1", "0.2"] and token is None
    names = {e.name for e in client.search_experiments(max_results=None)}
    assert {e.name for e in direct(over_http).search_experiments(max_results=None)} == names


def test_histories_read_as_the_direct_store(over_http: Server) -> None:
    carnet.set_experiment(unique("histories"))
    with carnet.start_run() as run:
        carnet.log_metrics({"loss": 0.5, "acc": 0.1}, step=0)
        for step in range(1, 1500):
            carnet.log_metric("long", math.sin(step / 50), step=step, synchronous=False)
        carnet.log_metric("acc", math.nan, step=1)
    rid = run.info.run_id
    over, local = carnet.Client(), direct(over_http)
    for key in ("loss", "acc", "long"):
        ours, theirs = over.get_metric_history(rid, key), local.get_metric_history(rid, key)
        assert [(m.step, m.timestamp, repr(m.value)) for m in ours] == [
            (m.step, m.timestamp, repr(m.value)) for m in theirs
        ]
    pd.testing.assert_frame_equal(
        over.get_metric_histories([rid]).sort_values(["key", "step"], ignore_index=True),
        local.get_metric_histories([rid]).sort_values(["key", "step"], ignore_index=True),
    )
    sampled = over.get_metric_history(rid, "long", max_points=50)
    steps = [m.step for m in sampled]
    assert 2 <= len(sampled) <= 60 and steps == sorted(steps)
    assert steps[0] == 1 and steps[-1] == 1499
    assert {m.step for m in sampled} <= set(range(1, 1500))
    with pytest.raises(RunNotFoundError):
        over.get_metric_history("f" * 32, "loss")


def test_artifacts_go_to_the_server_and_come_back(
    over_http: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    carnet.set_experiment(unique("artifacts"))
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("A")
    blob = os.urandom(3_000_000)
    (source / "sub" / "b.bin").write_bytes(blob)
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x00" * 10)
    with carnet.start_run() as run:
        carnet.log_artifact(str(model), "models")
        carnet.log_artifacts(str(source), "data")
        carnet.log_text("héllo", "notes/hello.txt")
        carnet.log_dict({"a": 1}, "config.yaml")
        with pytest.raises(ArtifactPathError, match=r"\.\."):
            carnet.log_text("x", "../escape.txt")
    rid = run.info.run_id
    client = carnet.Client()
    assert [f.path for f in client.list_artifacts(rid)] == [
        "config.yaml",
        "data",
        "models",
        "notes",
    ]
    assert client.list_artifacts(rid, "data") == [
        FileInfo("data/a.txt", False, 1),
        FileInfo("data/sub", True, None),
    ]
    assert client.list_artifacts(rid, "data/a.txt") == [FileInfo("data/a.txt", False, 1)]
    assert client.list_artifacts(rid, "missing") == []
    assert client.read_artifact(rid, "notes/hello.txt") == "héllo".encode()
    assert client.read_artifact(rid, "config.yaml") == b"a: 1\n"
    copied = Path(client.download_artifacts(rid, "data", str(tmp_path / "out")))
    assert copied == tmp_path / "out" / "data"
    assert (copied / "sub" / "b.bin").read_bytes() == blob and (copied / "a.txt").read_text() == "A"
    one = Path(client.download_artifacts(rid, "models/model.pkl"))
    assert one.name == "model.pkl" and one.read_bytes() == model.read_bytes()
    assert client.get_artifact_path(rid, "notes/hello.txt").read_text() == "héllo"
    with pytest.raises(ArtifactNotFoundError):
        client.read_artifact(rid, "nope.txt")
    with pytest.raises(ArtifactNotFoundError):
        client.download_artifacts(rid, "nope", str(tmp_path / "none"))
    assert not (tmp_path / "none").exists()
    # The files are the server's, in the run's own folder; nothing escaped it.
    assert [p.read_text() for p in over_http.artifacts.rglob("hello.txt")] == ["héllo"]
    assert not list(over_http.folder.rglob("escape.txt"))
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(over_http.artifacts))
    assert direct(over_http).list_artifacts(rid, "data") == client.list_artifacts(rid, "data")


def test_refusals_raise_the_errors_a_direct_store_raises(over_http: Server) -> None:
    client = carnet.Client()
    name = unique("errors")
    experiment_id = client.create_experiment(name)
    with pytest.raises(ExperimentExistsError):
        client.create_experiment(name)
    with pytest.raises(ExperimentNotFoundError):
        client.get_experiment("987654321")
    assert client.get_experiment_by_name(unique("absent")) is None
    with pytest.raises(RunNotFoundError):
        client.get_run("0" * 32)
    rid = client.create_run(experiment_id).info.run_id
    client.log_param(rid, "alpha", "1")
    client.log_param(rid, "alpha", "1")  # the same value again is a no-op
    with pytest.raises(ParamOverwriteError, match="alpha") as overwrite:
        client.log_param(rid, "alpha", "2")
    assert overwrite.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(FilterError, match="position"):
        client.search_runs([experiment_id], "metrics.loss <")
    client.set_terminated(rid)
    client.log_metric(rid, "m", 1.0)  # a finished run takes data, as on MLflow
    client.delete_run(rid)
    with pytest.raises(RunNotActiveError, match="deleted") as deleted:
        client.log_metric(rid, "m", 2.0)
    assert deleted.value.error_code == "INVALID_STATE"
    assert direct(over_http).get_run(rid).data.params == {"alpha": "1"}
    assert direct(over_http).get_run(rid).data.metrics == {"m": 1.0}


def test_a_read_only_client_refuses_before_sending(over_http: Server, tmp_path: Path) -> None:
    name = unique("read-only")
    reader = carnet.Client(over_http.base, read_only=True)
    with pytest.raises(ReadOnlyError, match="read-only"):
        reader.create_experiment(name)
    experiment_id = carnet.Client().create_experiment(name)
    rid = carnet.Client().create_run(experiment_id).info.run_id
    note = tmp_path / "note.txt"
    note.write_text("x")
    with pytest.raises(ReadOnlyError):
        reader.log_artifact(rid, note)
    with pytest.raises(ReadOnlyError):
        reader.log_metric(rid, "m", 1.0)
    assert reader.get_experiment_by_name(name) is not None
    assert reader.list_artifacts(rid) == [] and direct(over_http).get_run(rid).data.metrics == {}


def test_buffered_logging_sends_batches_through_the_writer(over_http: Server) -> None:
    carnet.set_experiment(unique("buffered"))
    with carnet.start_run() as run:
        for i in range(2500):
            carnet.log_metric("fast", float(i), step=i, synchronous=False)
        carnet.log_param("p", "v")
    history = direct(over_http).get_metric_history(run.info.run_id, "fast")
    assert [(m.step, m.value) for m in history] == [(i, float(i)) for i in range(2500)]
    assert direct(over_http).get_run(run.info.run_id).info.status == "FINISHED"
