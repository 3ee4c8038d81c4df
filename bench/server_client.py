"""MLflow's own client driving a tracking server: the client side of workload (k).

``python server_client.py JSON`` runs under MLflow's interpreter with
``MLFLOW_TRACKING_URI`` pointing at the server under test (Carnet's or
MLflow's: the script cannot tell them apart and does the same requests to
both), and prints one JSON line of timings. It imports only MLflow and the
standard library. Everything the timings read back is checked here; the
points the parallel writers sent are counted in the store by ``bench/server.py``
once the server has stopped.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

# Keep ``bench/`` itself off sys.path: ``bench/search.py`` and friends must never shadow a
# library's top-level module inside MLflow's interpreter.
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

#: The search of (k): about 80% of runs have rmse < 66 and half have l1_ratio 0.5.
SEARCH_FILTER = "metrics.rmse < 66 and params.l1_ratio = '0.5'"
SEARCH_ORDER = "metrics.r2 DESC"
WRITER_KEYS = 5


def tutorial_values(i: int) -> tuple[float, float, float, float, float]:
    """alpha, l1_ratio, rmse, r2, mae of the i-th run: deterministic, spread, easy to count."""
    alpha = round(0.01 * (i + 1), 4)
    l1_ratio = 0.5 if i % 2 == 0 else 1.0
    rmse = 50.0 + (i * 37 % 100) / 5.0
    return alpha, l1_ratio, rmse, 1.0 - rmse / 100.0, rmse * 0.8


def expected_matches(n_runs: int) -> int:
    """How many of the tutorial runs the search filter selects."""
    return sum(
        1 for i in range(n_runs) if tutorial_values(i)[1] == 0.5 and tutorial_values(i)[2] < 66
    )


def log_runs(n_runs: int) -> tuple[str, list[float]]:
    """The tutorial's loop through the fluent API; each run's wall time in seconds."""
    experiment = mlflow.set_experiment("server-tutorial")
    seconds = []
    for i in range(n_runs):
        alpha, l1_ratio, rmse, r2, mae = tutorial_values(i)
        t = clock()
        with mlflow.start_run():
            mlflow.log_param("alpha", alpha)
            mlflow.log_param("l1_ratio", l1_ratio)
            mlflow.log_metric("rmse", rmse)
            mlflow.log_metric("r2", r2)
            mlflow.log_metric("mae", mae)
        seconds.append(clock() - t)
    return str(experiment.experiment_id), seconds


def search(client: MlflowClient, eid: str, n_runs: int, samples: int) -> dict[str, Any]:
    """The filtered, ordered top-100 search: one untimed warm-up, then ``samples`` timed."""
    want = min(100, expected_matches(n_runs))

    def query() -> list[Any]:
        return list(
            client.search_runs(
                [eid], filter_string=SEARCH_FILTER, max_results=100, order_by=[SEARCH_ORDER]
            )
        )

    t = clock()
    found = query()
    first = clock() - t
    r2 = [r.data.metrics["r2"] for r in found]
    if len(found) != want or r2 != sorted(r2, reverse=True):
        raise RuntimeError(f"search returned {len(found)} runs (want {want}) or out of order")
    if any(r.data.params["l1_ratio"] != "0.5" or r.data.metrics["rmse"] >= 66 for r in found):
        raise RuntimeError("search returned a run its filter excludes")
    times = []
    for _ in range(samples):
        t = clock()
        n = len(query())
        times.append(clock() - t)
        if n != want:
            raise RuntimeError(f"search returned {n} runs, then {want}")
    return {"search_s": statistics.median(times), "search_first_s": first, "returned": want}


def writer(
    run_id: str,
    index: int,
    batches: int,
    size: int,
    barrier: Any,
    results: Any,
) -> None:
    """One of the parallel writers: ``batches`` log_batch calls of ``size`` metrics each."""
    client = MlflowClient()
    ts = int(time.time() * 1000)
    per_key = size // WRITER_KEYS
    payloads = [
        [
            Metric(f"m{j % WRITER_KEYS}", b * 0.5 + j, ts, b * per_key + j // WRITER_KEYS)
            for j in range(size)
        ]
        for b in range(batches)
    ]
    barrier.wait()
    start, cpu = clock(), time.process_time()
    latencies = []
    for metrics in payloads:
        t = clock()
        client.log_batch(run_id, metrics=metrics)
        latencies.append(clock() - t)
    end, cpu = clock(), time.process_time() - cpu
    results.put({"index": index, "start": start, "end": end, "cpu": cpu, "latencies": latencies})


def parallel_writers(client: MlflowClient, writers: int, batches: int, size: int) -> dict[str, Any]:
    """``writers`` processes at once, each into a run of its own, released by one barrier."""
    if size % WRITER_KEYS:
        raise ValueError(f"batch size {size} must be a multiple of {WRITER_KEYS}")
    eid = client.create_experiment("server-writers")
    run_ids = [client.create_run(eid).info.run_id for _ in range(writers)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(writers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=writer, args=(run_ids[i], i, batches, size, barrier, results))
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
    seconds = max(g["end"] for g in got) - min(g["start"] for g in got)
    return {
        "writer_run_ids": run_ids,
        "writer_keys": [f"m{k}" for k in range(WRITER_KEYS)],
        "writer_points": writers * batches * size,
        "writer_s": seconds,
        "writer_requests": len(latencies),
        "writer_p50_s": percentile(latencies, 0.50),
        "writer_p99_s": percentile(latencies, 0.99),
        "writer_client_cpu_s": sum(g["cpu"] for g in got),
    }


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def history(
    client: MlflowClient, points: int, reads: int, cpu: CpuMeter, out: dict[str, Any]
) -> dict[str, Any]:
    """A ``points``-long history logged untimed in 1,000-point batches, then read back."""
    eid = client.create_experiment("server-history")
    run_id = client.create_run(eid).info.run_id
    ts = int(time.time() * 1000)
    for s in range(0, points, 1000):
        client.log_batch(
            run_id,
            metrics=[Metric("loss", j * 0.001, ts + j, j) for j in range(s, min(s + 1000, points))],
        )
    client.log_batch(run_id, metrics=[Metric("warm", 1.0, ts, j) for j in range(10)])
    client.get_metric_history(run_id, "warm")  # the endpoint's first call is not timed
    cpu.phase(out, "history_log")
    times = []
    for _ in range(reads):
        t = clock()
        found = client.get_metric_history(run_id, "loss")
        times.append(clock() - t)
        steps = [m.step for m in found]
        if len(found) != points or steps != sorted(steps) or steps[-1] != points - 1:
            raise RuntimeError(f"history read {len(found)} points of {points}, or out of order")
    cpu.phase(out, "history_read")
    return {"history_s": statistics.median(times), "history_first_s": times[0]}


class CpuMeter:
    """CPU seconds spent by the server (every process of its group) and by this client.

    Read around each phase, it tells where a phase's wall time goes: into the
    server, into MLflow's client (the same for both servers), or waiting. The
    writer processes report their own CPU over their timed loop (their start,
    importing MLflow, is not the client's cost of a request).
    """

    def __init__(self, server_pgid: int) -> None:
        self.pgid = server_pgid
        self.tick = os.sysconf("SC_CLK_TCK")
        self.last = self.read()

    def server(self) -> float:
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # a process that ended meanwhile
            if int(fields[2]) == self.pgid:
                total += int(fields[11]) + int(fields[12])
        return total / self.tick

    def read(self) -> tuple[float, float]:
        t = os.times()
        return self.server(), t.user + t.system

    def phase(self, out: dict[str, Any], name: str) -> None:
        """Record the server's and the client's CPU seconds since the previous phase."""
        now = self.read()
        out[f"cpu_{name}_server_s"] = now[0] - self.last[0]
        out[f"cpu_{name}_client_s"] = now[1] - self.last[1]
        self.last = now


def log_runs_batched(n_runs: int) -> list[float]:
    """The tutorial's loop as workload (m) times it: ``log_params`` and ``log_metrics``."""
    mlflow.set_experiment("sdk-tutorial")
    seconds = []
    for i in range(n_runs):
        alpha, l1_ratio, rmse, r2, mae = tutorial_values(i)
        t = clock()
        with mlflow.start_run(run_name=f"run-{i}"):
            mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
            mlflow.log_metrics({"rmse": rmse, "r2": r2, "mae": mae})
        seconds.append(clock() - t)
    return seconds


def buffered(client: MlflowClient, points: int) -> dict[str, Any]:
    """``log_metric(synchronous=False)`` points until ``flush_async_logging`` returns, counted."""
    mlflow.set_experiment("sdk-buffered")
    with mlflow.start_run(run_name="buffered") as run:
        t = clock()
        for i in range(points):
            mlflow.log_metric("loss", i * 0.001, step=i, synchronous=False)
        mlflow.flush_async_logging()
        seconds = clock() - t
    found = len(client.get_metric_history(run.info.run_id, "loss"))
    if found != points:
        raise RuntimeError(f"buffered: {found} points of {points} reached the server")
    return {"buffered_points": points, "buffered_s": seconds}


def phases(args: dict[str, Any]) -> dict[str, Any]:
    """Only the phases workload (m) asks for: the batched tutorial loop, buffered points,
    parallel writers (whose points ``bench/server_sdk.py`` does not count again)."""
    client = MlflowClient()
    client.search_experiments()
    out: dict[str, Any] = {}
    if "sdk_runs" in args["phases"]:
        per_run = log_runs_batched(args["runs"])
        out["run_ms"] = statistics.median(per_run) * 1000
    if "buffered" in args["phases"]:
        out.update(buffered(client, args["buffered_points"]))
    if "writers" in args["phases"]:
        out.update(parallel_writers(client, args["writers"], args["batches"], args["batch_size"]))
        found = sum(
            len(client.get_metric_history(r, k))
            for r in out["writer_run_ids"]
            for k in out["writer_keys"]
        )
        if found != out["writer_points"]:
            raise RuntimeError(f"writers: {found} points of {out['writer_points']} on the server")
    return out


def main(args: dict[str, Any]) -> dict[str, Any]:
    if "phases" in args:
        return phases(args)
    client = MlflowClient()
    client.search_experiments()  # the connection and the server's first request, untimed
    out: dict[str, Any] = {"runs": args["runs"]}
    cpu = CpuMeter(args["server_pgid"])
    eid, per_run = log_runs(args["runs"])
    out.update(run_ms=statistics.median(per_run) * 1000, run_first_ms=per_run[0] * 1000)
    cpu.phase(out, "runs")
    out.update(search(client, eid, args["runs"], args["search_samples"]))
    cpu.phase(out, "search")
    out.update(parallel_writers(client, args["writers"], args["batches"], args["batch_size"]))
    cpu.phase(out, "writers")
    out["cpu_writers_client_s"] += out["writer_client_cpu_s"]
    out.update(history(client, args["history_points"], args["history_reads"], cpu, out))
    return out


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
