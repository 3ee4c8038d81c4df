"""The result table: console text, Markdown and JSON, plus what machine produced it."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.config import REPO, Config
from bench.harness import Row

HEADER = [
    "#",
    "workload",
    "Carnet",
    "baseline",
    "Carnet/baseline",
    "MLflow",
    "vs MLflow",
    "target",
    "target met",
    "≥25× MLflow",
]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "∞"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit in ("ms", "s") and abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    if unit in ("ms", "s"):
        digits = 3 if abs(value) < 1 else 2 if abs(value) < 10 else 1
        return f"{value:.{digits}f} {unit}"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:,.3g} {unit}".strip()


def fmt_ratio(ratio: float | None, *, share: bool) -> str:
    if ratio is None:
        return "–"
    if math.isinf(ratio):
        return "∞"
    if share:
        return f"{ratio * 100:.0f}%"
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def verdict(flag: bool | None) -> str:
    return "–" if flag is None else ("PASS" if flag else "FAIL")


def cells(row: Row) -> list[str]:
    baseline = fmt(row.baseline, row.unit)
    if row.baseline is not None and row.baseline_name:
        baseline += f" ({row.baseline_name})"
    mlflow = fmt(row.mlflow, row.unit)
    if row.mlflow is not None and row.mlflow_note:
        mlflow += f" ({row.mlflow_note})"
    return [
        row.key,
        row.name,
        fmt(row.carnet, row.unit),
        baseline,
        fmt_ratio(row.vs_baseline(), share=row.higher),
        mlflow,
        fmt_ratio(row.vs_mlflow(), share=False),
        row.target_text or "–",
        verdict(row.target_pass()),
        verdict(row.mlflow_pass()),
    ]


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(row)) + " |")
    return "\n".join(lines)


def text_table(rows: list[Row]) -> str:
    table = [HEADER, *[cells(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    out = []
    for n, r in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, Python, SQLite, library versions, load."""
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": ver("sqlalchemy"),
        "carnet": ver("carnet"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "load_avg_start": list(os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def describe(info: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.1f}" for x in info.get("load_avg_start", []))
    load_end = ", ".join(f"{x:.1f}" for x in info.get("load_avg_end", []))
    return (
        f"{info['date']} · {info['cores']} cores ({info['cpu']}) · Python {info['python']} · "
        f"SQLite {info['sqlite']} · SQLAlchemy {info['sqlalchemy']} · "
        f"MLflow {info.get('mlflow', 'not run')} · commit {info['commit']}"
        f"{' (dirty)' if info['dirty'] else ''} · load average {load} at start"
        + (f", {load_end} at end" if load_end else "")
    )


DOCS_BEGIN = "<!-- bench:results:begin (written by python -m bench --docs) -->"
DOCS_END = "<!-- bench:results:end -->"


def machine_lines(info: dict[str, Any]) -> list[str]:
    load = ", ".join(f"{x:.1f}" for x in info.get("load_avg_start", []))
    load_end = ", ".join(f"{x:.1f}" for x in info.get("load_avg_end", []))
    return [
        f"- Date: {info['date']}; wall time of the whole run {info.get('wall_s', '?')} s",
        f"- Machine: {info['cores']} cores ({info['cpu']}), {info['platform']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, "
        f"MLflow {info.get('mlflow', 'not run')} (its own venv, SQLite store)",
        f"- Carnet commit {info['commit']}{' (uncommitted changes)' if info['dirty'] else ''}",
        f"- Load average (1, 5, 15 min) {load} at start, {load_end} at end "
        f"(other jobs on the machine inflate every figure)",
    ]


def update_docs(
    path: Path, info: dict[str, Any], rows: list[Row], notes: list[str], command: str, repeat: int
) -> None:
    """Replace the generated block of ``path`` (docs/performance.md), keeping the prose."""
    block = "\n".join(
        [
            DOCS_BEGIN,
            *machine_lines(info),
            f"- Command: `{command}` (medians of {repeat} interleaved repetitions)",
            "",
            markdown(rows),
            "",
            *[f"- {n}" for n in notes],
            DOCS_END,
        ]
    )
    text = path.read_text() if path.exists() else ""
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        text = head + block + rest.split(DOCS_END, 1)[1]
    else:
        text = (text or "# Performance\n") + "\n## Latest results\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write(
    cfg: Config,
    info: dict[str, Any],
    rows: list[Row],
    samples: dict[str, Any],
    notes: list[str],
    command: str,
) -> tuple[Path, Path]:
    """``latest.{json,md}`` plus a timestamped copy of each in ``cfg.out``."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    data = {
        "machine": info,
        "command": command,
        "config": config,
        "rows": [r.as_dict() for r in rows],
        "samples": samples,
        "notes": notes,
    }
    text = json.dumps(data, indent=2, default=str)
    md = "\n".join(
        [
            "# Carnet benchmark results",
            "",
            describe(info),
            "",
            f"Command: `{command}` — medians of {cfg.repeat} interleaved repetitions.",
            "",
            markdown(rows),
            "",
            *[f"- {n}" for n in notes],
            "",
        ]
    )
    for name in (f"results-{stamp}", "latest"):
        (cfg.out / f"{name}.json").write_text(text)
        (cfg.out / f"{name}.md").write_text(md)
    return cfg.out / "latest.json", cfg.out / "latest.md"
