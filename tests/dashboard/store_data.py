"""A small store written through the SDK, shared by the AppTest and browser tests.

A 4 x 3 grid of the tutorial's params (alpha x l1_ratio) with a known best run
(alpha 0.01, l1_ratio 1.0, MSE 3000), loss curves, a run whose name is an HTML
script tag, a nested child, a failed run, artifacts of every previewed kind, and
an older second experiment.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import carnet

EXPERIMENT = "diabetes-elasticnet"
OTHER = "older-experiment"
SCRIPT_NAME = "<script>alert(1)</script>"
ALPHAS = (0.001, 0.01, 0.1, 1.0)
L1_RATIOS = (0.0, 0.5, 1.0)
STEPS = 20


@dataclass(frozen=True)
class StoreInfo:
    uri: str
    experiment_id: str
    other_id: str
    best_run_id: str
    script_run_id: str
    child_run_id: str
    failed_run_id: str
    runs: int  # active runs in EXPERIMENT


def mse(alpha: float, l1_ratio: float) -> float:
    return 3000 + 1000 * abs(math.log10(alpha) + 2) + 100 * (1 - l1_ratio)


def tiny_png() -> bytes:
    """A valid 2x2 red PNG, built by hand (no imaging library needed)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def write_store(uri: str, scratch: Path) -> StoreInfo:
    """Log the runs with the fluent API (what users do) and return the ids tests need."""
    carnet.set_tracking_uri(uri)
    other_id = carnet.set_experiment(OTHER).experiment_id
    with carnet.start_run(run_name="other-run"):
        carnet.log_metric("accuracy", 0.9)
    experiment_id = carnet.set_experiment(EXPERIMENT).experiment_id
    best = ""
    for alpha in ALPHAS:
        for l1_ratio in L1_RATIOS:
            with carnet.start_run(run_name=f"a{alpha}-l{l1_ratio}") as run:
                value = mse(alpha, l1_ratio)
                carnet.log_params({"alpha": alpha, "l1_ratio": l1_ratio, "solver": "cd"})
                carnet.log_metrics({"MSE": value, "r2": 1 - value / 6000})
                carnet.set_tag("team", "med" if l1_ratio else "base")
                for step in range(STEPS):
                    carnet.log_metric("loss", value / 1000 * math.exp(-step / 5), step=step)
                if (alpha, l1_ratio) == (0.01, 1.0):
                    best = run.info.run_id
    scratch.mkdir(parents=True, exist_ok=True)
    table = scratch / "predictions.csv"
    table.write_text("y,prediction\n1,1.5\n2,2.5\n", encoding="utf-8")
    image = scratch / "plot.png"
    image.write_bytes(tiny_png())
    page = scratch / "report.html"
    page.write_text("<script>alert('artifact')</script>", encoding="utf-8")
    with carnet.start_run(run_name=SCRIPT_NAME) as run:
        script = run.info.run_id
        carnet.log_params({"alpha": 0.5, "l1_ratio": 0.5, "solver": "<b>bold</b>"})
        carnet.log_metric("MSE", 5000.0)
        carnet.set_tag("mlflow.note.content", "**not bold** <i>not italic</i>")
        carnet.log_text("plain text artifact\n", "notes.txt")
        carnet.log_dict({"alpha": 0.5, "layers": [1, 2]}, "config.json")
        carnet.log_artifact(str(table))
        carnet.log_artifact(str(image), "figures")
        carnet.log_artifact(str(page))
        with carnet.start_run(run_name="child", nested=True) as kid:
            child = kid.info.run_id
            carnet.log_metric("MSE", 4500.0)
    failed = ""
    try:
        with carnet.start_run(run_name="broken") as run:
            failed = run.info.run_id
            carnet.log_param("alpha", 2.0)
            raise ValueError("boom")
    except ValueError:
        pass
    carnet.set_tracking_uri(None)
    runs = len(ALPHAS) * len(L1_RATIOS) + 3
    return StoreInfo(uri, experiment_id, other_id, best, script, child, failed, runs)
