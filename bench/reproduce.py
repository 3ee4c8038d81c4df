"""(o) Reproducibility: what recording a run's environment adds to a run start, and the
wall time of ``carnet reproduce`` for the tutorial's script with a warm package cache.

Capture: one process starts and ends the same kind of run with ``CARNET_CAPTURE`` on
and off in alternation (same process, same store, interleaved), and the difference of
the medians is the overhead per run start; the first run start with capture (the
once-per-process work: reading every distribution's metadata, the git diff when the
tree is dirty) is reported apart. Reproduce: the tutorial (``bench/tutorial.py``)
as a one-run script (``python train.py ALPHA L1_RATIO``, MLflow's tutorial form, at the
sweep's best point) is committed to a new git repository and run once with capture on;
the timed part is ``carnet reproduce <run> --env new`` as a user types it (a fresh environment, the
recorded packages from uv's cache, the command run again, metrics compared), after one
untimed reproduction that warms the cache.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.config import REPO, Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

CAPTURE_TARGET_MS = 20.0
REPRODUCE_TARGET_S = 30.0

#: The tutorial's training script, one run per invocation (``python train.py ALPHA L1_RATIO``),
#: as in MLflow's tutorial; run at the sweep's best point.
TRAIN = """\
import sys
import carnet
import tutorial

alpha, l1_ratio = float(sys.argv[1]), float(sys.argv[2])
carnet.set_experiment(tutorial.EXPERIMENT)
with carnet.start_run(run_name="Elastic_net"):
    mse, r2 = tutorial.fit(tutorial.load(), alpha, l1_ratio)
    carnet.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
    carnet.log_metrics({"MSE": mse, "R2": r2})
"""
BEST = ("0.0204336", "1.0")


def plan(cfg: Config) -> Plan:
    runs = 50 if cfg.quick else 300
    args: dict[str, Any] = {"runs": runs, "tmp": str(cfg.tmp_dir())}
    variants = [
        Variant("capture", lambda: run_worker("reproduce", "capture", args)),
        Variant("reproduce", lambda: run_worker("reproduce", "reproduce", args, timeout=1800)),
    ]

    def summarize(s: Samples) -> list[Row]:
        return [
            Row(
                "o",
                f"capture overhead per run start (median of {runs} on vs {runs} off)",
                "ms",
                median(s, "capture", "overhead_ms"),
                baseline=median(s, "capture", "off_ms"),
                baseline_name="run start without capture",
                target=CAPTURE_TARGET_MS,
                target_text="≤ 20 ms",
                mlflow_target=None,
            ),
            Row(
                "o",
                "first run start of a process: capture's once-per-process work",
                "ms",
                median(s, "capture", "cold_ms"),
                mlflow_target=None,
            ),
            Row(
                "o",
                "carnet reproduce of the tutorial script, new env, warm cache",
                "s",
                median(s, "reproduce", "seconds"),
                target=REPRODUCE_TARGET_S,
                target_text="≤ 30 s",
                mlflow_target=None,
                note=f"environment build alone: {_fmt(median(s, 'reproduce', 'env_seconds'))} s",
            ),
        ]

    return Plan(variants, summarize)


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    if variant == "capture":
        return _capture(args)
    return _reproduce(args)


def _capture(args: dict[str, Any]) -> dict[str, Any]:
    import carnet
    from carnet import capture

    clock = time.perf_counter
    with tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp:
        carnet.set_tracking_uri(f"sqlite:///{tmp}/carnet.db")
        os.environ["CARNET_CAPTURE"] = "off"
        with carnet.start_run():  # the store, the experiment and sysinfo exist before timing
            pass
        os.environ["CARNET_CAPTURE"] = "on"
        t = clock()
        capture.at_run_start()  # the once-per-process part (and one record), measured alone
        cold = clock() - t
        on: list[float] = []
        off: list[float] = []
        for i in range(2 * args["runs"]):
            os.environ["CARNET_CAPTURE"] = "on" if i % 2 else "off"
            t = clock()
            with carnet.start_run():
                pass
            (on if i % 2 else off).append(clock() - t)
        runs = carnet.search_runs(filter_string="tags.`mlflow.carnet.entry_point` IS NOT NULL")
        if len(runs) != args["runs"]:
            raise RuntimeError(f"{len(runs)} runs recorded their environment, not {args['runs']}")
    on_ms, off_ms = statistics.median(on) * 1e3, statistics.median(off) * 1e3
    return {"overhead_ms": on_ms - off_ms, "on_ms": on_ms, "off_ms": off_ms, "cold_ms": cold * 1e3}


def _reproduce(args: dict[str, Any]) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(dir=args["tmp"]))
    try:
        repo = work / "repo"
        repo.mkdir()
        shutil.copy2(REPO / "bench" / "tutorial.py", repo / "tutorial.py")
        (repo / "train.py").write_text(TRAIN)
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org"]
        for step in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "tutorial"]):
            subprocess.run([*git, *step], cwd=repo, check=True, capture_output=True)
        env = dict(os.environ, CARNET_TRACKING_URI=f"sqlite:///{work}/carnet.db")
        env["CARNET_CAPTURE"] = "on"
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "sdk"), str(REPO)])
        t = time.perf_counter()
        subprocess.run([sys.executable, "train.py", *BEST], cwd=repo, env=env, check=True)
        script = time.perf_counter() - t
        best = _best(env)
        command = [sys.executable, "-m", "carnet.cli", "reproduce", best, "--env", "new"]
        warm = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        if warm.returncode != 0:
            raise RuntimeError(f"carnet reproduce failed:\n{warm.stderr[-2000:]}")
        t = time.perf_counter()
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t
        if done.returncode != 0 or "MSE" not in done.stdout:
            raise RuntimeError(f"carnet reproduce failed:\n{done.stderr[-2000:]}")
        if "differs" in done.stdout:
            raise RuntimeError(f"the reproduction's metrics differ:\n{done.stdout[-2000:]}")
        return {"seconds": seconds, "script_seconds": script, "env_seconds": _env_seconds(env)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _best(env: dict[str, str]) -> str:
    code = (
        "import carnet, tutorial; r = carnet.search_runs(experiment_names=[tutorial.EXPERIMENT], "
        "order_by=['metrics.MSE ASC'], max_results=1); print(r.iloc[0]['run_id'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO / "bench", capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def _env_seconds(env: dict[str, str]) -> float:
    """A fresh environment with this interpreter's pins alone, from the warm cache."""
    code = (
        "import sys, tempfile, time, pathlib\n"
        "from carnet.capture import distributions\n"
        "from carnet.environments import build_environment\n"
        "pins = [f\"{d['name']}=={d['version']}\" for d in distributions() "
        "if d['source'] == 'index']\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        "    t = time.perf_counter()\n"
        "    build_environment(pathlib.Path(tmp) / 'env', requirements=pins, no_deps=True)\n"
        "    print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])
