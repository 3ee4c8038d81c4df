"""Stores the read workloads need, built once per shape and cached under ``bench/.cache``.

Built through Carnet's public API (``Client.create_run`` + ``Client.log_batch``),
so a cached store is exactly what users would have written. A cache entry is
keyed by shape and by Carnet's schema version, and only used once its
``.json`` marker exists (a build that died midway is rebuilt).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from bench.config import ensure_cache

#: Bump when the shape of what a builder writes changes.
BUILDER_VERSION = 1
TAG_VALUES = {"team": ["vision", "nlp", "speech"], "stage": ["dev", "prod"]}


def _paths(name: str) -> tuple[Path, Path]:
    from carnet.store.schema import SCHEMA_VERSION

    cache = ensure_cache()
    stem = f"carnet-s{SCHEMA_VERSION}-b{BUILDER_VERSION}-{name}"
    return cache / f"{stem}.db", cache / f"{stem}.json"


def _reset(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def run_store(n_runs: int, n_params: int, n_metrics: int) -> dict[str, Any]:
    """One experiment of ``n_runs`` FINISHED runs with numeric params p0.., metrics m0.., 3 tags.

    ``p1`` is categorical ('adam' or 'sgd') so MLflow, which compares params
    only as strings, can run a query of the same shape and selectivity.
    """
    db, marker = _paths(f"runs{n_runs}-p{n_params}-m{n_metrics}")
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    import carnet

    _reset(db)
    started = time.perf_counter()
    client = carnet.Client(f"sqlite:///{db}")
    eid = client.create_experiment("bench")
    rng = random.Random(7)
    base = int(time.time() * 1000) - n_runs * 1000
    for i in range(n_runs):
        start = base + i * 1000
        tags = {
            "team": rng.choice(TAG_VALUES["team"]),
            "stage": rng.choice(TAG_VALUES["stage"]),
            "seed": str(i % 10),
        }
        run = client.create_run(eid, start_time=start, tags=tags, run_name=f"run-{i}")
        params = [
            (f"p{k}", ("adam" if rng.random() < 0.5 else "sgd") if k == 1 else repr(rng.random()))
            for k in range(n_params)
        ]
        metrics = [(f"m{k}", rng.random(), start, 0) for k in range(n_metrics)]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id, "FINISHED", end_time=start + 500)
    meta = {
        "path": str(db),
        "uri": f"sqlite:///{db}",
        "experiment_id": eid,
        "runs": n_runs,
        "build_s": time.perf_counter() - started,
    }
    marker.write_text(json.dumps(meta))
    return meta


def history_store(n_points: int, *, single: bool = False) -> dict[str, Any]:
    """One run with ``n_points`` steps of the metric 'loss'.

    Logged in batches of 10,000 points, or with ``single`` one synchronous
    ``log_metric`` per point, as a training loop does. A row-per-point table
    of the same points (``rows_path``, Carnet's v2 layout with its covering
    index) is the floor a history read had before packed chunks.
    """
    db, marker = _paths(f"history{n_points}" + ("-single" if single else ""))
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    import carnet

    _reset(db)
    started = time.perf_counter()
    client = carnet.Client(f"sqlite:///{db}")
    run = client.create_run(client.create_experiment("history"))
    run_id = run.info.run_id
    ts = int(time.time() * 1000)
    if single:
        for j in range(n_points):
            client.log_metric(run_id, "loss", j * 0.001, timestamp=ts + j, step=j)
    else:
        for s in range(0, n_points, 10_000):
            points = [("loss", j * 0.001, ts + j, j) for j in range(s, min(s + 10_000, n_points))]
            client.log_batch(run_id, metrics=points)
    client.set_terminated(run_id, "FINISHED")
    rows = db.with_name(db.stem + "-rows.db")
    _reset(rows)
    from bench.rawsqlite import INSERT, connect

    conn = connect(rows)
    conn.execute("CREATE INDEX ix_history ON metrics (run_id, key, step, timestamp, value)")
    conn.execute("BEGIN")
    conn.executemany(INSERT, [(1, "loss", j, ts + j, j * 0.001, 0) for j in range(n_points)])
    conn.execute("COMMIT")
    conn.close()
    meta = {
        "path": str(db),
        "uri": f"sqlite:///{db}",
        "rows_path": str(rows),
        "run_id": run_id,
        "points": n_points,
        "build_s": time.perf_counter() - started,
    }
    marker.write_text(json.dumps(meta))
    return meta


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: build (or find) a cached store and describe it.

    A build commits hundreds of thousands of small transactions; waiting for
    the disk on each would make it take minutes and measures nothing we
    report, so builds run with ``CARNET_SQLITE_SYNCHRONOUS=OFF``. A build that
    dies leaves no marker and is redone.
    """
    os.environ["CARNET_SQLITE_SYNCHRONOUS"] = "OFF"
    if variant == "runs":
        return run_store(args["runs"], args["params"], args["metrics"])
    if variant == "history":
        return history_store(args["points"], single=bool(args.get("single")))
    raise ValueError(f"unknown store {variant!r}")
