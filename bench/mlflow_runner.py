"""MLflow's side of each workload, run by ``bench/.venv-mlflow/bin/python``.

``python mlflow_runner.py WORKLOAD JSON`` prints one JSON line of timings.
It imports neither Carnet nor the project's venv: only MLflow, scikit-learn
and ``bench.tutorial`` (numpy and scikit-learn). Every store is MLflow's own
SQLite store (``sqlite:///...``), created before any timing starts.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

# The repo root replaces this script's folder on sys.path: ``bench.tutorial`` imports, and
# bench modules such as ``search.py`` can never shadow a library's top-level module.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import logging  # noqa: E402

logging.disable(logging.WARNING)

import mlflow  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

clock = time.perf_counter


def _fresh_store(workdir: str) -> str:
    """A new SQLite store in ``workdir``; creating its schema is not timed."""
    os.chdir(workdir)
    uri = f"sqlite:///{Path(workdir) / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    MlflowClient(uri).search_experiments()  # runs MLflow's schema migrations now
    return uri


def sweep(args: dict[str, Any]) -> dict[str, Any]:
    from bench import tutorial

    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        _fresh_store(tmp)
        data = tutorial.load()
        points = tutorial.grid(args["alphas"])
        result = tutorial.paired(data, points, mlflow)
        found = mlflow.search_runs(experiment_names=[tutorial.EXPERIMENT])
        result["found"] = len(found)
    return result


def single(args: dict[str, Any]) -> dict[str, Any]:
    n, n_async = args["points"], args["async_points"]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        uri = _fresh_store(tmp)
        mlflow.set_experiment("single")
        with mlflow.start_run() as run:
            t = clock()
            for i in range(n):
                mlflow.log_metric("loss", i * 0.001, step=i)
            out["sync_s"] = clock() - t
        client = MlflowClient(uri)
        out["sync_found"] = len(client.get_metric_history(run.info.run_id, "loss"))
        if n_async:
            with mlflow.start_run() as run:
                t = clock()
                for i in range(n_async):
                    mlflow.log_metric("loss", i * 0.001, step=i, synchronous=False)
                calls = clock() - t
                mlflow.flush_async_logging()
                out["async_calls_s"] = calls
                out["async_disk_s"] = clock() - t
            out["async_found"] = len(client.get_metric_history(run.info.run_id, "loss"))
    out["points"], out["async_points"] = n, n_async
    return out


def batch(args: dict[str, Any]) -> dict[str, Any]:
    n, size = args["points"], min(args["batch_size"], 1000)  # MLflow caps a batch at 1,000
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        uri = _fresh_store(tmp)
        client = MlflowClient(uri)
        run = client.create_run(client.create_experiment("batch"))
        ts = int(time.time() * 1000)
        batches = [
            [Metric(f"k{j % 10}", j * 0.5, ts, j // 10) for j in range(s, min(s + size, n))]
            for s in range(0, n, size)
        ]
        t = clock()
        for metrics in batches:
            client.log_batch(run.info.run_id, metrics=metrics)
        seconds = clock() - t
        found = (
            sqlite3.connect(Path(tmp) / "mlflow.db")
            .execute("SELECT count(*) FROM metrics")
            .fetchone()[0]
        )
    return {"points": n, "batch_size": size, "seconds": seconds, "found": found}


def _cached(cache: Path, name: str) -> tuple[Path, dict[str, Any] | None]:
    path = cache / name
    meta = path / "meta.json"
    if meta.exists():
        return path, json.loads(meta.read_text())
    return path, None


def history(args: dict[str, Any]) -> dict[str, Any]:
    n = args["points"]
    path, meta = _cached(Path(args["cache"]), f"mlflow-{_version()}-history-{n}")
    uri = f"sqlite:///{path / 'mlflow.db'}"
    if meta is None:
        path.mkdir(parents=True, exist_ok=True)
        for f in path.glob("mlflow.db*"):
            f.unlink()
        os.chdir(path)
        client = MlflowClient(uri)
        run = client.create_run(client.create_experiment("history"))
        ts = int(time.time() * 1000)
        for s in range(0, n, 1000):
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("loss", j * 0.001, ts + j, j) for j in range(s, min(s + 1000, n))],
            )
        client.set_terminated(run.info.run_id)
        meta = {"run_id": run.info.run_id}
        (path / "meta.json").write_text(json.dumps(meta))
    os.chdir(path)
    client = MlflowClient(uri)
    client.get_run(meta["run_id"])  # open the connection before timing
    t = clock()
    found = client.get_metric_history(meta["run_id"], "loss")
    seconds = clock() - t
    return {"points": n, "seconds": seconds, "found": len(found)}


def runs(args: dict[str, Any]) -> dict[str, Any]:
    n = args["runs"]
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        uri = _fresh_store(tmp)
        mlflow.set_experiment("runs")
        t = clock()
        for i in range(n):
            tags = {"team": "vision", "stage": "dev", "seed": str(i % 7)}
            with mlflow.start_run(run_name=f"run-{i}", tags=tags):
                mlflow.log_params({f"p{k}": i * 0.001 + k for k in range(5)})
                mlflow.log_metrics({f"m{k}": i * 0.01 + k for k in range(5)})
        seconds = clock() - t
        found = len(
            MlflowClient(uri).search_runs(
                [mlflow.get_experiment_by_name("runs").experiment_id], max_results=50000
            )
        )
    return {"runs": n, "seconds": seconds, "found": found}


def _build_search_store(path: Path, n: int, n_params: int, n_metrics: int) -> dict[str, Any]:
    """MLflow's schema made by MLflow, rows written in bulk (MLflow alone would need minutes)."""
    path.mkdir(parents=True, exist_ok=True)
    for f in path.glob("mlflow.db*"):
        f.unlink()
    os.chdir(path)
    uri = f"sqlite:///{path / 'mlflow.db'}"
    client = MlflowClient(uri)
    eid = client.create_experiment("search")
    artifact_root = client.get_experiment(eid).artifact_location
    rng = random.Random(7)
    base = int(time.time() * 1000) - n * 1000
    run_rows, params, metrics, tags = [], [], [], []
    for i in range(n):
        rid = uuid.uuid4().hex
        start = base + i * 1000
        run_rows.append(
            (
                rid,
                f"run-{i}",
                "LOCAL",
                "bench",
                "",
                "bench",
                "FINISHED",
                start,
                start + 500,
                "",
                "active",
                f"{artifact_root}/{rid}/artifacts",
                int(eid),
            )
        )
        for k in range(n_params):
            value = ("adam" if rng.random() < 0.5 else "sgd") if k == 1 else repr(rng.random())
            params.append((f"p{k}", value, rid))
        for k in range(n_metrics):
            metrics.append((f"m{k}", rng.random(), start, rid, 0, 0))
        tags.extend(
            [
                ("mlflow.runName", f"run-{i}", rid),
                ("team", "vision", rid),
                ("stage", rng.choice(["dev", "prod"]), rid),
            ]
        )
    db = sqlite3.connect(path / "mlflow.db")
    with db:
        db.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            run_rows,
        )
        db.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
        db.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        db.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    db.close()
    meta = {"experiment_id": eid, "runs": n}
    (path / "meta.json").write_text(json.dumps(meta))
    return meta


