"""(d) Points logged in batches (``Client.log_batch``) vs raw sqlite3 ``executemany``.

Both receive ready-made rows (10 keys, step = i // 10) and write one
transaction per batch into a table with the same columns and the same
(run_id, key, step) index. Carnet also validates every point and keeps the
per-run summary (last/min/max/count) current: that is what the ratio prices.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import mlflow_env
from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, rate, run_worker

TARGET_SHARE = 0.5


def plan(cfg: Config) -> Plan:
    args = {"points": cfg.batch_points, "batch_size": cfg.batch_size, "tmp": str(cfg.tmp_dir())}
    variants = [
        Variant("carnet", lambda: run_worker("batch", "carnet", args)),
        Variant("raw-sqlite3", lambda: run_worker("batch", "raw", args)),
    ]
    ml_args = dict(args, points=cfg.mlflow_batch_points)
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("batch", ml_args)))

    def summarize(s: Samples) -> list[Row]:
        return [
            Row(
                "d",
                f"log_batch, {cfg.batch_points:,} points in batches of {cfg.batch_size:,}",
                "/s",
                rate(s, "carnet", "points", "seconds"),
                higher=True,
                baseline=rate(s, "raw-sqlite3", "points", "seconds"),
                baseline_name="raw sqlite3 executemany",
                mlflow=rate(s, "mlflow", "points", "seconds"),
                mlflow_note=f"{cfg.mlflow_batch_points:,} points, 1,000/call",
                baseline_target=TARGET_SHARE,
                target_text="≥ 50% of raw sqlite3",
            )
        ]

    return Plan(variants, summarize)


def rows(n: int, size: int) -> list[list[tuple[str, float, int, int]]]:
    """The points as (key, value, timestamp, step), cut into batches."""
    ts = int(time.time() * 1000)
    return [
        [(f"k{j % 10}", j * 0.5, ts, j // 10) for j in range(s, min(s + size, n))]
        for s in range(0, n, size)
    ]


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    n, size = args["points"], args["batch_size"]
    batches = rows(n, size)
    clock = time.perf_counter
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        if variant == "raw":
            from bench.rawsqlite import INSERT, connect

            conn = connect(Path(tmp) / "raw.db")
            prepared = [[(1, k, s, t, v, 0) for k, v, t, s in b] for b in batches]
            t0 = clock()
            for rows_ in prepared:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(INSERT, rows_)
                conn.execute("COMMIT")
            seconds = clock() - t0
            db = Path(tmp) / "raw.db"
            conn.close()
        else:
            import carnet

            client = carnet.Client(f"sqlite:///{tmp}/carnet.db")
            run_id = client.create_run(client.create_experiment("batch")).info.run_id
            t0 = clock()
            for points in batches:
                client.log_batch(run_id, metrics=points)
            seconds = clock() - t0
            db = Path(tmp) / "carnet.db"
        from bench.rawsqlite import stored_points

        check = sqlite3.connect(db)
        found = stored_points(check)
        check.close()
    if found != n:
        raise RuntimeError(f"logged {n} points but the store holds {found}")
    return {"points": n, "seconds": seconds}
