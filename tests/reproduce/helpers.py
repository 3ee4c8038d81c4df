"""Real git repositories and real training scripts in a test's folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import carnet
from carnet import capture
from carnet.entities import EnvironmentRecord
from carnet.record_digest import record_digest
from carnet.reproduce_plan import recorded_environment

ROOT = Path(__file__).resolve().parents[2]

#: A training script: a seeded computation whose metric depends on its argument and on
#: a tracked data module, so a patch or a wrong argument shows in the metric.
TRAIN = """\
import sys
import carnet
import numpy as np
from helper import SCALE

alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
rng = np.random.default_rng(7)
with carnet.start_run():
    carnet.log_param("alpha", alpha)
    carnet.log_metric("loss", float(rng.normal(size=1000).std() * alpha * SCALE))
    carnet.log_metric("steps", 3.0)
"""


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; its output, stripped."""
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def make_repo(repo: Path, files: dict[str, str]) -> str:
    """A git repository holding ``files``, committed; returns the commit."""
    repo.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return git(repo, "rev-parse", "HEAD")


def child_env(uri: str, **extra: str) -> dict[str, str]:
    """The environment of a training process: this checkout's carnet, capture on."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "sdk"), str(ROOT)])
    env["CARNET_TRACKING_URI"] = uri
    env["CARNET_CAPTURE"] = "on"
    env.update(extra)
    return env


def run_python(cwd: Path, args: list[str], uri: str, **extra: str) -> str:
    """Run ``python ARGS`` in ``cwd`` against the store ``uri``; its output."""
    out = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=child_env(uri, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def last_runs(uri: str, count: int = 1) -> list[carnet.entities.Run]:
    """The store's newest runs, newest first."""
    client = carnet.Client(uri)
    found = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        order_by=["attributes.start_time DESC"],
        max_results=count,
    )
    return list(found)


def environment(uri: str, run_id: str) -> dict[str, Any]:
    """A run's recorded environment, as ``carnet reproduce`` reads it."""
    client = carnet.Client(uri)
    return recorded_environment(client, client.get_run(run_id))[0]


def recorded_patch(uri: str, run_id: str) -> bytes | None:
    """A run's recorded uncommitted patch."""
    client = carnet.Client(uri)
    return recorded_environment(client, client.get_run(run_id))[1]


def rewrite_environment(
    uri: str, run_id: str, change: Callable[[dict[str, Any]], object], patch: bytes | None = None
) -> None:
    """Give a run another environment record: its own, changed by ``change`` (and with
    ``patch`` when given), kept under its new digest, the run's tag pointing at it."""
    client = carnet.Client(uri)
    run = client.get_run(run_id)
    record, old_patch = recorded_environment(client, run)
    record.pop("run_index")
    change(record)
    data = json.dumps(record).encode()
    new_patch = old_patch if patch is None else patch
    digest = record_digest(data, new_patch)
    client.store.put_environment_record(EnvironmentRecord(digest, data, new_patch))
    # an ended run takes no tags through the API: the test edits its store, as a user could
    assert uri.startswith("sqlite:///")
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as db:
        db.execute(
            'UPDATE tags SET value = ? WHERE "key" = ? AND run_id = '
            "(SELECT id FROM runs WHERE run_uuid = ?)",
            (digest, capture.ENVIRONMENT_TAG, run_id),
        )
    db.close()
