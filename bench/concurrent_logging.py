"""(i) Concurrent logging: runs ``bench/concurrency.py`` (the reliability harness).

``bench.concurrency`` starts N training processes and one dashboard-style
reader at the same instant on a brand-new store, each process logging runs
of 5 params, synchronous single-call metric points and 3 tags, then verifies
every value and the store's integrity. This module runs it as workload (i),
N processes against one process doing the same per-process work, and turns
its figures into rows. It adds no logic of its own to the measurement.
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, rate, run_worker


def plan(cfg: Config) -> Plan:
    result = Plan([], lambda s: [])
    if importlib.util.find_spec("bench.concurrency") is None:
        result.skip = "bench/concurrency.py is not there"
        return result
    base = {"runs": cfg.proc_runs, "points": cfg.run_points, "tmp": str(cfg.tmp_dir())}
    many = dict(base, processes=cfg.procs)
    one = dict(base, processes=1)
    result.variants = [
        Variant(f"{cfg.procs}-processes", lambda: run_worker("concurrent_logging", "run", many)),
        Variant("1-process", lambda: run_worker("concurrent_logging", "run", one)),
    ]
    label = f"{cfg.procs}-processes"

    def summarize(s: Samples) -> list[Row]:
        polls = [x["poll_median_s"] for x in s.get(label, []) if x.get("poll_median_s")]
        p95 = [x["poll_p95_s"] for x in s.get(label, []) if x.get("poll_p95_s")]
        if polls:
            result.notes.append(
                f"a reader polled the store meanwhile: median {statistics.median(polls) * 1000:.0f}"
                f" ms, p95 {statistics.median(p95) * 1000:.0f} ms per poll; 0 values missing, "
                "integrity check ok in every repetition"
            )
        result.notes.append(
            f"each process: {cfg.proc_runs} runs x (5 params, {cfg.run_points} synchronous "
            "log_metric calls, 3 tags), every call committed on return; baseline = 1 process "
            "doing the same per-process work"
        )
        n = cfg.procs
        return [
            Row(
                "i",
                f"{n} processes at once: committed calls/s (all processes)",
                "/s",
                rate(s, label, "calls", "elapsed"),
                higher=True,
                baseline=rate(s, "1-process", "calls", "elapsed"),
                baseline_name="1 process",
                mlflow_target=None,
            ),
            Row(
                "i",
                f"{n} processes at once: runs/s (all processes)",
                "/s",
                rate(s, label, "runs", "elapsed"),
                higher=True,
                baseline=rate(s, "1-process", "runs", "elapsed"),
                baseline_name="1 process",
                mlflow_target=None,
            ),
        ]

    result.summarize = summarize
    return result


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    from bench import concurrency

    n, runs, points = args["processes"], args["runs"], args["points"]
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        workdir = Path(tmp)
        uri = f"sqlite:///{workdir / 'brand-new.db'}"
        got = concurrency.run_processes(uri, workdir, n, runs, points)
        missing, checked = concurrency.verify(uri, n, runs, points)
    if got["failures"] or missing:
        problems = [*got["failures"], *missing][:10]
        raise RuntimeError("concurrent logging lost data or failed:\n" + "\n".join(problems))
    lat = sorted(got.get("latencies", []))
    total_runs = n * runs
    return {
        "elapsed": got["elapsed"],
        "runs": total_runs,
        "points": total_runs * points,
        "calls": total_runs * (points + 4),  # start, params, each point, tags, end
        "polls": len(lat),
        "poll_median_s": statistics.median(lat) if lat else None,
        "poll_p95_s": lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else None,
        "integrity": checked.get("integrity"),
    }
