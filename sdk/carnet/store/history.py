"""Metric histories: packed chunks plus a short tail of rows.

One row per point makes every read pay sqlite3 a Python tuple per row: a
100,000-point history took 0.075 s just to leave the driver. So a history is
kept as *chunks* (rows of ``metric_chunks``, each holding up to
``CHUNK_POINTS`` points as three packed little-endian arrays: steps int64,
timestamps int64, values float64, NaN and infinities bit-exact) and a *tail*
of fewer than ``TAIL_POINTS`` recent points as plain rows of ``metrics``, so a
single synchronous ``log_metric`` stays one small insert.

A write packs a key's tail and its own points into a new chunk when it
brings ``BATCH_POINTS`` points or more of that key (rows would cost more
than the blob), or when it takes the key's summary count past a multiple of
``TAIL_POINTS``. So the tail never holds ``TAIL_POINTS`` points, and no
counter beyond the summary's is needed. The summary upsert runs first and
locks the (run, key) row on PostgreSQL, so one writer at a time packs a key;
SQLite serializes writers.

Order is (step, timestamp, value) with NaN first, the order ``get_metric_history``
returns. Each chunk is stored sorted; a read concatenates the chunks in
``seq`` order and the tail, and sorts only when segments overlap (points
logged out of step order across chunks).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from itertools import islice
from operator import eq
from typing import Any

from carnet.errors import StoreError
from carnet.store.sql_helpers import NAN, Cursor, Sql, placeholders

#: Fewer points than this stay rows; crossing a multiple of it packs them.
TAIL_POINTS = 1024
#: A write bringing this many points of one key packs them at once.
BATCH_POINTS = 64
#: A chunk holds at most this many points (1.5 MB).
CHUNK_POINTS = 65_536

_SWAP = sys.byteorder == "big"  # chunks are little-endian on every machine

#: A history as columns: steps, timestamps, values, in history order.
Columns = tuple["array[int]", "array[int]", "array[float]"]
#: (step, timestamp, value): one point, as packing sees it.
Point = tuple[int, int, float]

_CHUNKS_OF = "SELECT n, data FROM metric_chunks WHERE run_id = ? AND key = ? ORDER BY seq"
_TAIL_OF = (
    "SELECT step, timestamp, value FROM metrics WHERE run_id = ? AND key = ? "
    "ORDER BY step, timestamp, is_nan DESC, value"
)


def _order(point: Point) -> tuple[int, int, bool, float]:
    value = point[2]
    return (point[0], point[1], value == value, value if value == value else 0.0)


def sort_points(points: list[Point]) -> list[Point]:
    """The points in history order; cheap when steps already strictly increase."""
    steps = [p[0] for p in points]
    if steps == sorted(steps) and not any(map(eq, steps, islice(steps, 1, None))):
        return points
    return sorted(points, key=_order)


def pack(points: Sequence[Point]) -> bytes:
    """Sorted points as one chunk's bytes: all steps, then timestamps, then values."""
    parts = (
        array("q", [p[0] for p in points]),
        array("q", [p[1] for p in points]),
        array("d", [p[2] for p in points]),
    )
    if _SWAP:
        for part in parts:
            part.byteswap()
    return b"".join(part.tobytes() for part in parts)


def _empty() -> Columns:
    return array("q"), array("q"), array("d")


