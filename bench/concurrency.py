"""The full-size concurrency run: 8 processes (or threads) start at once on a new store.

``python -m bench.concurrency`` starts ``--processes`` training processes and
one dashboard-style reader at the same instant on a store that does not exist
yet. Each process logs ``--runs`` runs of 5 params, ``--points`` single-call
synchronous metric points and 3 tags through the fluent API, while the reader
polls ``search_runs`` / ``get_run`` / ``get_metric_history`` read-only. Then it
checks that every value is in the store, runs ``PRAGMA integrity_check`` (or
``carnet db check`` on PostgreSQL) and prints throughput. ``--threads`` does
the same with threads of one process. It prints figures; it asserts nothing
about speed, and exits non-zero only when a value is missing or a process
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

EXPERIMENT = "bench-concurrency"
PARAMS, TAGS = 5, 3
REPO = Path(__file__).resolve().parents[1]


def value(worker: int, run: int, step: int) -> float:
    return worker * 1_000_000 + run * 1_000 + step + 0.5


def log_runs(carnet: Any, worker: int, runs: int, points: int) -> None:
    """One training process's work: runs one after another, each call committed."""
    for r in range(runs):
        with carnet.start_run(run_name=f"w{worker}-r{r}"):
            carnet.log_params({f"p{j}": f"{worker}.{r}.{j}" for j in range(PARAMS)})
            for step in range(points):
                carnet.log_metric("loss", value(worker, r, step), step=step)
            carnet.set_tags({f"t{j}": f"{worker}/{r}/{j}" for j in range(TAGS)})


def _wait(go: Path) -> None:
    while not go.exists():
        time.sleep(0.001)


def writer_process(a: dict[str, Any]) -> dict[str, Any]:
    import carnet

    carnet.set_tracking_uri(a["uri"])
    Path(a["ready"]).touch()
    _wait(Path(a["go"]))
    start = time.perf_counter()
    carnet.set_experiment(EXPERIMENT)
    log_runs(carnet, a["index"], a["runs"], a["points"])
    return {"seconds": time.perf_counter() - start}


def poll(uri: str, stop: threading.Event | Path) -> dict[str, Any]:
    """The dashboard's read path until told to stop; latencies of each full poll."""
    from carnet import Client
    from carnet.errors import StoreError

    def stopped() -> bool:
        return stop.is_set() if isinstance(stop, threading.Event) else stop.exists()

    client = None
    latencies: list[float] = []
    while not stopped():
        try:
            client = client or Client(uri, read_only=True)
        except StoreError:  # not created yet: the dashboard says "log a run first"
            time.sleep(0.01)
            continue
        start = time.perf_counter()
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            time.sleep(0.01)
            continue
        ids = [experiment.experiment_id]
        client.search_runs_frame(ids, order_by=["start_time DESC"], max_results=100)
        for run in client.search_runs(ids, max_results=3):
            client.get_run(run.info.run_id)
            client.get_metric_history(run.info.run_id, "loss")
        latencies.append(time.perf_counter() - start)
    return {"polls": len(latencies), "latencies": latencies}


def reader_process(a: dict[str, Any]) -> dict[str, Any]:
    Path(a["ready"]).touch()
    _wait(Path(a["go"]))
    return poll(a["uri"], Path(a["stop"]))


def _spawn(role: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "sdk"), str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bench.concurrency", "--worker", role, json.dumps(args)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_processes(
    uri: str, workdir: Path, processes: int, runs: int, points: int
) -> dict[str, Any]:
    go, stop = workdir / "go", workdir / "stop"
    ready = [workdir / f"ready-{i}" for i in range(processes + 1)]
    writers = [
        _spawn(
            "writer",
            {
                "uri": uri,
                "index": i,
                "runs": runs,
                "points": points,
                "ready": str(ready[i]),
                "go": str(go),
            },
        )
        for i in range(processes)
    ]
    reader = _spawn(
        "reader", {"uri": uri, "ready": str(ready[-1]), "go": str(go), "stop": str(stop)}
    )
    for path in ready:
        while not path.exists():
            time.sleep(0.005)
    go.touch()
    start = time.perf_counter()
    failures = []
    for proc in writers:
        out, err = proc.communicate()
        if proc.returncode != 0:
            failures.append(err)
    elapsed = time.perf_counter() - start
    stop.touch()
    out, err = reader.communicate()
    if reader.returncode != 0:
        failures.append(err)
    polled = json.loads(out) if reader.returncode == 0 else {"polls": 0, "latencies": []}
    return {"elapsed": elapsed, "failures": failures, **polled}


