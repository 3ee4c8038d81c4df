"""The physical limit: Python's ``sqlite3`` writing an equivalent metrics table by hand.

Same columns and the same (run_id, key, step) index as Carnet's ``metrics``
table, the same pragmas Carnet sets (WAL, ``synchronous=NORMAL``, 32 MB page
cache), and one ``BEGIN IMMEDIATE ... COMMIT`` per call, as Carnet does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    value REAL,
    is_nan INTEGER NOT NULL
);
CREATE INDEX ix_metrics_run_key_step ON metrics (run_id, key, step);
"""
INSERT = (
    "INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)"
)


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA temp_store = MEMORY")
    if create:
        conn.executescript(SCHEMA)
    return conn


def stored_points(conn: sqlite3.Connection, where: str = "", args: tuple[object, ...] = ()) -> int:
    """Points on disk: rows of ``metrics`` plus, in a Carnet store, its packed chunks."""
    found = int(conn.execute(f"SELECT count(*) FROM metrics {where}", args).fetchone()[0])
    has_chunks = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'metric_chunks'"
    ).fetchone()
    if has_chunks:
        sql = f"SELECT coalesce(sum(n), 0) FROM metric_chunks {where}"
        found += int(conn.execute(sql, args).fetchone()[0])
    return found
