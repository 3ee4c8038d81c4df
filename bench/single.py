"""(c) Single-call ``log_metric``: synchronous (committed on return) and buffered.

Synchronous: N calls inside one run, each committed before it returns.
Buffered (``synchronous=False``): the calls alone give calls/s; points/s
counts until ``flush_async_logging()`` returns, i.e. until they are on disk.
Raw sqlite3 commits one INSERT per transaction: the floor for "durable on
return". Every variant checks afterwards that all N points are in the store.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench import mlflow_env
from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, rate, run_worker

SYNC_TARGET = 10_000
CALLS_TARGET = 300_000
DISK_TARGET = 150_000


def plan(cfg: Config) -> Plan:
    n = cfg.points
    args = {"points": n, "tmp": str(cfg.tmp_dir())}
    variants = [
        Variant("carnet-sync", lambda: run_worker("single", "sync", args)),
        Variant("carnet-buffered", lambda: run_worker("single", "buffered", args)),
        Variant("raw-sqlite3", lambda: run_worker("single", "raw", args)),
    ]
    ml_args = {
        "points": cfg.mlflow_points,
        "async_points": cfg.mlflow_async_points,
        "tmp": str(cfg.tmp_dir()),
    }
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("single", ml_args)))

    def summarize(s: Samples) -> list[Row]:
        sync_points = f"{cfg.mlflow_points:,} points"
        async_points = f"{cfg.mlflow_async_points:,} points"
        return [
            Row(
                "c",
                f"synchronous log_metric, {n:,} calls (committed on return)",
                "/s",
                rate(s, "carnet-sync", "points", "seconds"),
                higher=True,
                baseline=rate(s, "raw-sqlite3", "points", "seconds"),
                baseline_name="raw sqlite3, 1 commit/point",
                mlflow=rate(s, "mlflow", "points", "sync_s"),
                mlflow_note=sync_points,
                target=SYNC_TARGET,
                target_text="≥ 10,000/s",
            ),
            Row(
                "c",
                f"buffered log_metric(synchronous=False), {n:,} calls",
                "/s",
                rate(s, "carnet-buffered", "points", "calls_s"),
                higher=True,
                mlflow=rate(s, "mlflow", "async_points", "async_calls_s"),
                mlflow_note=async_points,
                target=CALLS_TARGET,
                target_text="≥ 300,000 calls/s",
            ),
            Row(
                "c",
                "buffered points on disk (until flush returns)",
                "/s",
                rate(s, "carnet-buffered", "points", "disk_s"),
                higher=True,
                mlflow=rate(s, "mlflow", "async_points", "async_disk_s"),
                mlflow_note=async_points,
                target=DISK_TARGET,
                target_text="≥ 150,000/s",
            ),
        ]

    return Plan(variants, summarize)


def _carnet(tmp: str) -> Any:
    import carnet

    carnet.set_tracking_uri(f"sqlite:///{tmp}/carnet.db")
    carnet.set_experiment("single")
    return carnet


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    n = args["points"]
    clock = time.perf_counter
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        if variant == "raw":
            from bench.rawsqlite import INSERT, connect

            conn = connect(Path(tmp) / "raw.db")
            ts = int(time.time() * 1000)
            t = clock()
            for i in range(n):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(INSERT, (1, "loss", i, ts, i * 0.001, 0))
                conn.execute("COMMIT")
            seconds = clock() - t
            found = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
            conn.close()
            _check(found, n)
            return {"points": n, "seconds": seconds}
        carnet = _carnet(tmp)
        log_metric = carnet.log_metric
        with carnet.start_run() as run:
            if variant == "sync":
                t = clock()
                for i in range(n):
                    log_metric("loss", i * 0.001, step=i)
                out = {"points": n, "seconds": clock() - t}
            else:
                t = clock()
                for i in range(n):
                    log_metric("loss", i * 0.001, step=i, synchronous=False)
                calls = clock() - t
                carnet.flush_async_logging()
                out = {"points": n, "calls_s": calls, "disk_s": clock() - t}
        found = len(carnet.Client().get_metric_history(run.info.run_id, "loss"))
        _check(found, n)
    return out


def _check(found: int, expected: int) -> None:
    if found != expected:
        raise RuntimeError(f"logged {expected} points but the store holds {found}")
