"""``python -m bench``: run Carnet's workloads against baselines and MLflow, print a table.

Each workload module (one per letter of the benchmark table) returns a :class:`Plan`;
this runner prepares it, runs its variants interleaved ``--repeat`` times in
fresh subprocesses, and prints medians and ratios. It never asserts a timing:
the exit status is non-zero only when a workload crashed or logged data went
missing.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import harness, mlflow_env, report
from bench.config import REPO, Config, make_config
from bench.harness import Plan, Row, interleave

#: Letter, module, title: the order of the benchmark table.
WORKLOADS = [
    ("a", "sweep", "tracking overhead on the diabetes ElasticNet sweep"),
    ("b", "importtime", "import time"),
    ("c", "single", "single-call log_metric, synchronous and buffered"),
    ("d", "batch", "log_batch vs raw sqlite3 executemany"),
    ("e", "history", "reading a metric history"),
    ("f", "runs", "creating runs with params, metrics and tags"),
    ("g", "search", "filtered, sorted search and DataFrame load"),
    ("h", "dashboard", "dashboard runs page script time"),
    ("i", "concurrent_logging", "concurrent logging from several processes"),
    ("j", "memory", "peak memory of a large buffered run"),
    ("k", "server", "carnet server against mlflow server, one MLflow client"),
    ("l", "reproduce", "recording environments at run start; carnet reproduce"),
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, no MLflow, 1 repetition")
    p.add_argument("--repeat", type=int, help="interleaved repetitions (default 3)")
    p.add_argument("--only", action="append", default=[], help="letters or names, e.g. a,c,g")
    p.add_argument("--verbose", "-v", action="store_true", help="query plans and progress")
    p.add_argument(
        "--profile",
        action="store_true",
        help="after the timings, run each Carnet variant once more under pyinstrument "
        "(pip install pyinstrument) and write profile-*.txt into --out",
    )
    p.add_argument("--out", type=Path, help="results directory (default bench/results)")
    p.add_argument(
        "--docs",
        nargs="?",
        type=Path,
        const=REPO / "docs" / "performance.md",
        help="also update the results block of docs/performance.md (or the path given)",
    )
    p.add_argument("--no-mlflow", dest="mlflow", action="store_false", default=None)
    p.add_argument("--mlflow", dest="mlflow", action="store_true", help="run MLflow even --quick")
    sizes = p.add_argument_group("sizes")
    for name, help_text in [
        ("sweep-alphas", "(a) alphas per l1_ratio: 11 x this = runs (30)"),
        ("import-samples", "(b) fresh interpreters per repetition (2)"),
        ("points", "(c) single-call points (100,000)"),
        ("mlflow-points", "(c) MLflow synchronous points (500)"),
        ("mlflow-async-points", "(c) MLflow synchronous=False points (500)"),
        ("batch-points", "(d) points logged in batches (1,000,000)"),
        ("batch-size", "(d) points per log_batch call (10,000)"),
        ("mlflow-batch-points", "(d) MLflow points, 1,000 per call (50,000)"),
        ("history-points", "(e) history length (100,000)"),
        ("mlflow-history-points", "(e) MLflow history length (100,000)"),
        ("runs", "(f) runs created (10,000)"),
        ("mlflow-runs", "(f) MLflow runs created (300)"),
        ("search-runs", "(g) runs in the 5 params x 5 metrics store (10,000)"),
        ("search-runs-large", "(g) runs in the 10 params x 10 metrics store (100,000)"),
        ("mlflow-search-runs", "(g) runs in MLflow's store (10,000)"),
        ("search-samples", "(g) timed queries per process (5)"),
        ("dashboard-runs", "(h) runs in the dashboard's store (10,000)"),
        ("curve-points", "(h) points of the metric the run page draws (1,000,000)"),
        ("procs", "(i) logging processes (8)"),
        ("proc-runs", "(i) runs per process (200)"),
        ("run-points", "(i) synchronous metric points per run (50)"),
        ("memory-points", "(j) buffered points (1,000,000)"),
        ("server-runs", "(k) runs logged, then searched, through each server (300)"),
        ("server-search-samples", "(k) timed searches per repetition (10)"),
        ("server-writers", "(k) parallel log_batch writer processes (4)"),
        ("server-batches", "(k) log_batch requests of 500 metrics per writer (50)"),
        ("server-history-points", "(k) history length read through each server (100,000)"),
    ]:
        sizes.add_argument(f"--{name}", type=int, help=help_text)
    return p.parse_args(argv)


def selected(only: list[str]) -> list[tuple[str, str, str]]:
    wanted = {w.strip().lower() for item in only for w in item.split(",") if w.strip()}
    if not wanted:
        return WORKLOADS
    unknown = wanted - {k for k, _, _ in WORKLOADS} - {m for _, m, _ in WORKLOADS}
    if unknown:
        raise SystemExit(f"unknown workload(s) {sorted(unknown)}; choose from a-l or their names")
    return [w for w in WORKLOADS if w[0] in wanted or w[1] in wanted]


def profile(key: str, plan: Plan, cfg: Config) -> None:
    """One extra, untimed pass of each Carnet variant under pyinstrument."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    try:
        for v in plan.variants:
            if not v.name.startswith("mlflow"):
                harness.PROFILE_PATH = cfg.out / f"profile-{key}-{v.name}.txt"
                v.run()
                print(f"    profile: {harness.PROFILE_PATH}")
    finally:
        harness.PROFILE_PATH = None


