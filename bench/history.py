"""(e) Reading a 100,000-point metric history back (``Client.get_metric_history``).

The store is built once and cached; each repetition is a fresh process that
opens it, makes one small read to open the connection, then times the
history read. Raw sqlite3 fetching the same rows as tuples is the floor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import mlflow_env
from bench.config import CACHE, Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

TARGET_S = 0.05


def plan(cfg: Config) -> Plan:
    n = cfg.history_points
    meta: dict[str, Any] = {}
    variants = [
        Variant("carnet", lambda: run_worker("history", "carnet", meta)),
        Variant("raw-sqlite3", lambda: run_worker("history", "raw", meta)),
    ]
    ml_args = {"points": cfg.mlflow_history_points, "cache": str(CACHE)}
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("history", ml_args)))

    def prepare() -> None:
        meta.update(run_worker("stores", "history", {"points": n}, timeout=1800))
        if cfg.mlflow:  # builds MLflow's cached store on first use, outside the timings
            mlflow_env.run("history", ml_args, timeout=3600)

    def summarize(s: Samples) -> list[Row]:
        mlflow = median(s, "mlflow", "seconds")
        ml_n = cfg.mlflow_history_points
        if mlflow is not None and ml_n != n:  # compare like with like: scale to Carnet's size
            mlflow *= n / ml_n
            result.notes.append(f"MLflow read {ml_n:,} points; its time is scaled to {n:,}")
        return [
            Row(
                "e",
                f"get_metric_history, {n:,} points",
                "s",
                median(s, "carnet", "seconds"),
                baseline=median(s, "raw-sqlite3", "seconds"),
                baseline_name="raw sqlite3 fetchall",
                mlflow=mlflow,
                target=TARGET_S,
                target_text="≤ 0.05 s",
            )
        ]

    result = Plan(variants, summarize, prepare=prepare)
    return result


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter
    n = args["points"]
    if variant == "raw":
        from bench.rawsqlite import connect

        conn = connect(Path(args["path"]), create=False)  # Carnet's pragmas: a fair floor
        pk = conn.execute("SELECT id FROM runs WHERE run_uuid = ?", (args["run_id"],)).fetchone()[0]
        t = clock()
        found = conn.execute(
            "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
            "ORDER BY step, timestamp, id",
            (pk, "loss"),
        ).fetchall()
        seconds = clock() - t
        conn.close()
    else:
        import carnet

        client = carnet.Client(args["uri"])
        client.get_run(args["run_id"])  # opens the connection before timing
        t = clock()
        found = client.get_metric_history(args["run_id"], "loss")
        seconds = clock() - t
        if found and (found[-1].step != n - 1 or found[0].key != "loss"):
            raise RuntimeError("history came back in the wrong order or shape")
    if len(found) != n:
        raise RuntimeError(f"expected {n} points, read {len(found)}")
    return {"points": n, "seconds": seconds}
