"""Interleaved repetitions in fresh subprocesses, medians, and the rows of the result table."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.config import REPO

Sample = dict[str, Any]
Samples = dict[str, list[Sample]]

#: Every workload must be at least this many times faster than MLflow (the product's target).
MLFLOW_FACTOR = 25.0
#: When set (``--profile``), Carnet workers run under pyinstrument and write their call tree here.
PROFILE_PATH: Path | None = None


class WorkerError(RuntimeError):
    """A measurement subprocess failed; its stderr tail is in the message."""


@dataclass
class Variant:
    """One thing measured per repetition (Carnet, a baseline, or MLflow)."""

    name: str
    run: Callable[[], Sample]
    repeat: int | None = None  # fewer repetitions for slow, informative-only variants


@dataclass
class Row:
    """One line of the table; ``higher`` says whether a bigger figure is better."""

    key: str
    name: str
    unit: str
    carnet: float | None
    higher: bool = False
    baseline: float | None = None
    baseline_name: str = ""
    mlflow: float | None = None
    mlflow_note: str = ""
    target: float | None = None
    target_text: str = ""
    baseline_target: float | None = None  # minimum carnet/baseline throughput ratio
    mlflow_target: float | None = MLFLOW_FACTOR
    note: str = ""
    samples: list[float] = field(default_factory=list)

    def vs_mlflow(self) -> float | None:
        """How many times better than MLflow (> 1 means Carnet wins)."""
        if self.carnet is None or self.mlflow is None:
            return None
        if self.higher:
            return self.carnet / self.mlflow if self.mlflow > 0 else math.inf
        return self.mlflow / self.carnet if self.carnet > 0 else math.inf

    def vs_baseline(self) -> float | None:
        """Carnet relative to its baseline: throughput share, or time multiple."""
        if self.carnet is None or self.baseline is None or self.baseline == 0:
            return None
        return self.carnet / self.baseline

    def target_pass(self) -> bool | None:
        if self.carnet is None:
            return None
        verdicts = []
        if self.target is not None:
            verdicts.append(
                self.carnet >= self.target if self.higher else self.carnet <= self.target
            )
        ratio = self.vs_baseline()
        if self.baseline_target is not None and ratio is not None:
            verdicts.append(ratio >= self.baseline_target)
        return all(verdicts) if verdicts else None

    def mlflow_pass(self) -> bool | None:
        ratio = self.vs_mlflow()
        if ratio is None or self.mlflow_target is None:
            return None
        return ratio >= self.mlflow_target

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["vs_mlflow"] = self.vs_mlflow()
        data["vs_baseline"] = self.vs_baseline()
        data["target_pass"] = self.target_pass()
        data["mlflow_pass"] = self.mlflow_pass()
        return data


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"
    env.pop("CARNET_TRACKING_URI", None)
    env.pop("CARNET_ASYNC_LOGGING", None)
    return env


def run_worker(module: str, variant: str, args: dict[str, Any], *, timeout: float = 900) -> Sample:
    """Measure ``bench.<module>.measure(variant, args)`` in a fresh interpreter."""
    env = worker_env()
    if PROFILE_PATH is not None:
        env["CARNET_BENCH_PROFILE"] = str(PROFILE_PATH)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", module, variant, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    if proc.returncode != 0:
        raise WorkerError(f"{module}/{variant} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise WorkerError(f"{module}/{variant} printed nothing:\n{proc.stderr[-4000:]}")
    return dict(json.loads(lines[-1]))


def interleave(
    variants: Sequence[Variant], repeat: int, log: Callable[[str], None] = print
) -> Samples:
    """Run every variant ``repeat`` times, rotating their order each round.

    Rotation spreads slow drifts of the machine (other jobs, thermal state)
    evenly over the variants instead of charging them to whoever runs last.
    """
    samples: Samples = {v.name: [] for v in variants}
    n = len(variants)
    for rep in range(repeat):
        order = [variants[(rep + i) % n] for i in range(n)] if n else []
        for v in order:
            if v.repeat is not None and rep >= v.repeat:
                continue
            log(f"    rep {rep + 1}/{repeat} {v.name} ...")
            samples[v.name].append(v.run())
    return samples


def values(samples: Samples, variant: str, key: str) -> list[float]:
    return [float(s[key]) for s in samples.get(variant, []) if s.get(key) is not None]


def median(samples: Samples, variant: str, key: str) -> float | None:
    found = values(samples, variant, key)
    return statistics.median(found) if found else None


def median_of(xs: Sequence[float]) -> float | None:
    return statistics.median(xs) if xs else None


@dataclass
class Plan:
    """What a workload module hands the runner: prepare, variants, and how to summarise."""

    variants: list[Variant]
    summarize: Callable[[Samples], list[Row]]
    prepare: Callable[[], None] | None = None
    repeat: int | None = None  # overrides --repeat (e.g. import: several interpreters each)
    skip: str | None = None  # a reason to skip, printed instead of failing
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # verbose output (query plans ...)


def rate(samples: Samples, variant: str, count: str, seconds: str) -> float | None:
    """Median over repetitions of ``count / seconds`` (a rate per repetition, then the median)."""
    found = [
        float(s[count]) / float(s[seconds])
        for s in samples.get(variant, [])
        if s.get(seconds) and s.get(count) is not None
    ]
    return statistics.median(found) if found else None