def run_threads(uri: str, threads: int, runs: int, points: int) -> dict[str, Any]:
    import carnet

    carnet.set_tracking_uri(uri)
    carnet.set_experiment(EXPERIMENT)
    barrier = threading.Barrier(threads + 1)
    failures: list[str] = []

    def work(index: int) -> None:
        barrier.wait()
        try:
            log_runs(carnet, index, runs, points)
        except Exception as exc:
            failures.append(f"thread {index}: {type(exc).__name__}: {exc}")

    stop = threading.Event()
    polled: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: polled.update(poll(uri, stop)))
    reader.start()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    stop.set()
    reader.join()
    return {"elapsed": elapsed, "failures": failures, **polled}


def verify(uri: str, writers: int, runs: int, points: int) -> tuple[list[str], dict[str, Any]]:
    """Every run, param, tag and point, exactly once; then the store's own check."""
    from carnet import Client
    from carnet.store.maintenance import check_store

    client = Client(uri, read_only=True)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    missing: list[str] = []
    if experiment is None:
        return ["the experiment was never created"], {}
    found = client.search_runs([experiment.experiment_id], max_results=None)
    by_name = {r.info.run_name: r for r in found}
    if len(found) != writers * runs or len(by_name) != len(found):
        missing.append(f"{len(found)} runs ({len(by_name)} names), expected {writers * runs}")
    histories = client.get_metric_histories([r.info.run_id for r in found], ["loss"])
    counts: dict[str, int] = {}
    for rid in histories["run_id"]:
        counts[rid] = counts.get(rid, 0) + 1
    for w in range(writers):
        for r in range(runs):
            run = by_name.get(f"w{w}-r{r}")
            if run is None:
                missing.append(f"run w{w}-r{r}")
                continue
            if run.data.params != {f"p{j}": f"{w}.{r}.{j}" for j in range(PARAMS)}:
                missing.append(f"params of w{w}-r{r}")
            if any(run.data.tags.get(f"t{j}") != f"{w}/{r}/{j}" for j in range(TAGS)):
                missing.append(f"tags of w{w}-r{r}")
            if counts.get(run.info.run_id) != points:
                missing.append(f"{counts.get(run.info.run_id, 0)}/{points} points of w{w}-r{r}")
            if run.data.metrics.get("loss") != value(w, r, points - 1):
                missing.append(f"last loss of w{w}-r{r}")
            if run.info.status != "FINISHED":
                missing.append(f"w{w}-r{r} is {run.info.status}")
    start = time.perf_counter()
    report = check_store(uri)
    checked = {
        "integrity": report.integrity,
        "ok": report.ok,
        "check_seconds": time.perf_counter() - start,
    }
    if not report.ok:
        missing.append(report.format())
    return missing, checked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__)
    p.add_argument("--processes", type=int, default=8)
    p.add_argument("--runs", type=int, default=200, help="runs per process or thread")
    p.add_argument("--points", type=int, default=50, help="metric points per run")
    p.add_argument("--threads", action="store_true", help="threads of one process instead")
    p.add_argument("--uri", help="store to use (default: a new SQLite file in a temp dir)")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        role, args = a.worker
        result = (writer_process if role == "writer" else reader_process)(json.loads(args))
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="carnet-concurrency-") as tmp:
        workdir = Path(tmp)
        uri = a.uri or f"sqlite:///{workdir / 'brand-new.db'}"
        n = a.processes
        mode = f"{n} threads" if a.threads else f"{n} processes"
        print(f"concurrency: {mode} x {a.runs} runs x (5 params, {a.points} points, 3 tags)")
        print(f"store: {uri.split('?')[0]}")
        if a.threads:
            result = run_threads(uri, n, a.runs, a.points)
        else:
            result = run_processes(uri, workdir, n, a.runs, a.points)
        missing, checked = verify(uri, n, a.runs, a.points)

    runs = n * a.runs
    points = runs * a.points
    calls = runs * (a.points + 4)  # start, params, each point, tags, end: each commits
    elapsed = result["elapsed"]
    lat = sorted(result.get("latencies", []))
    print(f"  wall time (start signal -> last writer done): {elapsed:.2f} s")
    print(f"  runs/s:                    {runs / elapsed:,.0f}")
    print(f"  metric points/s:           {points / elapsed:,.0f}")
    print(f"  committed calls/s:         {calls / elapsed:,.0f}")
    if lat:
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        print(
            f"  reader polls:              {len(lat)} "
            f"(median {statistics.median(lat) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms)"
        )
    else:
        print("  reader polls:              0")
    print(f"  errors seen by writers/reader: {len(result['failures'])}")
    for failure in result["failures"]:
        print("    " + failure.strip().replace("\n", "\n    "))
    if checked:
        print(
            f"  store check:               integrity {checked['integrity']}, "
            f"{'ok' if checked['ok'] else 'NOT OK'} ({checked['check_seconds']:.2f} s)"
        )
    print(f"  values missing:            {len(missing)}")
    for item in missing[:20]:
        print(f"    {item}")
    return 1 if missing or result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