def search(args: dict[str, Any]) -> dict[str, Any]:
    n, n_params, n_metrics = args["runs"], args["params"], args["metrics"]
    name = f"mlflow-{_version()}-search-{n}-{n_params}-{n_metrics}"
    path, meta = _cached(Path(args["cache"]), name)
    if meta is None:
        meta = _build_search_store(path, n, n_params, n_metrics)
    os.chdir(path)
    uri = f"sqlite:///{path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    eid = meta["experiment_id"]
    client.get_experiment(eid)  # open the connection before timing

    def query() -> int:
        found = client.search_runs(
            [eid], filter_string=args["filter"], max_results=100, order_by=[args["order_by"]]
        )
        return len(found)

    t = clock()
    returned = query()
    cold = clock() - t
    warm = []
    for _ in range(args["samples"]):
        t = clock()
        query()
        warm.append(clock() - t)
    out = {
        "runs": n,
        "cold_s": cold,
        "warm_s": statistics.median(warm) if warm else None,
        "returned": returned,
    }
    if args.get("frame_top"):  # the same top-100 query into a DataFrame
        tops = []
        for _ in range(1 + args["samples"]):
            t = clock()
            top = mlflow.search_runs(
                experiment_ids=[eid],
                filter_string=args["filter"],
                max_results=100,
                order_by=[args["order_by"]],
            )
            tops.append(clock() - t)
        out["frame_top_s"] = statistics.median(tops[1:] or tops)
        out["frame_top_rows"] = len(top)
    if args.get("frame"):
        import pandas  # noqa: F401  (imported before timing, as for Carnet)

        t = clock()
        frame = mlflow.search_runs(experiment_ids=[eid], max_results=n)
        out["frame_s"] = clock() - t
        out["frame_rows"] = len(frame)
    return out


def registry(args: dict[str, Any]) -> dict[str, Any]:
    """(l) The registry queries of bench/registry.py on MLflow's SQLite store (built through
    MlflowClient once, cached)."""
    models, per_model, teams = args["models"], args["per_model"], args["teams"]
    path, meta = _cached(Path(args["cache"]), f"mlflow-{_version()}-registry-{models}")
    uri = f"sqlite:///{path / 'mlflow.db'}"
    if meta is None:  # a build cut short leaves no meta.json: start it over
        path.mkdir(parents=True, exist_ok=True)
        (path / "mlflow.db").unlink(missing_ok=True)
    client = MlflowClient(uri, registry_uri=uri)
    if meta is None:
        for m in range(models):
            name = f"model-{m:04d}"
            client.create_registered_model(name, tags={"team": teams[m % len(teams)]})
            for v in range(1, per_model + 1):
                rid = f"{m:016x}{v:016x}"
                tags = {"validated": "yes"} if v % 3 == 0 else None
                client.create_model_version(name, f"runs:/{rid}/model", run_id=rid, tags=tags)
        (path / "meta.json").write_text(json.dumps({"models": models}))
    client.search_registered_models(max_results=1)  # open the connection before timing
    out: dict[str, Any] = {}
    for key, search, text, limit in args["queries"]:
        fn = (
            client.search_model_versions
            if search == "versions"
            else client.search_registered_models
        )
        times, found = [], []
        for _ in range(1 + args["samples"]):
            t = clock()
            found = fn(text, max_results=limit)
            times.append(clock() - t)
        out[key] = statistics.median(times[1:]) if times[1:] else None
        out[f"{key}_rows"] = len(found)
    return out


def _version() -> str:
    return str(mlflow.__version__)


def imports(args: dict[str, Any]) -> dict[str, Any]:
    return {"version": _version()}


WORKLOADS = {
    "sweep": sweep,
    "single": single,
    "batch": batch,
    "history": history,
    "runs": runs,
    "search": search,
    "registry": registry,
    "version": imports,
}


if __name__ == "__main__":
    workload, raw = sys.argv[1], sys.argv[2]
    result = WORKLOADS[workload](json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
