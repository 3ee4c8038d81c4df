"""(b) ``import carnet`` vs ``import mlflow``, each in a fresh interpreter.

Timed inside the child around the import statement alone (interpreter start
excluded, the same for both). The child also reports which heavy libraries
the import dragged in, since pandas and friends must load lazily.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench import mlflow_env
from bench.config import Config
from bench.harness import Plan, Row, Samples, Variant, median, worker_env

TARGET_S = 0.4
HEAVY = ["sqlalchemy", "sqlmodel", "pandas", "numpy", "sklearn", "altair", "streamlit", "pydantic"]
CODE = (
    "import time, sys, json\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "d = time.perf_counter() - t\n"
    "print(json.dumps({{'seconds': d, 'heavy': [m for m in {heavy!r} if m in sys.modules]}}))\n"
)


def child(python: str, module: str, cwd: str) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", CODE.format(module=module, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,  # a neutral folder: nothing of the repo on sys.path
        env=worker_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def plan(cfg: Config) -> Plan:
    cwd = str(cfg.tmp_dir())
    variants = [Variant("carnet", lambda: child(sys.executable, "carnet", cwd))]
    if cfg.mlflow:
        mlflow_python = str(mlflow_env.python())
        variants.append(Variant("mlflow", lambda: child(mlflow_python, "mlflow", cwd)))
    info: dict[str, list[str]] = {}

    def prepare() -> None:  # warm the OS file cache once, untimed
        for v in variants:
            info[v.name] = v.run()["heavy"]

    def summarize(s: Samples) -> list[Row]:
        heavy = ", ".join(info.get("carnet", [])) or "none of them"
        result.notes.append(f"heavy libraries loaded by `import carnet`: {heavy} (of {HEAVY})")
        return [
            Row(
                "b",
                "import time (fresh interpreter)",
                "s",
                median(s, "carnet", "seconds"),
                mlflow=median(s, "mlflow", "seconds"),
                target=TARGET_S,
                target_text="≤ 0.4 s",
            )
        ]

    n = max(cfg.repeat, 1) * cfg.import_samples
    result = Plan(variants, summarize, prepare=prepare, repeat=n)
    result.notes.append(f"median of {n} fresh interpreters each, import statement timed inside")
    return result
