"""Small MLflow tracking stores for the import tests: built by hand in MLflow's own
layouts (so the importer is tested without MLflow), and by real MLflow when present."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

T0 = 1_700_000_000_000
FLOAT_MAX = sys.float_info.max


@dataclass
class FakeRun:
    run_id: str
    experiment_id: str
    name: str
    status: str = "FINISHED"
    lifecycle_stage: str = "active"
    start_time: int = T0
    end_time: int | None = T0 + 5_000
    user_id: str = "alice"
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: key -> [(value, timestamp, step)]
    metrics: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


def sample_runs() -> tuple[list[tuple[str, str, str, dict[str, str]]], list[FakeRun]]:
    """(experiments as (id, name, stage, tags), runs) shared by both hand-made layouts."""
    experiments = [
        ("0", "Default", "active", {}),
        ("1", "diabetes", "active", {"team": "med", "mlflow.note.content": "sweep"}),
        ("2", "old stuff", "deleted", {}),
    ]
    parent = FakeRun(
        run_id="a" * 32,
        experiment_id="1",
        name="parent",
        params={"alpha": "0.1", "l1_ratio": "1.0"},
        tags={"mlflow.runName": "parent", "mlflow.user": "alice", "note": "it's here"},
        metrics={
            "loss": [(1.0, T0 + 10, 0), (0.5, T0 + 20, 1), (0.25, T0 + 30, 2)],
            "odd": [
                (float("nan"), T0 + 40, 0),
                (float("inf"), T0 + 41, 1),
                (float("-inf"), T0 + 42, 2),
            ],
        },
        artifacts={"model/MLmodel": "flavors: {}\n", "notes.txt": "hello"},
    )
    child = FakeRun(
        run_id="b" * 32,
        experiment_id="1",
        name="child",
        start_time=T0 + 100,
        end_time=T0 + 200,
        status="FAILED",
        params={"alpha": "0.2"},
        tags={"mlflow.parentRunId": "a" * 32, "mlflow.runName": "child"},
        metrics={"loss": [(0.9, T0 + 150, 0)]},
    )
    running = FakeRun(
        run_id="c" * 32, experiment_id="1", name="still going", status="RUNNING",
        start_time=T0 + 300, end_time=None, params={"huge": "x" * 7000},
    )  # fmt: skip
    gone = FakeRun(
        run_id="d" * 32, experiment_id="1", name="deleted", lifecycle_stage="deleted",
        start_time=T0 + 400, status="KILLED",
    )  # fmt: skip
    old = FakeRun(run_id="e" * 32, experiment_id="2", name="in trash", start_time=T0 + 500)
    return experiments, [parent, child, running, gone, old]


def _write_artifacts(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


_MLFLOW_SQL_SCHEMA = """
CREATE TABLE experiments (
    experiment_id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(256) NOT NULL UNIQUE,
    artifact_location VARCHAR(256), lifecycle_stage VARCHAR(32),
    creation_time BIGINT, last_update_time BIGINT);
CREATE TABLE experiment_tags (
    key VARCHAR(250) NOT NULL, value VARCHAR(5000), experiment_id INTEGER NOT NULL,
    PRIMARY KEY (key, experiment_id));
CREATE TABLE runs (
    run_uuid VARCHAR(32) NOT NULL PRIMARY KEY, name VARCHAR(250), source_type VARCHAR(20),
    source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256),
    status VARCHAR(9), start_time BIGINT, end_time BIGINT, source_version VARCHAR(50),
    lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200), experiment_id INTEGER,
    deleted_time BIGINT);
CREATE TABLE params (
    key VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    PRIMARY KEY (key, run_uuid));
CREATE TABLE tags (
    key VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL,
    PRIMARY KEY (key, run_uuid));
CREATE TABLE metrics (
    key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    is_nan BOOLEAN DEFAULT '0' NOT NULL,
    PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan));
CREATE TABLE latest_metrics (
    key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT, step BIGINT NOT NULL,
    is_nan BOOLEAN NOT NULL, run_uuid VARCHAR(32) NOT NULL, PRIMARY KEY (key, run_uuid));
"""


def _sql_value(value: float) -> tuple[float, int]:
    """How MLflow's SQL store saves a metric value: (value, is_nan), infinity clipped."""
    if value != value:
        return 0.0, 1
    if value in (float("inf"), float("-inf")):
        return (FLOAT_MAX if value > 0 else -FLOAT_MAX), 0
    return value, 0


def build_sqlite_store(root: Path) -> Path:
    """``root/mlflow.db`` in MLflow's SQL schema, artifacts under ``root/mlruns``."""
    experiments, runs = sample_runs()
    db = root / "mlflow.db"
    conn = sqlite3.connect(db)
    conn.executescript(_MLFLOW_SQL_SCHEMA)
    for eid, name, stage, tags in experiments:
        conn.execute(
            "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?)",
            (int(eid), name, str(root / "mlruns" / eid), stage, T0, T0),
        )
        conn.executemany(
            "INSERT INTO experiment_tags VALUES (?, ?, ?)", [(k, v, eid) for k, v in tags.items()]
        )
    for i, run in enumerate(runs):
        folder = root / "mlruns" / run.experiment_id / run.run_id / "artifacts"
        # one run records a relative path, as older MLflow versions did
        uri = f"./mlruns/{run.experiment_id}/{run.run_id}/artifacts" if i == 1 else str(folder)
        _write_artifacts(folder, run.artifacts)
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', '', '', ?, ?, ?, ?, '', ?, ?, ?, NULL)",
            (run.run_id, run.name, run.user_id, run.status, run.start_time, run.end_time,
             run.lifecycle_stage, uri, int(run.experiment_id)),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO params VALUES (?, ?, ?)",
            [(k, v, run.run_id) for k, v in run.params.items()],
        )
        conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)", [(k, v, run.run_id) for k, v in run.tags.items()]
        )
        for key, points in run.metrics.items():
            for value, ts, step in points:
                stored, nan = _sql_value(value)
                conn.execute(
                    "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                    (key, stored, ts, run.run_id, step, nan),
                )
    conn.commit()
    conn.close()
    return db


