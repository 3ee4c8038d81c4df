"""Runs as columns (MLflow's ``search_runs`` layout), from the rows a search returned.

What a search into a DataFrame reads beyond the search itself, and nothing
more: no ``Run`` entity is built. The attribute columns are the search's rows
transposed in C; params, tags and metric summaries are read per chunk of run
ids and spread into one list per key (when every run has the same keys, as in
most experiments, each key's list is a stride of the rows, taken in C:
:class:`KeyLayout`).

Dense ids (an experiment read whole: ids mostly consecutive) are read as
one range (``BETWEEN``), which the database walks in order, rather than as
``IN`` lists, which it probes id by id; when the range is most of the store,
the tables themselves are walked, not their ``(run_id, key)`` index. Rows of
runs outside the search are skipped. Almost all of the read's time is the
driver building a tuple a row; the database's own share is small. The store
pauses the cyclic GC meanwhile: tens of thousands of fetched tuples would
otherwise set off collections that find nothing to free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

from carnet.store.protocol import RUN_ATTRIBUTE_COLUMNS
from carnet.store.sql_helpers import CHUNK, NAN, Cursor, Sql, placeholders

#: Ids spanning fewer than this many ids per id among them are read as a range: the
#: driver builds a tuple for every row of the range, wanted or not, so the range must
#: be mostly wanted rows to cost less than an IN list.
DENSE = 1.25
#: A range covering at least this share of all run ids walks the tables instead of an index.
SCAN_SHARE = 0.5
#: Rows fetched at once from a range (a whole experiment can be millions of rows).
BATCH = 20_000

#: status, heartbeat time, start time -> the status a reader shows.
StatusOf = Callable[[str, "int | None", int], str]


def _fetch(cur: Cursor, sql: Sql, select: str, pks: Sequence[int], scan: bool) -> Iterator[Any]:
    """Rows of ``select`` (which ends ``WHERE``) for these sorted ids, a batch at a time.

    Dense ids are one range (two bound values, however many ids), read through the
    ``(run_id, key)`` index, or with ``scan`` by walking the table itself (``+run_id``
    keeps SQLite off the index: cheaper than an index lookup a row when most of the
    table is wanted). Sparse ids go in ``IN`` lists of at most ``CHUNK``.
    """
    if not pks:
        return
    if pks[-1] - pks[0] < DENSE * len(pks):
        column = "+run_id" if scan else "run_id"
        cur.execute(sql(f"{select} {column} BETWEEN ? AND ?"), (pks[0], pks[-1]))
        while rows := cur.fetchmany(BATCH):
            yield rows
        return
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start : start + CHUNK]
        if chunk[-1] - chunk[0] < DENSE * len(chunk):
            cur.execute(sql(f"{select} run_id BETWEEN ? AND ?"), (chunk[0], chunk[-1]))
        else:
            cur.execute(sql(f"{select} run_id IN ({placeholders(len(chunk))})"), list(chunk))
        yield cur.fetchall()


def _spread(
    rows: Sequence[Any], index: dict[int, int], by_key: dict[str, list[Any]], n: int
) -> None:
    """(run id, key, value) rows into ``by_key[key][position of the run]``."""
    position = index.get
    column = by_key.get
    for rid, key, value in rows:
        i = position(rid)
        if i is None:  # a run in the range that the search did not return
            continue
        found = column(key)
        if found is None:
            found = by_key[key] = [None] * n
        found[i] = value


def _spread_metrics(
    rows: Sequence[Any], index: dict[int, int], by_key: dict[str, list[Any]], n: int
) -> None:
    """(run id, key, last value, is_nan) rows; a NaN last value is stored NULL."""
    position = index.get
    column = by_key.get
    for rid, key, value, is_nan in rows:
        i = position(rid)
        if i is None:
            continue
        found = column(key)
        if found is None:
            found = by_key[key] = [None] * n
        found[i] = NAN if is_nan else value


class KeyLayout:
    """Where a run's value goes when every run has the same keys (most experiments): the
    rows of one read are then runs (sorted by id) times keys (in the same order for each
    run), and a key's column is a stride of the values, put in search order in C."""

    def __init__(self, pks: Sequence[int], ordered: Sequence[int]) -> None:
        self.ordered = tuple(ordered)
        rank = {pk: r for r, pk in enumerate(ordered)}
        #: values in id order -> values in search order (itemgetter of one index is no tuple)
        self.take = itemgetter(*[rank[pk] for pk in pks]) if len(pks) > 1 else None
        self._expected: dict[int, tuple[int, ...]] = {}

    def columns(self, rows: Sequence[Any], by_key: dict[str, list[Any]]) -> bool:
        """Fill ``by_key`` from ``rows`` if they are laid out so; False (nothing done) if not."""
        n = len(self.ordered)
        if self.take is None or not rows or len(rows) % n:
            return False
        width = len(rows) // n
        parts = list(zip(*rows, strict=True))
        rids, keys, values = parts[0], parts[1], parts[2]
        names = keys[:width]
        if keys != names * n:
            return False
        expected = self._expected.get(width)
        if expected is None:
            expected = tuple(chain.from_iterable(zip(*repeat(self.ordered, width), strict=True)))
            self._expected[width] = expected
        if rids != expected:
            return False
        if len(parts) > 3 and any(parts[3]):  # a NaN last value, stored NULL: the slow way
            return False
        take = self.take
        for j, name in enumerate(names):
            by_key[name] = list(take(values[j::width]))
        return True