def _extend(columns: Columns, n: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    size = 8 * n
    if len(view) != 3 * size:
        raise StoreError(
            f"a packed metric history of {n} points has {len(view)} bytes, not {3 * size}: "
            "the store is damaged; run 'carnet db check' and restore a backup."
        )
    parts = (view[:size], view[size : 2 * size], view[2 * size :])
    targets: list[Any] = list(columns)  # mixed typecodes: mypy cannot follow the zip
    for column, part in zip(targets, parts, strict=True):
        if _SWAP:
            piece = array(column.typecode, part.tobytes())
            piece.byteswap()
            column.extend(piece)
        else:
            column.frombytes(part)


def assemble(chunks: Sequence[Sequence[Any]], tail: Sequence[Sequence[Any]]) -> Columns:
    """Chunks ``(n, data)`` in seq order, then tail rows ``(step, timestamp, value)``."""
    columns = _empty()
    starts = []
    for n, data in chunks:
        starts.append(len(columns[0]))
        _extend(columns, int(n), data)
    steps, stamps, values = columns
    if tail:
        starts.append(len(steps))
        for step, stamp, value in tail:
            steps.append(step)
            stamps.append(stamp)
            values.append(NAN if value is None else value)
    for i in starts[1:]:
        if _order((steps[i - 1], stamps[i - 1], values[i - 1])) > _order(
            (steps[i], stamps[i], values[i])
        ):
            if steps[i - 1] != steps[i] or stamps[i - 1] != stamps[i]:
                return _sorted(columns)  # logged out of step (or time) order
            _sort_tie(columns, i)  # points of one step and millisecond, across chunks
    return columns


def _value_order(value: float) -> tuple[bool, float]:
    return (value == value, value if value == value else 0.0)


def _sort_tie(columns: Columns, i: int) -> None:
    """Order by value the points around ``i`` that share its step and timestamp.

    Logging without a step (step 0) faster than a point per millisecond
    makes such ties at chunk boundaries common; only they need sorting.
    """
    steps, stamps, values = columns
    step, stamp = steps[i], stamps[i]
    lo, hi = i - 1, i + 1
    while lo > 0 and steps[lo - 1] == step and stamps[lo - 1] == stamp:
        lo -= 1
    while hi < len(steps) and steps[hi] == step and stamps[hi] == stamp:
        hi += 1
    values[lo:hi] = array("d", sorted(values[lo:hi], key=_value_order))


def _sorted(columns: Columns) -> Columns:
    """A full sort, in numpy: only histories logged out of step order need it."""
    import numpy as np

    steps = np.frombuffer(columns[0], dtype=np.int64)
    stamps = np.frombuffer(columns[1], dtype=np.int64)
    values = np.frombuffer(columns[2], dtype=np.float64)
    nan = np.isnan(values)
    order = np.lexsort((np.where(nan, 0.0, values), ~nan, stamps, steps))  # last key first
    out = _empty()
    targets: list[Any] = list(out)
    for column, source in zip(targets, (steps, stamps, values), strict=True):
        column.frombytes(source[order].tobytes())
    return out


def read(cur: Cursor, sql: Sql, run_pk: int, key: str) -> Columns:
    """One key's whole history, in history order."""
    cur.execute(sql(_CHUNKS_OF), (run_pk, key))
    chunks = cur.fetchall()
    cur.execute(sql(_TAIL_OF), (run_pk, key))
    return assemble(chunks, cur.fetchall())


def read_many(
    cur: Cursor, sql: Sql, run_pks: Sequence[int], keys: Sequence[str] | None
) -> dict[tuple[int, str], Columns]:
    """Every history of these runs (optionally only these keys), by (run, key)."""
    where = f"run_id IN ({placeholders(len(run_pks))})"
    args: list[Any] = list(run_pks)
    if keys is not None:
        where += f" AND key IN ({placeholders(len(keys))})"
        args.extend(keys)
    chunks: dict[tuple[int, str], list[Any]] = {}
    tails: dict[tuple[int, str], list[Any]] = {}
    cur.execute(
        sql(f"SELECT run_id, key, n, data FROM metric_chunks WHERE {where} ORDER BY run_id, seq"),
        args,
    )
    for run_pk, key, n, data in cur.fetchall():
        chunks.setdefault((run_pk, key), []).append((n, data))
    cur.execute(
        sql(
            f"SELECT run_id, key, step, timestamp, value FROM metrics WHERE {where} "
            "ORDER BY run_id, step, timestamp, is_nan DESC, value"
        ),
        args,
    )
    for run_pk, key, step, stamp, value in cur.fetchall():
        tails.setdefault((run_pk, key), []).append((step, stamp, value))
    return {
        pair: assemble(chunks.get(pair, ()), tails.get(pair, ()))
        for pair in sorted(chunks.keys() | tails.keys())
    }


def crossings(counts: dict[str, tuple[int, int]]) -> list[str]:
    """Keys whose count went past a multiple of TAIL_POINTS: (count before, after)."""
    return sorted(
        key
        for key, (before, after) in counts.items()
        if after // TAIL_POINTS > before // TAIL_POINTS
    )


def pack_key(cur: Cursor, sql: Sql, run_pk: int, key: str, batch: Sequence[Point]) -> None:
    """Move a key's tail rows and this batch's points into new chunks."""
    cur.execute(sql(_TAIL_OF), (run_pk, key))
    tail = [(s, t, NAN if v is None else v) for s, t, v in cur.fetchall()]
    points = sort_points(tail + list(batch))
    if not points:
        return
    cur.execute(
        sql("SELECT max(seq) FROM metric_chunks WHERE run_id = ? AND key = ?"), (run_pk, key)
    )
    last = cur.fetchone()[0]
    seq = 0 if last is None else int(last) + 1
    rows = []
    for start in range(0, len(points), CHUNK_POINTS):
        part = points[start : start + CHUNK_POINTS]
        rows.append((run_pk, key, seq, len(part), part[0][0], part[-1][0], pack(part)))
        seq += 1
    cur.executemany(
        sql(
            "INSERT INTO metric_chunks (run_id, key, seq, n, min_step, max_step, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
        rows,
    )
    if tail:
        cur.execute(sql("DELETE FROM metrics WHERE run_id = ? AND key = ?"), (run_pk, key))