_FILE_STATUS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}


def build_file_store(root: Path) -> Path:
    """``root/mlruns`` in MLflow's file-store layout (deleted experiments in ``.trash``)."""
    experiments, runs = sample_runs()
    mlruns = root / "mlruns"
    stage_of = {}
    for eid, name, stage, tags in experiments:
        folder = mlruns / (".trash/" + eid if stage == "deleted" else eid)
        folder.mkdir(parents=True)
        stage_of[eid] = folder
        quoted = name.replace("'", "''")
        (folder / "meta.yaml").write_text(
            f"artifact_location: file://{folder}\ncreation_time: {T0}\nexperiment_id: '{eid}'\n"
            f"last_update_time: {T0}\nlifecycle_stage: {stage}\nname: '{quoted}'\n"
        )
        _write_artifacts(folder / "tags", tags)
    for run in runs:
        run_dir = stage_of[run.experiment_id] / run.run_id
        run_dir.mkdir()
        end = "null" if run.end_time is None else str(run.end_time)
        (run_dir / "meta.yaml").write_text(textwrap.dedent(f"""\
            artifact_uri: file://{mlruns}/{run.experiment_id}/{run.run_id}/artifacts
            end_time: {end}
            entry_point_name: ''
            experiment_id: '{run.experiment_id}'
            lifecycle_stage: {run.lifecycle_stage}
            run_id: {run.run_id}
            run_name: {run.name}
            run_uuid: {run.run_id}
            source_name: ''
            source_type: 4
            source_version: ''
            start_time: {run.start_time}
            status: {_FILE_STATUS[run.status]}
            tags: []
            user_id: {run.user_id}
        """))  # fmt: skip
        _write_artifacts(run_dir / "params", run.params)
        _write_artifacts(run_dir / "tags", run.tags)
        _write_artifacts(run_dir / "artifacts", run.artifacts)
        lines: dict[str, str] = {}
        for key, points in run.metrics.items():
            lines[key] = "".join(f"{ts} {value} {step}\n" for value, ts, step in points)
        _write_artifacts(run_dir / "metrics", lines)
    return mlruns


# -- real MLflow ---------------------------------------------------------------------------

_REPO = Path(__file__).resolve().parents[2]

REAL_MLFLOW_SCRIPT = """
import json, math, os, sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
os.chdir(sys.argv[2])
mlflow.set_experiment("real sweep")
mlflow.set_experiment_tag("team", "med")
ids = {}
for i, alpha in enumerate([0.01, 0.1]):
    with mlflow.start_run(run_name=f"alpha-{i}") as run:
        ids[run.info.run_name] = run.info.run_id
        mlflow.log_params({"alpha": alpha, "solver": "saga"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
        mlflow.log_metric("odd", float("nan"))
        mlflow.log_metric("big", float("inf"))
        mlflow.set_tag("team", "med")
        with open("notes.txt", "w") as fh:
            fh.write(f"run {i}")
        mlflow.log_artifact("notes.txt")
        mlflow.log_artifact("notes.txt", "sub/dir")
        with mlflow.start_run(run_name=f"child-{i}", nested=True) as child:
            ids[child.info.run_name] = child.info.run_id
            mlflow.log_metric("m", 2.0)
with mlflow.start_run(run_name="broken") as run:
    ids["broken"] = run.info.run_id
client = MlflowClient()
client.set_terminated(ids["broken"], "FAILED")
with mlflow.start_run(run_name="deleted") as run:
    ids["deleted"] = run.info.run_id
client.delete_run(ids["deleted"])
print(json.dumps({"ids": ids, "version": mlflow.__version__}))
"""


def mlflow_python() -> str | None:
    """A Python that can import mlflow: ours, $CARNET_MLFLOW_PYTHON, or a side venv."""
    candidates = [
        os.environ.get("CARNET_MLFLOW_PYTHON", ""),
        sys.executable,
        str(_REPO / ".venv-mlflow" / "bin" / "python"),
        str(_REPO / "bench" / ".venv-mlflow" / "bin" / "python"),
    ]
    for python in candidates:
        if python and Path(python).exists():
            probe = subprocess.run(
                [python, "-c", "import mlflow"], capture_output=True, text=True, check=False
            )
            if probe.returncode == 0:
                return python
    return None


def build_with_mlflow(python: str, tracking_uri: str, workdir: Path) -> dict[str, object]:
    """Run real MLflow in its own process; returns the run ids by run name."""
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run(
        [python, "-c", REAL_MLFLOW_SCRIPT, tracking_uri, str(workdir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
