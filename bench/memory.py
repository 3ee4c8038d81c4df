"""(j) Peak memory of a buffered run of 1,000,000 points.

A fresh process opens a store and starts a run, notes its resident size,
then logs every point with ``synchronous=False`` and ends the run (which
writes everything). Reported: how far the peak resident size (``ru_maxrss``)
rose above that idle size, and in a separate process the peak of Python
allocations under ``tracemalloc`` (which slows logging, so its time is not
reported). What this measures is how much the buffer holds before the writer
thread catches up.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, median, rate, run_worker
from bench.rawsqlite import stored_points

MB = 1024 * 1024


def plan(cfg: Config) -> Plan:
    args = {"points": cfg.memory_points, "tmp": str(cfg.tmp_dir())}
    variants = [
        Variant("rss", lambda: run_worker("memory", "rss", args)),
        Variant("tracemalloc", lambda: run_worker("memory", "tracemalloc", args), repeat=1),
    ]
    result = Plan(variants, lambda s: [])

    def summarize(s: Samples) -> list[Row]:
        n = cfg.memory_points
        growth = median(s, "rss", "growth_mb")
        idle = median(s, "rss", "idle_mb")
        if growth is not None:
            result.notes.append(
                f"peak RSS {median(s, 'rss', 'peak_mb'):.0f} MB; the process held "
                f"{idle:.0f} MB before logging; ≈ {growth * MB / n:.0f} bytes per point at the "
                f"peak; logging ran at {rate(s, 'rss', 'points', 'seconds'):,.0f} points/s "
                "to disk meanwhile. tracemalloc slows the logging loop several times over, so "
                "its queue stays shorter: the RSS row is the realistic figure"
            )
        return [
            Row(
                "j",
                f"buffered run of {n:,} points: peak RSS growth",
                "MB",
                growth,
                baseline=idle,
                baseline_name="idle process",
                mlflow_target=None,
            ),
            Row(
                "j",
                f"buffered run of {n:,} points: tracemalloc peak",
                "MB",
                median(s, "tracemalloc", "traced_peak_mb"),
                mlflow_target=None,
            ),
        ]

    result.summarize = summarize
    return result


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    import carnet

    n = args["points"]
    clock = time.perf_counter
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        carnet.set_tracking_uri(f"sqlite:///{tmp}/carnet.db")
        carnet.set_experiment("memory")
        run = carnet.start_run()
        log_metric = carnet.log_metric
        log_metric("warm", 0.0, synchronous=False)  # starts the writer thread
        carnet.flush_async_logging()
        idle = _rss_mb()
        out: dict[str, Any] = {"points": n, "idle_mb": idle}
        if variant == "tracemalloc":
            import tracemalloc

            tracemalloc.start()
            for i in range(n):
                log_metric("loss", i * 0.001, step=i, synchronous=False)
            carnet.end_run()
            out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / MB
            tracemalloc.stop()
        else:
            t = clock()
            for i in range(n):
                log_metric("loss", i * 0.001, step=i, synchronous=False)
            carnet.end_run()
            out["seconds"] = clock() - t
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
            out["peak_mb"] = peak
            out["growth_mb"] = peak - idle
        conn = sqlite3.connect(Path(tmp) / "carnet.db")
        found = stored_points(
            conn,
            "WHERE run_id = (SELECT id FROM runs WHERE run_uuid = ?) AND key = 'loss'",
            (run.info.run_id,),
        )
        conn.close()
    if found != n:
        raise RuntimeError(f"logged {n} points but the store holds {found}")
    return out
