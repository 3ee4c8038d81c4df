"""The fluent API and Client against real stores (SQLite file and PostgreSQL)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import carnet
from carnet.errors import (
    ActiveRunError,
    ArtifactNotFoundError,
    ArtifactPathError,
    DeletedError,
    ExperimentExistsError,
    ExperimentNotFoundError,
    InvalidKeyError,
    InvalidValueError,
    ParamOverwriteError,
    RunNotActiveError,
    RunNotFoundError,
)


def test_experiments_lifecycle(tracking: str) -> None:
    exp = carnet.set_experiment("sweep")
    assert carnet.get_experiment_by_name("sweep") == carnet.get_experiment(exp.experiment_id)
    assert carnet.set_experiment("sweep").experiment_id == exp.experiment_id
    with pytest.raises(ExperimentExistsError, match="already exists"):
        carnet.create_experiment("sweep")
    other = carnet.create_experiment("other", tags={"team": "med"})
    assert carnet.get_experiment(other).tags == {"team": "med"}
    names = [e.name for e in carnet.search_experiments()]
    assert set(names) == {"Default", "sweep", "other"}
    carnet.delete_experiment(other)
    assert sorted(e.name for e in carnet.search_experiments()) == ["Default", "sweep"]
    with pytest.raises(DeletedError, match="restore"):
        carnet.set_experiment("other")
    carnet.restore_experiment(other)
    assert carnet.get_experiment(other).lifecycle_stage == "active"
    assert carnet.get_experiment_by_name("missing") is None
    with pytest.raises(ExperimentNotFoundError):
        carnet.get_experiment("999999")
    with pytest.raises(ExperimentNotFoundError):
        carnet.get_experiment("not-a-number")


def test_run_records_params_metrics_tags(tracking: str) -> None:
    carnet.set_experiment("e")
    with carnet.start_run(run_name="first", tags={"team": "med"}, description="hello") as run:
        carnet.log_param("alpha", 0.1)
        carnet.log_params({"l1_ratio": 0.30000000000000004, "solver": "cd"})
        carnet.log_metric("MSE", 3000.5)
        carnet.log_metrics({"R2": 0.41, "nan": float("nan"), "inf": float("inf")})
        carnet.set_tag("stage", "dev")
        carnet.set_tags({"a": 1})
        assert carnet.active_run() is run
    got = carnet.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "first"
    assert got.info.end_time is not None and got.info.start_time is not None
    assert got.data.params == {"alpha": "0.1", "l1_ratio": "0.30000000000000004", "solver": "cd"}
    assert got.data.metrics["MSE"] == 3000.5 and got.data.metrics["R2"] == 0.41
    assert math.isnan(got.data.metrics["nan"]) and got.data.metrics["inf"] == math.inf
    tags = got.data.tags
    assert tags["team"] == "med" and tags["stage"] == "dev" and tags["a"] == "1"
    assert tags["mlflow.runName"] == "first" and tags["mlflow.note.content"] == "hello"
    for key in (
        "mlflow.source.name",
        "mlflow.source.command",
        "mlflow.system.python",
        "mlflow.system.host",
        "mlflow.user",
    ):
        assert tags[key]
    assert carnet.active_run() is None
    assert carnet.last_active_run().info.run_id == run.info.run_id  # type: ignore[union-attr]


def test_params_are_immutable(tracking: str) -> None:
    with carnet.start_run():
        carnet.log_param("alpha", 0.1)
        carnet.log_param("alpha", 0.1)  # the same value again is a no-op
        with pytest.raises(ParamOverwriteError, match="immutable"):
            carnet.log_param("alpha", 0.2)
        with pytest.raises(ParamOverwriteError):
            carnet.log_params({"beta": 1, "alpha": 0.3})
        run = carnet.active_run()
        assert run is not None
        assert carnet.get_run(run.info.run_id).data.params == {"alpha": "0.1"}


def test_metric_history_and_summary(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        for step, value in enumerate([3.0, float("nan"), 1.0, 2.0]):
            carnet.log_metric("loss", value, step=step, timestamp=1000 + step)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert [m.timestamp for m in history] == [1000, 1001, 1002, 1003]
    assert history[0].value == 3.0 and math.isnan(history[1].value)
    got = client.get_run(run.info.run_id)
    assert got.data.metrics["loss"] == 2.0
    summary = got.summaries["loss"]
    assert (summary.min, summary.max, summary.count, summary.step) == (1.0, 3.0, 4, 3)


def test_last_value_follows_step_not_arrival(tracking: str, client: carnet.Client) -> None:
    with carnet.start_run() as run:
        carnet.log_metric("acc", 0.9, step=5)
        carnet.log_metric("acc", 0.1, step=2)
    assert client.get_run(run.info.run_id).data.metrics["acc"] == 0.9


def test_context_manager_statuses(tracking: str) -> None:
    with pytest.raises(ZeroDivisionError), carnet.start_run() as failed:
        1 / 0  # noqa: B018
    got = carnet.get_run(failed.info.run_id)
    assert got.info.status == "FAILED"
    assert got.data.tags["mlflow.carnet.error.type"] == "ZeroDivisionError"
    assert "division by zero" in got.data.tags["mlflow.carnet.error.message"]
    with pytest.raises(KeyboardInterrupt), carnet.start_run() as killed:
        raise KeyboardInterrupt
    assert carnet.get_run(killed.info.run_id).info.status == "KILLED"
    run = carnet.start_run()
    with pytest.raises(InvalidValueError, match="FINISHED, FAILED, KILLED"):
        carnet.end_run(status="RUNNING")
    assert carnet.active_run() is not None  # a refused end leaves the run active
    carnet.end_run(status="KILLED")
    assert carnet.get_run(run.info.run_id).info.status == "KILLED"


def test_nested_runs_record_their_parent(tracking: str) -> None:
    with carnet.start_run(run_name="parent") as parent:
        with pytest.raises(ActiveRunError, match="nested=True"):
            carnet.start_run()
        with carnet.start_run(run_name="child", nested=True) as child:
            assert carnet.active_run() is child
        assert carnet.active_run() is parent
    got = carnet.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert carnet.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]
    assert carnet.get_run(parent.info.run_id).info.status == "FINISHED"


def test_generated_names_are_readable(tracking: str) -> None:
    with carnet.start_run() as run:
        pass
    name = run.info.run_name
    assert len(name.split("-")) == 3 and name.split("-")[2].isdigit()


def test_a_finished_run_takes_data_and_a_deleted_one_is_refused(
    tracking: str, client: carnet.Client
) -> None:
    # As on MLflow: code that tags the best run after a sweep relies on it.
    with carnet.start_run() as run:
        pass
    rid = run.info.run_id
    ended = client.get_run(rid).info.end_time
    client.log_metric(rid, "m", 1.0)
    client.log_param(rid, "p", 1)
    client.set_tag(rid, "best", "yes")
    carnet.log_metric("fluent", 2.0, run_id=rid)
    client.delete_tag(rid, "best")
    after = client.get_run(rid)
    assert after.info.status == "FINISHED" and after.info.end_time == ended
    assert after.data.metrics == {"m": 1.0, "fluent": 2.0} and after.data.params == {"p": "1"}
    assert "best" not in after.data.tags
    other = client.create_run(carnet.set_experiment("x").experiment_id)
    client.delete_run(other.info.run_id)
    with pytest.raises(RunNotActiveError, match="deleted"):
        client.log_param(other.info.run_id, "a", 1)
    client.restore_run(other.info.run_id)
    client.log_param(other.info.run_id, "a", 1)
    with pytest.raises(RunNotFoundError):
        client.log_metric("0" * 32, "m", 1.0)


def test_resume_run_by_id(tracking: str) -> None:
    with carnet.start_run() as run:
        carnet.log_param("a", 1)
    with carnet.start_run(run_id=run.info.run_id):
        carnet.log_metric("m", 2.0)
    got = carnet.get_run(run.info.run_id)
    assert got.data.metrics == {"m": 2.0} and got.info.status == "FINISHED"


def test_delete_tag(tracking: str) -> None:
    with carnet.start_run() as run:
        carnet.set_tag("x", "1")
        carnet.delete_tag("x")
        with pytest.raises(carnet.InvalidInputError, match="no tag"):
            carnet.delete_tag("x")
    assert "x" not in carnet.get_run(run.info.run_id).data.tags


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: carnet.log_metric("m", "1.0"), InvalidValueError, "real numbers"),
        (lambda: carnet.log_metric("m", True), InvalidValueError, "real numbers"),
        (lambda: carnet.log_metric("m", None), InvalidValueError, "real numbers"),
        (lambda: carnet.log_metric("m", 1.0, step=1.5), InvalidValueError, "integer"),
        (lambda: carnet.log_metric("m", 1.0, timestamp=1.5), InvalidValueError, "milliseconds"),
        (lambda: carnet.log_metric("bad key!", 1.0), InvalidKeyError, "letters, digits"),
        (lambda: carnet.log_param("k" * 251, 1), InvalidKeyError, "250"),
        (lambda: carnet.log_param("", 1), InvalidKeyError, "empty"),
        (lambda: carnet.log_param("../x", 1), InvalidKeyError, ".."),
        (lambda: carnet.log_param("p", "v" * 6001), InvalidValueError, "6000"),
        (lambda: carnet.set_tag("t", "v" * 8001), InvalidValueError, "8000"),
        (lambda: carnet.log_params(["a", 1]), InvalidValueError, "dict"),
        (lambda: carnet.log_param(3, 1), InvalidKeyError, "string"),
        (lambda: carnet.set_tag("t", "a\x00b"), InvalidValueError, "NUL"),
        (lambda: carnet.log_param("p", "\ud800"), InvalidValueError, "surrogate"),
    ],
)
def test_bad_calls_raise_clear_errors(
    tracking: str, call: object, error: type[Exception], fragment: str
) -> None:
    with carnet.start_run() as run:
        carnet.log_param("keep", 1)
        with pytest.raises(error, match=None) as info:
            call()  # type: ignore[operator]
        assert fragment in str(info.value)
        assert isinstance(info.value, carnet.CarnetError)
    got = carnet.get_run(run.info.run_id)
    assert got.data.params == {"keep": "1"} and got.data.metrics == {}


def test_artifacts(tracking: str, tmp_path: Path, client: carnet.Client) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.csv").write_text("x,y\n1,2\n")
    with carnet.start_run() as run:
        carnet.log_artifact(str(src))
        carnet.log_artifact(str(src), artifact_path="docs")
        carnet.log_artifacts(str(folder), artifact_path="data")
        carnet.log_text("text body", "reports/summary.txt")
        carnet.log_dict({"a": 1}, "config.json")
        with pytest.raises(ArtifactPathError, match=r"\.\."):
            carnet.log_text("x", "../escape.txt")
        with pytest.raises(ArtifactPathError, match="absolute"):
            carnet.log_artifact(str(src), artifact_path="/etc")
        with pytest.raises(ArtifactNotFoundError):
            carnet.log_artifact(str(tmp_path / "missing.txt"))
    rid = run.info.run_id
    top = {f.path: f.is_dir for f in client.list_artifacts(rid)}
    assert top == {
        "config.json": False,
        "data": True,
        "docs": True,
        "notes.txt": False,
        "reports": True,
    }
    assert [f.path for f in client.list_artifacts(rid, "data/sub")] == ["data/sub/a.csv"]
    local = client.download_artifacts(rid, "config.json", str(tmp_path / "dl"))
    assert Path(local).read_text().replace(" ", "").replace("\n", "") == '{"a":1}'
    assert Path(client.download_artifacts(rid, "reports", str(tmp_path / "dl2"))).is_dir()


def test_client_mirrors_mlflow_client(tracking: str) -> None:
    client = carnet.MlflowClient()
    exp_id = client.create_experiment("c")
    run = client.create_run(exp_id, run_name="r")
    client.log_batch(
        run.info.run_id,
        metrics=[carnet.Metric("m", 1.0, 5, 0)],
        params=[carnet.Param("p", "1")],
        tags=[carnet.RunTag("t", "v")],
    )
    client.set_terminated(run.info.run_id, "FINISHED")
    got = client.get_run(run.info.run_id)
    assert got.data.metrics == {"m": 1.0} and got.data.params == {"p": "1"}
    assert got.info.status == "FINISHED"
    client.rename_experiment(exp_id, "c2")
    assert client.get_experiment(exp_id).name == "c2"
    page = client.search_runs([exp_id], max_results=1)
    assert [r.info.run_id for r in page] == [run.info.run_id] and page.token is None


def test_search_runs_order_and_limit(tracking: str) -> None:
    carnet.set_experiment("s")
    for i, mse in enumerate([3.0, 1.0, 2.0]):
        with carnet.start_run(run_name=f"r{i}"):
            carnet.log_metric("MSE", mse)
    frame = carnet.search_runs(experiment_names=["s"], order_by=["metrics.MSE ASC"])
    assert list(frame["metrics.MSE"]) == [1.0, 2.0, 3.0]
    assert list(frame["run_name"]) == ["r1", "r2", "r0"]
    assert {
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "tags.mlflow.runName",
    } <= set(frame.columns)
    top = carnet.search_runs(experiment_names=["s"], order_by=["metrics.MSE DESC"], max_results=1)
    assert list(top["metrics.MSE"]) == [3.0]
    runs = carnet.search_runs(experiment_names=["s"], output_format="list")
    assert [r.info.run_name for r in runs] == ["r2", "r1", "r0"]  # newest first
    with pytest.raises(ExperimentNotFoundError):
        carnet.search_runs(experiment_names=["missing"])


def test_tracking_uri_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert carnet.get_tracking_uri() == f"sqlite:///{tmp_path / 'carnet.db'}"
    monkeypatch.setenv("CARNET_TRACKING_URI", str(tmp_path / "env.db"))
    assert carnet.get_tracking_uri() == f"sqlite:///{tmp_path / 'env.db'}"
    carnet.set_tracking_uri("rel.db")
    assert carnet.get_tracking_uri() == f"sqlite:///{tmp_path / 'rel.db'}"
    carnet.set_tracking_uri("postgresql://u@h/db")
    assert carnet.get_tracking_uri() == "postgresql+psycopg://u@h/db"
    with pytest.raises(carnet.CarnetError, match="unsupported"):
        carnet.set_tracking_uri("mysql://x")


def test_mlflow_tracking_uri_is_honoured_after_carnets_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow code run with a team's ``MLFLOW_TRACKING_URI`` logs where it says; a store
    Carnet cannot open is refused with a message, never replaced by ./carnet.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'team.db'}")
    with carnet.start_run() as run:
        carnet.log_metric("m", 1.0)
    assert (tmp_path / "team.db").exists() and not (tmp_path / "carnet.db").exists()
    assert carnet.Client(f"sqlite:///{tmp_path / 'team.db'}").get_run(run.info.run_id)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert carnet.get_tracking_uri() == "http://tracking.example:5000"
    monkeypatch.setenv("CARNET_TRACKING_URI", str(tmp_path / "own.db"))
    assert carnet.get_tracking_uri() == f"sqlite:///{tmp_path / 'own.db'}"  # Carnet's first
    monkeypatch.delenv("CARNET_TRACKING_URI")
    for other in ("databricks", "file:./mlruns", "./mlruns", "databricks-uc://profile"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
        with pytest.raises(carnet.CarnetError, match="MLFLOW_TRACKING_URI is"):
            carnet.get_tracking_uri()
    assert not (tmp_path / "mlruns").exists()
