"""(e) Reading a 100,000-point metric history back (``Client.get_metric_history``).

The store is built once and cached; each repetition is a fresh process that
opens it, makes one small read to open the connection, then times the
history read. Two Carnet stores: one logged in batches, one logged a
synchronous ``log_metric`` per point (its chunks were packed from the tail
as it grew). The baseline is raw sqlite3 fetching the same points as tuples
from a row-per-point table, the floor of the layout Carnet used before
packed chunks.

A shorter history (20,000 points) logged one call per point is read too: its
chunks are the tail's 1,024-point packs, so its target is the 100,000-point
target scaled to its size (no more per point). MLflow reads the same number
of points (its layout is a row a point however they were logged).
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
    single: dict[str, Any] = {}
    short: dict[str, Any] = {}
    variants = [
        Variant("carnet", lambda: run_worker("history", "carnet", meta)),
        Variant("carnet-single", lambda: run_worker("history", "carnet", single)),
        Variant("carnet-single-short", lambda: run_worker("history", "carnet", short)),
        Variant("raw-sqlite3", lambda: run_worker("history", "raw", meta)),
    ]
    ml_args = {"points": cfg.mlflow_history_points, "cache": str(CACHE)}
    short_n = cfg.history_single_points
    ml_short = {"points": short_n, "cache": str(CACHE)}
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("history", ml_args)))
        variants.append(Variant("mlflow-short", lambda: mlflow_env.run("history", ml_short)))

    def prepare() -> None:
        meta.update(run_worker("stores", "history", {"points": n}, timeout=1800))
        single.update(run_worker("stores", "history", {"points": n, "single": True}, timeout=1800))
        short.update(
            run_worker("stores", "history", {"points": short_n, "single": True}, timeout=1800)
        )
        if cfg.mlflow:  # builds MLflow's cached stores on first use, outside the timings
            mlflow_env.run("history", ml_args, timeout=3600)
            mlflow_env.run("history", ml_short, timeout=3600)

    def summarize(s: Samples) -> list[Row]:
        mlflow = median(s, "mlflow", "seconds")
        ml_n = cfg.mlflow_history_points
        if mlflow is not None and ml_n != n:  # compare like with like: scale to Carnet's size
            mlflow *= n / ml_n
            result.notes.append(f"MLflow read {ml_n:,} points; its time is scaled to {n:,}")
        raw = median(s, "raw-sqlite3", "seconds")

        def row(variant: str, logged: str, mlflow: float | None) -> Row:
            return Row(
                "e",
                f"get_metric_history, {n:,} points{logged}",
                "s",
                median(s, variant, "seconds"),
                baseline=raw,
                baseline_name="raw sqlite3 fetchall of rows",
                mlflow=mlflow,
                target=TARGET_S,
                target_text="≤ 0.05 s",
            )

        short_target = TARGET_S * short_n / n
        return [
            row("carnet", "", mlflow),
            row("carnet-single", " logged one call each", None),
            Row(
                "e",
                f"get_metric_history, {short_n:,} points logged one call each",
                "s",
                median(s, "carnet-single-short", "seconds"),
                mlflow=median(s, "mlflow-short", "seconds"),
                target=short_target,
                target_text=f"≤ {short_target:.3g} s (per point, as at {n:,})",
            ),
        ]

    result = Plan(variants, summarize, prepare=prepare)
    return result


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    clock = time.perf_counter
    n = args["points"]
    if variant == "raw":
        from bench.rawsqlite import connect

        conn = connect(Path(args["rows_path"]), create=False)  # Carnet's pragmas: a fair floor
        conn.execute("SELECT count(*) FROM metrics WHERE run_id = 0").fetchone()  # opens it
        t = clock()
        found = conn.execute(
            "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
            "ORDER BY step, timestamp, value",
            (1, "loss"),
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
