"""(m) Carnet's SDK over HTTP: ``set_tracking_uri("http://...")`` against a live ``carnet server``.

Each repetition starts ``carnet server`` on a brand-new SQLite file (as
:mod:`bench.server` does), then a fresh interpreter of the project's venv
(``measure("carnet", ...)``) drives it through Carnet's REST store:

1. **Per run, synchronous**: the tutorial's loop through the fluent API,
   ``with start_run(run_name=)``, ``log_params`` (2), ``log_metrics`` (3),
   end; every call is committed on the server before it returns. The row is
   the median run (there is no training, so the whole run is overhead).
2. **Buffered**: ``log_metric(..., synchronous=False)`` points into one run,
   timed until ``flush_async_logging()`` returns, i.e. until the server has
   committed every one of them.
3. **Parallel writers**: writer processes (8), each with a ``Client`` of its
   own and a run of its own, released together, each sending ``log_batch``
   calls of 1,000 metrics (one request each, MLflow's limit). Points/s over
   the burst; p50/p99 of every call's latency. On SQLite the server group-
   commits the requests that wait for the writer (see docs/server.md).

Then the server stops, and the buffered run's and the writers' points are
counted in the store file with Carnet's own reader: a point missing or one
too many fails the workload. The MLflow column runs the same three phases
with MLflow's own client against ``mlflow server`` (``bench/server_client.py``
in MLflow's interpreter), at smaller sizes where MLflow is slow; they compare
as rates or per-run times.
"""

from __future__ import annotations

import math
import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, median, rate, run_worker
from bench.server import drive, serving

clock = time.perf_counter
WRITER_KEYS = 5
#: MLflow's client is slow: its side of the buffered and writer phases runs smaller.
MLFLOW_BUFFERED_POINTS = 500
MLFLOW_RUNS = 50
MLFLOW_WRITER_BATCHES = 5
RUN_TARGET_MS = 3.0
BUFFERED_TARGET = 100_000.0
WRITERS_TARGET = 200_000.0


def tutorial_values(i: int) -> tuple[float, float, float, float, float]:
    """alpha, l1_ratio, rmse, r2, mae of the i-th run (as bench/server_client.py's)."""
    alpha = round(0.01 * (i + 1), 4)
    l1_ratio = 0.5 if i % 2 == 0 else 1.0
    rmse = 50.0 + (i * 37 % 100) / 5.0
    return alpha, l1_ratio, rmse, 1.0 - rmse / 100.0, rmse * 0.8


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _runs(n_runs: int) -> list[float]:
    import carnet

    carnet.set_experiment("sdk-tutorial")
    seconds = []
    for i in range(n_runs):
        alpha, l1_ratio, rmse, r2, mae = tutorial_values(i)
        t = clock()
        with carnet.start_run(run_name=f"run-{i}"):
            carnet.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
            carnet.log_metrics({"rmse": rmse, "r2": r2, "mae": mae})
        seconds.append(clock() - t)
    return seconds


def _buffered(points: int) -> tuple[str, float]:
    import carnet

    carnet.set_experiment("sdk-buffered")
    with carnet.start_run(run_name="warm-up"):  # the buffered writer starts: not timed
        carnet.log_metric("loss", 0.0, synchronous=False)
        carnet.flush_async_logging()
    with carnet.start_run(run_name="buffered") as run:
        t = clock()
        for i in range(points):
            carnet.log_metric("loss", i * 0.001, step=i, synchronous=False)
        carnet.flush_async_logging()
        seconds = clock() - t
    return run.info.run_id, seconds