def _spread_summaries(
    rows: Sequence[Any], index: dict[int, int], by_key: dict[str, list[Any]], n: int
) -> None:
    """(run id, key, last, is_nan, min, max, count) rows into four columns a key."""
    for rid, key, value, is_nan, lo, hi, count in rows:
        i = index.get(rid)
        if i is None:
            continue
        for name, v in (
            (key, NAN if is_nan else value),
            (key + ".min", NAN if lo is None else lo),
            (key + ".max", NAN if hi is None else hi),
            (key + ".count", count),
        ):
            found = by_key.get(name)
            if found is None:
                found = by_key[name] = [None] * n
            found[i] = v


def run_columns(
    cur: Cursor, sql: Sql, rows: Sequence[Any], status_of: StatusOf, *, summaries: bool = False
) -> dict[str, list[Any]]:
    """Runs' rows (``sql_search.RUN_ROW`` order) as :data:`RUN_ATTRIBUTE_COLUMNS`, then
    ``metrics.<k>``, ``params.<k>`` and ``tags.<k>`` (sorted), None where a run lacks a key.

    With ``summaries`` each metric also gets ``.min``, ``.max`` and ``.count``.
    """
    n = len(rows)
    pks, uuids, eids, names, users, statuses, starts, ends, beats, stages, uris, parents = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(12)]
    )
    if "RUNNING" in statuses:  # only a running run can read as CRASHED
        for i, status in enumerate(statuses):
            if status == "RUNNING":
                statuses[i] = status_of(status, beats[i], starts[i])
    attributes = (
        uuids, list(map(str, eids)), statuses, uris, starts, ends, names, users, stages, parents,
    )  # fmt: skip
    cols: dict[str, list[Any]] = dict(zip(RUN_ATTRIBUTE_COLUMNS, attributes, strict=True))
    #: prefix -> key -> column, so no per-row string building.
    dynamic: dict[str, dict[str, list[Any]]] = {"metrics.": {}, "params.": {}, "tags.": {}}
    index = dict(zip(pks, range(n), strict=True))
    ordered = sorted(pks)
    layout = KeyLayout(pks, ordered)
    scan = False
    if ordered and ordered[-1] - ordered[0] < DENSE * n:
        cur.execute("SELECT max(id) FROM runs")
        scan = ordered[-1] - ordered[0] + 1 >= SCAN_SHARE * int(cur.fetchone()[0] or 0)
    if summaries:
        select = (
            "SELECT run_id, key, value, is_nan, min_value, max_value, count "
            "FROM metric_summaries WHERE"
        )
        for found in _fetch(cur, sql, select, ordered, scan):
            _spread_summaries(found, index, dynamic["metrics."], n)
    else:
        select = "SELECT run_id, key, value, is_nan FROM metric_summaries WHERE"
        by_key = dynamic["metrics."]
        for found in _fetch(cur, sql, select, ordered, scan):
            if not (not by_key and layout.columns(found, by_key)):
                _spread_metrics(found, index, by_key, n)
    for table in ("params", "tags"):
        select = f"SELECT run_id, key, value FROM {table} WHERE"
        by_key = dynamic[table + "."]
        for found in _fetch(cur, sql, select, ordered, scan):
            if not (not by_key and layout.columns(found, by_key)):
                _spread(found, index, by_key, n)
    named = {p + k: c for p, by_key in dynamic.items() for k, c in by_key.items()}
    for name in sorted(named):
        cols[name] = named[name]
    return cols
