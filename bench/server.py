"""(k) Tracking servers: ``carnet server`` against ``mlflow server``, one MLflow client for both.

Each repetition starts one server as a subprocess on a free localhost port,
on a brand-new SQLite file (Carnet's ``carnet server --db sqlite:///...``,
MLflow's ``mlflow server --backend-store-uri sqlite:///... --workers 1
--serve-artifacts``), waits for ``GET /health``, then runs
``bench/server_client.py`` in MLflow's interpreter against it: the same
unmodified MLflow client, the same requests, for both servers. The client
times four things in one go:

1. the tutorial's per-run logging through the fluent API (``start_run``,
   2 ``log_param``, 3 ``log_metric``, end): the median over the runs;
2. a filtered, ordered top-100 ``MlflowClient.search_runs`` over those runs;
3. parallel writer processes, each sending ``log_batch`` requests of 500
   metrics to a run of its own: points/s over the whole burst, and p50/p99
   of the request latency;
4. ``MlflowClient.get_metric_history`` of a 100,000-point history (logged
   untimed in 1,000-point batches just before).

Then the server stops and the writers' points are counted in the store
file, with the store's own reader: a point missing is an error, never a
figure. The servers' start and the stores' creation are never timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import mlflow_env
from bench.config import BENCH_DIR, REPO, Config
from bench.harness import Plan, Row, Samples, Variant, median, rate, run_worker

#: Every ratio to MLflow's server must reach this (the server's target).
SERVER_FACTOR = 10.0
CLIENT = BENCH_DIR / "server_client.py"
START_TIMEOUT_S = 240.0
CLIENT_TIMEOUT_S = 3600.0
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "PYTHONWARNINGS": "ignore",
}
#: MLflow's server starts a job runner and seven task-queue consumers that poll all the time
#: (GenAI evaluation jobs, scheduled clean-ups); Carnet serves nothing of the kind, so they
#: are off and MLflow's server gets the whole machine for tracking.
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
#: Carnet's server runs this checkout's code (not whatever ``carnet`` the venv installed).
CARNET_SERVER_ENV = {"PYTHONPATH": os.pathsep.join([str(REPO / "sdk"), str(REPO)])}


@dataclass
class ServerRow(Row):
    """A row whose target is a ratio: at least ``SERVER_FACTOR`` times MLflow's server."""

    def target_pass(self) -> bool | None:
        """PASS when Carnet's server beats MLflow's by the server target, on this row's figure."""
        ratio = self.vs_mlflow()
        return None if ratio is None else ratio >= SERVER_FACTOR


