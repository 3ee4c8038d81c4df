"""Small projects written into a test's folder, and reading back the run they made."""

from __future__ import annotations

import textwrap
from pathlib import Path

import carnet

#: A project script that logs through Carnet's own API: its argv, and a metric.
ECHO_SCRIPT = """
import json, sys
import carnet

with carnet.start_run() as run:
    carnet.log_metric("argc", len(sys.argv) - 1)
    carnet.set_tag("child.run_id", run.info.run_id)
    with open("argv.json", "w") as out:
        json.dump(sys.argv[1:], out)
"""


def write_project(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> text, dedented) into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def only_run(uri: str) -> carnet.Run:
    """The one run of the store at ``uri``, in any experiment."""
    client = carnet.Client(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments)
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]