def main(argv: list[str] | None = None) -> int:
    ns = parse_args(sys.argv[1:] if argv is None else argv)
    overrides: dict[str, Any] = {
        k: v
        for k, v in vars(ns).items()
        if k not in ("quick", "only", "verbose", "profile", "docs")
    }
    cfg: Config = make_config(ns.quick, overrides)
    cfg.verbose, cfg.only, cfg.profile = ns.verbose, ns.only, ns.profile
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()

    info = report.machine()
    if cfg.mlflow:
        try:
            mlflow_env.ensure()
            info["mlflow"] = mlflow_env.version()
        except Exception as exc:  # no network, no wheel: still bench Carnet
            print(f"[bench] MLflow unavailable, continuing without it: {exc}")
            cfg.mlflow = False
    print("Carnet bench · " + report.describe(info), flush=True)
    print(f"repeat {cfg.repeat}{' · quick' if cfg.quick else ''} · results in {cfg.out}\n")

    rows: list[Row] = []
    samples: dict[str, Any] = {}
    notes: list[str] = []
    failures = 0
    walls: dict[str, float] = {}

    def log(msg: str) -> None:
        if cfg.verbose:
            print(msg, flush=True)

    for key, module_name, title in selected(cfg.only):
        t0 = time.monotonic()
        print(f"({key}) {title}", flush=True)
        try:
            module = importlib.import_module(f"bench.{module_name}")
            plan = module.plan(cfg)
            if plan.skip:
                print(f"    skipped: {plan.skip}")
                notes.append(f"({key}) skipped: {plan.skip}")
                continue
            if plan.prepare is not None:
                plan.prepare()
            got = interleave(plan.variants, plan.repeat or cfg.repeat, log)
            samples[key] = got
            new = plan.summarize(got)
            rows.extend(new)
            notes.extend(f"({key}) {n}" for n in plan.notes)
            for line in report.text_table(new).splitlines()[2:]:
                print("    " + line)
            for n in plan.notes:
                print(f"    note: {n}")
            if cfg.verbose:
                for d in plan.details:
                    print("    " + d.replace("\n", "\n    "))
            if cfg.profile:
                profile(key, plan, cfg)
        except Exception as exc:
            failures += 1
            print(f"    ERROR: {exc}")
            if cfg.verbose:
                traceback.print_exc()
            lines = [line for line in str(exc).splitlines() if line.strip()]
            notes.append(f"({key}) failed: {lines[-1].strip() if lines else repr(exc)}")
        walls[key] = round(time.monotonic() - t0, 1)
        print(f"    [{walls[key]} s]", flush=True)

    info["load_avg_end"] = list(os.getloadavg())
    info["wall_s"] = round(time.monotonic() - started, 1)
    info["workload_wall_s"] = walls
    print("\n" + report.describe(info))
    print(f"medians of {cfg.repeat} interleaved repetitions · total {info['wall_s']} s\n")
    print(report.text_table(rows))
    for n in notes:
        print(f"- {n}")
    json_path, md_path = report.write(cfg, info, rows, samples, notes, command)
    print(f"\nwrote {json_path} and {md_path}")
    if ns.docs is not None:
        report.update_docs(ns.docs, info, rows, notes, command, cfg.repeat)
        print(f"updated {ns.docs}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