def free_port() -> int:
    """A localhost port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that would point a server or client elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARNET_", "MLFLOW_", "STREAMLIT_")) and k != "PYTHONPATH"
    }
    env.update(QUIET_ENV)
    env.update(extra)
    return env


def server_command(tool: str, folder: Path, port: int) -> tuple[list[str], Path]:
    """The command line an operator would type for ``tool``, and its SQLite file.

    MLflow's server runs one worker: its default of four would be four processes
    writing one SQLite file.
    """
    if tool == "carnet":
        db = folder / "carnet.db"
        return [
            sys.executable, "-m", "carnet.cli", "server",
            "--db", f"sqlite:///{db}", "--artifacts", str(folder / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port),
        ], db  # fmt: skip
    db = folder / "mlflow.db"
    return [
        str(mlflow_env.python()), "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{db}",
        "--serve-artifacts", "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ], db  # fmt: skip


def _healthy(base: str) -> bool:
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"{base}/health", timeout=2) as answer,
    ):
        return bool(answer.read().strip() == b"OK")
    return False


@contextlib.contextmanager
def serving(tool: str, folder: Path) -> Iterator[tuple[str, Path, Path, int]]:
    """Run ``tool``'s server on a new store in ``folder``.

    Yields its URL, its store file, its log and its process group (the server
    and any worker it starts, for CPU accounting).
    """
    port = free_port()
    command, db = server_command(tool, folder, port)
    log = folder / f"{tool}-server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # a fixed argv, no shell
            command, stdout=out, stderr=subprocess.STDOUT, cwd=folder,
            env=clean_env(**(MLFLOW_SERVER_ENV if tool == "mlflow" else CARNET_SERVER_ENV)),
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(base):
            if proc.poll() is not None:
                raise RuntimeError(f"{tool} server exited {proc.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tool} server not healthy in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        yield base, db, log, proc.pid  # start_new_session: the pid is the group id
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def tail(log: Path, chars: int = 3000) -> str:
    """The end of a server's log, for an error message."""
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def drive(
    base: str, folder: Path, log: Path, server_pgid: int, args: dict[str, Any]
) -> dict[str, Any]:
    """Run the MLflow client script against the server at ``base``; return its JSON."""
    args = dict(args, server_pgid=server_pgid)
    proc = subprocess.run(  # a fixed argv, no shell
        [str(mlflow_env.python()), str(CLIENT), json.dumps(args)],
        capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, cwd=folder,
        env=clean_env(MLFLOW_TRACKING_URI=base),
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(
            f"MLflow client failed against {base}:\n{proc.stderr[-3000:]}\n"
            f"--- server log ---\n{tail(log)}"
        )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def one_round(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Start ``tool``'s server, drive it, stop it, count the writers' points in its store."""
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        folder = Path(tmp)
        with serving(tool, folder) as (base, db, log, pgid):
            out = drive(base, folder, log, pgid, args)
        counted = run_worker(
            "server",
            tool,
            {"db": str(db), "run_ids": out["writer_run_ids"], "keys": out["writer_keys"]},
        )
    if counted["points"] != out["writer_points"]:
        raise RuntimeError(
            f"{tool} server: the writers sent {out['writer_points']:,} points, "
            f"the store holds {counted['points']:,}"
        )
    out["writer_found"] = counted["points"]
    return out


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    """Count the points of the writers' runs in a stopped server's store, with its own reader."""
    db, run_ids, keys = Path(args["db"]), args["run_ids"], args["keys"]
    if variant == "carnet":
        import carnet

        client = carnet.Client(f"sqlite:///{db}")
        points = sum(len(client.get_metric_history(r, k)) for r in run_ids for k in keys)
        return {"points": points}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(run_ids))
        (points,) = conn.execute(
            f"SELECT count(*) FROM metrics WHERE run_uuid IN ({marks})", run_ids
        ).fetchone()
    finally:
        conn.close()
    return {"points": int(points)}


def plan(cfg: Config) -> Plan:
    """Carnet's and MLflow's servers, interleaved; no MLflow means no client, so a skip."""
    result = Plan([], lambda s: [])
    if not cfg.mlflow:
        result.skip = "MLflow's client drives the server rows: --quick and --no-mlflow leave it out"
        return result
    args = {
        "tmp": str(cfg.tmp_dir()),
        "runs": cfg.server_runs,
        "search_samples": cfg.server_search_samples,
        "writers": cfg.server_writers,
        "batches": cfg.server_batches,
        "batch_size": 500,
        "history_points": cfg.server_history_points,
        "history_reads": 3,
    }
    result.variants = [
        Variant("carnet", lambda: one_round("carnet", args)),
        Variant("mlflow", lambda: one_round("mlflow", args)),
    ]

    def summarize(s: Samples) -> list[Row]:
        def ms(variant: str, key: str) -> float | None:
            v = median(s, variant, key)
            return None if v is None else v * 1000

        n, w, b = cfg.server_runs, cfg.server_writers, cfg.server_batches
        writers = f"{w} writer processes x {b} log_batch of 500 metrics"
        rows = [
            (f"per run through the server: start_run, 2 log_param, 3 log_metric, end ({n} runs)",
             "ms", median(s, "carnet", "run_ms"), median(s, "mlflow", "run_ms"), False),
            (f"search_runs top-100 through the server at {n} runs, filtered and ordered",
             "ms", ms("carnet", "search_s"), ms("mlflow", "search_s"), False),
            (f"{writers}: points/s", "/s", rate(s, "carnet", "writer_points", "writer_s"),
             rate(s, "mlflow", "writer_points", "writer_s"), True),
            (f"{writers}: p50 latency", "ms", ms("carnet", "writer_p50_s"),
             ms("mlflow", "writer_p50_s"), False),
            (f"{writers}: p99 latency", "ms", ms("carnet", "writer_p99_s"),
             ms("mlflow", "writer_p99_s"), False),
            (f"get_metric_history through the server, {cfg.server_history_points:,} points",
             "s", median(s, "carnet", "history_s"), median(s, "mlflow", "history_s"), False),
        ]  # fmt: skip
        found = [x["writer_found"] for v in ("carnet", "mlflow") for x in s.get(v, [])]
        result.notes.append(
            f"the writers' {w * b * 500:,} points were counted in the store after the server "
            f"stopped: all there in each of the {len(found)} server runs"
        )
        result.notes.append(
            "one MLflow client drives both servers (bench/server_client.py in MLflow's venv); "
            "each repetition starts the server on a new SQLite file; search: "
            "metrics.rmse < 66 and params.l1_ratio = '0.5' ordered by metrics.r2 DESC, "
            "median of the queries after a first one"
        )
        first = {
            v: (
                median(s, v, "run_first_ms"),
                ms(v, "search_first_s"),
                median(s, v, "history_first_s"),
            )
            for v in ("carnet", "mlflow")
        }
        result.notes.append(
            "first timed call of each kind in a fresh server (ms run, ms search, s history): "
            + "; ".join(
                f"{v} " + ", ".join("–" if x is None else f"{x:.3g}" for x in vals)
                for v, vals in first.items()
            )
        )
        result.notes.append(
            "the CPU rows sum every process of the server's group (read from /proc around "
            "each phase, medians over repetitions); MLflow's client spent meanwhile, per "
            "operation: " + client_cpu_note(s, cfg, args)
        )
        timed = [
            ServerRow(
                "k",
                name,
                unit,
                carnet_value,
                higher=higher,
                mlflow=mlflow_value,
                mlflow_note="mlflow server",
                target_text=f"≥ {SERVER_FACTOR:.0f}× mlflow server",
                mlflow_target=None,
            )
            for name, unit, carnet_value, mlflow_value, higher in rows
        ]
        return timed + cpu_rows(s, cfg, args)

    result.summarize = summarize
    return result


def _phases(cfg: Config, args: dict[str, Any]) -> dict[str, tuple[int, str, str]]:
    """Each client phase: how many operations it timed, the unit per operation, its name."""
    return {
        "runs": (cfg.server_runs, "ms", "run (7 requests)"),
        "search": (cfg.server_search_samples + 1, "ms", "search"),
        "writers": (cfg.server_writers * cfg.server_batches, "ms", "500-metric log_batch"),
        "history_read": (
            args["history_reads"],
            "s",
            f"{args['history_points']:,}-point history read",
        ),
    }


def _cpu_per_op(
    s: Samples, tool: str, phase: str, side: str, count: int, unit: str
) -> float | None:
    seconds = median(s, tool, f"cpu_{phase}_{side}_s")
    return None if seconds is None else seconds / count * (1000 if unit == "ms" else 1)


def cpu_rows(s: Samples, cfg: Config, args: dict[str, Any]) -> list[Row]:
    """The servers' own CPU per operation: what the server costs, the client left out."""
    return [
        Row(
            "k",
            f"server CPU per {name}",
            unit,
            _cpu_per_op(s, "carnet", phase, "server", count, unit),
            mlflow=_cpu_per_op(s, "mlflow", phase, "server", count, unit),
            mlflow_note="mlflow server",
            mlflow_target=None,
        )
        for phase, (count, unit, name) in _phases(cfg, args).items()
    ]


def client_cpu_note(s: Samples, cfg: Config, args: dict[str, Any]) -> str:
    """MLflow's client CPU per operation against each server: the floor of every timed row."""
    parts = []
    for phase, (count, unit, name) in _phases(cfg, args).items():
        got = [_cpu_per_op(s, tool, phase, "client", count, unit) for tool in ("carnet", "mlflow")]
        if None not in got:
            parts.append(f"{name} {got[0]:.3g} {unit} (against mlflow server {got[1]:.3g} {unit})")
    return "; ".join(parts)