def sdk_writer(
    base: str, run_id: str, index: int, batches: int, size: int, barrier: Any, results: Any
) -> None:
    """One writer process: ``batches`` synchronous ``log_batch`` calls of ``size`` metrics."""
    import carnet

    client = carnet.Client(base)
    ts = int(time.time() * 1000)
    per_key = size // WRITER_KEYS
    payloads = [
        [
            (f"m{j % WRITER_KEYS}", b * 0.5 + j, ts, b * per_key + j // WRITER_KEYS)
            for j in range(size)
        ]
        for b in range(batches)
    ]
    client.get_run(run_id)  # the connection is open before the clock starts
    barrier.wait()
    start, cpu = clock(), time.process_time()
    latencies = []
    for metrics in payloads:
        t = clock()
        client.log_batch(run_id, metrics, synchronous=True)
        latencies.append(clock() - t)
    end, cpu = clock(), time.process_time() - cpu
    results.put({"start": start, "end": end, "cpu": cpu, "latencies": latencies})


def _writers(base: str, writers: int, batches: int, size: int) -> dict[str, Any]:
    import carnet

    client = carnet.Client(base)
    eid = client.create_experiment(f"sdk-writers-{uuid.uuid4().hex[:8]}")
    run_ids = [client.create_run(eid).info.run_id for _ in range(writers)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(writers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=sdk_writer, args=(base, run_ids[i], i, batches, size, barrier, results))
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"writer process exited with {p.exitcode}")
    latencies = sorted(x for g in got for x in g["latencies"])
    return {
        "writer_run_ids": run_ids,
        "writer_points": writers * batches * size,
        "writer_s": max(g["end"] for g in got) - min(g["start"] for g in got),
        "writer_p50_s": percentile(latencies, 0.50),
        "writer_p99_s": percentile(latencies, 0.99),
        "writer_client_cpu_s": sum(g["cpu"] for g in got),
    }


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    """``carnet``: drive the server at ``args["base"]``; ``count``: count points in a store."""
    import carnet

    if variant == "count":
        client = carnet.Client(args["uri"])
        return {
            "points": sum(
                len(client.get_metric_history(r, k)) for r, keys in args["series"] for k in keys
            )
        }
    base = args["base"]
    carnet.set_tracking_uri(base)
    carnet.Client(base).search_experiments()  # the first request, untimed
    per_run = _runs(args["runs"])
    found = carnet.Client(base).search_runs(
        [carnet.get_experiment_by_name("sdk-tutorial").experiment_id], max_results=50_000
    )
    if len(found) != args["runs"]:
        raise RuntimeError(f"the server holds {len(found)} tutorial runs of {args['runs']}")
    buffered_run, buffered_s = _buffered(args["buffered_points"])
    out: dict[str, Any] = {
        "run_ms": sorted(per_run)[len(per_run) // 2] * 1000,
        "run_first_ms": per_run[0] * 1000,
        "buffered_run_id": buffered_run,
        "buffered_points": args["buffered_points"],
        "buffered_s": buffered_s,
    }
    out.update(_writers(base, args["writers"], args["batches"], args["batch_size"]))
    return out


def group_commits(log: str) -> dict[str, int]:
    """The server's last words on group commit: run-data writes and the commits they took."""
    for line in reversed(log.splitlines()):
        if "group commit:" in line:
            words = line.split("group commit:")[1].split()
            return {"group_writes": int(words[0]), "group_commits": int(words[4])}
    return {}


def carnet_round(args: dict[str, Any]) -> dict[str, Any]:
    """Start ``carnet server``, drive it with Carnet's SDK, stop it, count the points."""
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        folder = Path(tmp)
        with serving("carnet", folder) as (base, db, log, _pgid):
            out = run_worker("server_sdk", "carnet", dict(args, base=base), timeout=3600)
        out.update(group_commits(log.read_text(errors="replace")))
        keys = [f"m{k}" for k in range(WRITER_KEYS)]
        series = [[r, keys] for r in out["writer_run_ids"]] + [[out["buffered_run_id"], ["loss"]]]
        counted = run_worker("server_sdk", "count", {"uri": f"sqlite:///{db}", "series": series})
    sent = out["writer_points"] + out["buffered_points"]
    if counted["points"] != sent:
        raise RuntimeError(
            f"Carnet's SDK sent {sent:,} points, the store holds {counted['points']:,}"
        )
    return out


def mlflow_round(args: dict[str, Any]) -> dict[str, Any]:
    """The same phases with MLflow's client against ``mlflow server`` (smaller sizes)."""
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        folder = Path(tmp)
        with serving("mlflow", folder) as (base, _db, log, pgid):
            return drive(
                base,
                folder,
                log,
                pgid,
                {
                    "phases": ["sdk_runs", "buffered", "writers"],
                    "runs": min(args["runs"], MLFLOW_RUNS),
                    "buffered_points": MLFLOW_BUFFERED_POINTS,
                    "writers": args["writers"],
                    "batches": MLFLOW_WRITER_BATCHES,
                    "batch_size": args["batch_size"],
                },
            )


def plan(cfg: Config) -> Plan:
    """Carnet's SDK against ``carnet server``; MLflow's client against ``mlflow server``."""
    args = {
        "tmp": str(cfg.tmp_dir()),
        "runs": cfg.sdk_runs,
        "buffered_points": cfg.sdk_buffered_points,
        "writers": cfg.sdk_writers,
        "batches": cfg.sdk_batches,
        "batch_size": 1000,
    }
    variants = [Variant("carnet", lambda: carnet_round(args))]
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_round(args)))
    result = Plan(variants, lambda s: [])

    def summarize(s: Samples) -> list[Row]:
        w, b = cfg.sdk_writers, cfg.sdk_batches
        writers = f"{w} writer processes x log_batch of 1,000 metrics"
        mlflow_writers = f"{w} x {MLFLOW_WRITER_BATCHES} calls"

        def ms(variant: str, key: str) -> float | None:
            v = median(s, variant, key)
            return None if v is None else v * 1000

        def row(name: str, unit: str, carnet: float | None, mlflow: float | None, **kw: Any) -> Row:
            return Row("m", name, unit, carnet, mlflow=mlflow, mlflow_target=None, **kw)

        rows = [
            row(f"SDK over http, per run: start_run, log_params (2), log_metrics (3), end "
                f"({cfg.sdk_runs} runs, synchronous)", "ms", median(s, "carnet", "run_ms"),
                median(s, "mlflow", "run_ms"), target=RUN_TARGET_MS,
                target_text=f"≤ {RUN_TARGET_MS:g} ms",
                mlflow_note=f"mlflow server, {min(cfg.sdk_runs, MLFLOW_RUNS)} runs"),
            row(f"SDK over http, buffered log_metric, {cfg.sdk_buffered_points:,} points on the "
                "server's disk when flush returns", "/s",
                rate(s, "carnet", "buffered_points", "buffered_s"),
                rate(s, "mlflow", "buffered_points", "buffered_s"), higher=True,
                target=BUFFERED_TARGET, target_text="≥ 100,000/s",
                mlflow_note=f"mlflow server, {MLFLOW_BUFFERED_POINTS} points"),
            row(f"SDK over http, {writers} ({b} each): points/s", "/s",
                rate(s, "carnet", "writer_points", "writer_s"),
                rate(s, "mlflow", "writer_points", "writer_s"), higher=True,
                target=WRITERS_TARGET, target_text="≥ 200,000/s",
                mlflow_note=f"mlflow server, {mlflow_writers}"),
            row(f"SDK over http, {writers}: p50 per call", "ms", ms("carnet", "writer_p50_s"),
                ms("mlflow", "writer_p50_s"), mlflow_note="mlflow server"),
            row(f"SDK over http, {writers}: p99 per call", "ms", ms("carnet", "writer_p99_s"),
                ms("mlflow", "writer_p99_s"), mlflow_note="mlflow server"),
        ]  # fmt: skip
        result.notes.append(
            "Carnet's SDK (set_tracking_uri('http://...')) against carnet server on a new SQLite "
            "file each repetition; the buffered and writers' points were counted in the store "
            "after the server stopped: all there, none twice. MLflow column: MLflow's client "
            "against mlflow server --workers 1 (bench/server_client.py), same calls"
        )
        writes, commits = median(s, "carnet", "group_writes"), median(s, "carnet", "group_commits")
        if writes and commits:
            result.notes.append(
                f"group commit: the server wrote {writes:,.0f} run-data requests in "
                f"{commits:,.0f} commits ({writes / commits:.1f} requests a commit, medians)"
            )
        cpu = median(s, "carnet", "writer_client_cpu_s")
        if cpu is not None:
            per = cpu / (w * b * 1000) * 1e6
            result.notes.append(f"writers' own CPU (Carnet's SDK): {per:.2f} µs per point")
        return rows

    result.summarize = summarize
    return result
