"""Sizes and switches for one bench invocation, with the ``--quick`` preset."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
#: Cached stores and scratch files; CARNET_BENCH_CACHE moves them (e.g. to a CI scratch disk).
CACHE = Path(os.environ.get("CARNET_BENCH_CACHE") or BENCH_DIR / ".cache").resolve()


@dataclass
class Config:
    """Defaults are the benchmark table's sizes; MLflow gets smaller ones where it is slow."""

    repeat: int = 3
    quick: bool = False
    verbose: bool = False
    profile: bool = False
    mlflow: bool = True
    out: Path = field(default_factory=lambda: BENCH_DIR / "results")
    only: list[str] = field(default_factory=list)
    # (a) 11 l1_ratios x this many alphas: 330 runs by default
    sweep_alphas: int = 30
    # (b) fresh interpreters per repetition
    import_samples: int = 2
    # (c) single-call log_metric
    points: int = 100_000
    mlflow_points: int = 500
    mlflow_async_points: int = 500
    # (d) log_batch
    batch_points: int = 1_000_000
    batch_size: int = 10_000
    mlflow_batch_points: int = 50_000
    # (e) history read
    history_points: int = 100_000
    mlflow_history_points: int = 100_000
    # a shorter history logged one log_metric call per point (MLflow's in batches)
    history_single_points: int = 20_000
    # (f) run creation
    runs: int = 10_000
    mlflow_runs: int = 300
    # (g) search
    search_runs: int = 10_000
    search_runs_large: int = 100_000
    # a notebook-sized experiment: 5 params, 5 metrics, 3 tags a run (MLflow at the same size)
    search_runs_small: int = 2_000
    mlflow_search_runs: int = 10_000
    search_samples: int = 5
    # (h) dashboard
    dashboard_runs: int = 10_000
    curve_points: int = 1_000_000
    # (i) concurrency (bench/concurrency.py's defaults)
    procs: int = 8
    proc_runs: int = 200
    run_points: int = 50
    # (j) memory
    memory_points: int = 1_000_000
    # (k) carnet server against mlflow server, one MLflow client driving both
    server_runs: int = 300
    server_search_samples: int = 10
    server_writers: int = 4
    server_batches: int = 50
    server_history_points: int = 100_000
    # (l) model registry searches
    registry_versions: int = 10_000

    def tmp_dir(self) -> Path:
        """Scratch space on the repo's disk (not tmpfs), so commits cost what they cost users."""
        path = ensure_cache() / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path


def ensure_cache() -> Path:
    """``bench/.cache``, with a ``.gitignore`` of its own so git and ruff skip it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# created by the bench: cached stores and scratch files\n*\n")
    return CACHE


QUICK = {
    "repeat": 1,
    "mlflow": False,
    "sweep_alphas": 3,
    "import_samples": 1,
    "points": 2_000,
    "batch_points": 50_000,
    "batch_size": 5_000,
    "history_points": 10_000,
    "history_single_points": 2_000,
    "runs": 300,
    "search_runs": 1_000,
    "search_runs_large": 3_000,
    "search_runs_small": 500,
    "search_samples": 2,
    "dashboard_runs": 500,
    "curve_points": 20_000,
    "procs": 4,
    "proc_runs": 20,
    "run_points": 20,
    "memory_points": 50_000,
    "server_runs": 50,
    "server_search_samples": 3,
    "server_batches": 5,
    "server_history_points": 10_000,
    "registry_versions": 1_000,
}


def make_config(quick: bool, overrides: dict[str, object]) -> Config:
    """The preset (default or quick), then whatever the command line set explicitly."""
    values: dict[str, object] = dict(QUICK) if quick else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    names = {f.name for f in dataclasses.fields(Config)}
    return Config(quick=quick, **{k: v for k, v in values.items() if k in names})  # type: ignore[arg-type]
