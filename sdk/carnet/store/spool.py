"""Spool files: buffered points the store would not take, kept on disk to be replayed.

When the buffered writer gives up on a batch (the run was deleted
meanwhile, the store refused it for longer than the retry window, or the
process is ending while the store still refuses it), the batch is appended to
a JSON-lines file instead of being dropped. Each line is one batch::

    {"store": "sqlite:////data/carnet.db", "run_id": "…", "reason": "…",
     "metrics": [["loss", 0.25, 1733120000000, 7], …]}

(key, value, timestamp in ms, step), written with Python's ``json``, which
keeps NaN and ±inf as ``NaN`` and ``Infinity``. ``carnet replay FILE`` writes
the points back. A password in the store URI is never written.

The file goes to ``$CARNET_SPOOL_DIR`` when set, else next to a SQLite store,
else to the working directory; when that folder cannot be written (a full
disk), to the system's temporary folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carnet.errors import InvalidInputError
from carnet.settings import SPOOL_DIR
from carnet.store.engine import sqlite_path

SPOOL_ENV = SPOOL_DIR.name

Point = tuple[str, float, int, int]  # key, value, timestamp ms, step


@dataclass(frozen=True)
class SpooledBatch:
    """One line of a spool file: points of one run, and why they were not written."""

    line: int
    store: str | None
    run_id: str
    reason: str
    metrics: list[Point]


def public_uri(uri: str) -> str:
    """The store URI without its password, with a SQLite path made absolute."""
    path = sqlite_path(uri)
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:  # an unparsable URI would not have opened a store; say nothing of it
        return ""


def _folders(uri: str) -> list[Path]:
    configured = SPOOL_DIR.get_or_default()  # the writer thread spools too: never raise here
    path = sqlite_path(uri)
    first = configured or (path.parent if path is not None else Path())
    return [first, Path(tempfile.gettempdir())]


def spool(uri: str, run_id: str, points: Sequence[Point], reason: str, *, name: str) -> Path:
    """Append one batch to the spool file ``name`` and return where it went.

    Tried in the configured (or the store's) folder first, then in the temporary
    folder; the data is fsynced before this returns. Raises ``OSError`` only when
    no folder takes it.
    """
    line = json.dumps(
        {
            "store": public_uri(uri),
            "run_id": run_id,
            "reason": reason,
            "metrics": [list(p) for p in points],
        }
    )
    error: OSError | None = None
    for folder in _folders(uri):
        target = folder.expanduser().resolve() / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as out:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
            return target
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


def spool_name() -> str:
    """A file name of its own for this process: the time it first spooled, and its pid."""
    return f"carnet-unwritten-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl"


def _point(raw: Any) -> Point:
    if not (isinstance(raw, list) and len(raw) == 4):
        raise ValueError("a metric is [key, value, timestamp, step]")
    key, value, ts, step = raw
    if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("a metric key is text and its value a number")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (ts, step)):
        raise ValueError("a metric's timestamp and step are integers")
    return (key, float(value), ts, step)


def read_spool(path: Path) -> Iterator[SpooledBatch]:
    """Every batch of a spool file, checked line by line.

    Raises :class:`InvalidInputError` naming the line when the file is not a
    spool file (so nothing is replayed from a file that was mangled).
    """
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
                run_id = raw["run_id"]
                if not isinstance(run_id, str):
                    raise ValueError("run_id is not text")
                metrics = [_point(m) for m in raw["metrics"]]
                store = raw.get("store") or None
                reason = str(raw.get("reason", ""))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInputError(
                    f"{path} line {number} is not a Carnet spool line ({exc}); replay only the "
                    "carnet-unwritten-*.jsonl files Carnet wrote, unedited."
                ) from None
            yield SpooledBatch(number, store, run_id, reason, metrics)


def rewrite_spool(path: Path, keep: Sequence[int]) -> None:
    """Keep only the lines numbered ``keep`` (1-based); remove the file when none are left."""
    if not keep:
        path.unlink()
        return
    wanted = set(keep)
    with open(path, encoding="utf-8") as lines:
        kept = [text for number, text in enumerate(lines, start=1) if number in wanted]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.writelines(kept)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
