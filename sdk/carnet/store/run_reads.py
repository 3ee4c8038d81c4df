"""Reads of runs: single runs, bulk loads in search order, columns, histories, search.

A search returns the runs' rows themselves (``sql_search.RUN_ROW``), in order,
on the cursor the rest of the read then uses: one connection, one snapshot,
no second query for the runs. Their params, tags and metric summaries are
fetched once per chunk of run ids and assembled in Python (as entities here,
as columns in run_columns.py). Histories come from packed chunks (history.py)
and are built in C (``tuple.__new__``) with the cyclic GC paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path
from typing import Any

from carnet import artifact_location, settings
from carnet.entities import Metric, MetricSummary, Run, RunData, RunInfo, ViewType
from carnet.errors import InvalidInputError, RunNotFoundError
from carnet.store import history, sql_search
from carnet.store.base import StoreBase, check_run_id
from carnet.store.engine import read_cursor, sqlite_path
from carnet.store.page_tokens import decode_page_token, encode_page_token
from carnet.store.run_columns import run_columns
from carnet.store.sql_helpers import CHUNK, NAN, Cursor, now_ms, placeholders
from carnet.store.sql_search.statements import RUN_ROW

#: A run's row as a search returns it (``sql_search.RUN_ROW``), for our own SELECTs.
_RUN_COLUMNS = ", ".join(f"r.{column.name}" for column in RUN_ROW)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building 10^5 small tuples would trigger needless cyclic-GC passes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _metrics(key: str, columns: history.Columns) -> list[Metric]:
    """A history's columns as Metric tuples, built in C (``tuple.__new__``): no frame a point."""
    steps, stamps, values = columns
    points = zip(repeat(key), values.tolist(), stamps.tolist(), steps.tolist())
    return list(map(tuple.__new__, repeat(Metric), points))


class RunReads(StoreBase):
    """The reading half of the run store."""

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags, last metrics and metric summaries."""
        check_run_id(run_id)
        with read_cursor(self.engine) as cur:
            cur.execute(
                self._sql(f"SELECT {_RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?"), (run_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise RunNotFoundError(
                    f"no run with id {run_id!r}; run ids are the 32-character hex strings in "
                    "run.info.run_id."
                )
            return self._build_runs(cur, [row], self.crash_cutoff())[0]

    def _build_runs(self, cur: Cursor, rows: Sequence[Any], cutoff: int) -> list[Run]:
        if not rows:
            return []
        pks = [int(r[0]) for r in rows]
        marks = placeholders(len(pks))
        params: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        tags: dict[int, dict[str, str]] = {pk: {} for pk in pks}
        metrics: dict[int, dict[str, float]] = {pk: {} for pk in pks}
        summaries: dict[int, dict[str, MetricSummary]] = {pk: {} for pk in pks}
        cur.execute(
            self._sql(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})"), pks
        )
        for rid, key, value in cur.fetchall():
            params[rid][key] = value
        cur.execute(
            self._sql(f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})"), pks
        )
        for rid, key, value in cur.fetchall():
            tags[rid][key] = value
        cur.execute(
            self._sql(
                "SELECT run_id, key, value, is_nan, step, timestamp, min_value, max_value, count "
                f"FROM metric_summaries WHERE run_id IN ({marks})"
            ),
            pks,
        )
        for rid, key, value, is_nan, step, ts, lo, hi, count in cur.fetchall():
            last = NAN if is_nan else float(value)
            metrics[rid][key] = last
            summaries[rid][key] = MetricSummary(
                key=key,
                last=last,
                step=int(step),
                timestamp=int(ts),
                min=NAN if lo is None else float(lo),
                max=NAN if hi is None else float(hi),
                count=int(count),
            )
        runs = []
        for r in rows:
            pk = int(r[0])
            info = RunInfo(
                run_id=r[1],
                experiment_id=str(r[2]),
                run_name=r[3],
                user_id=r[4],
                status=self.status_of(r[5], r[8], r[6], cutoff),
                start_time=r[6],
                end_time=r[7],
                artifact_uri=r[10],
                lifecycle_stage=r[9],
            )
            data = RunData(metrics=metrics[pk], params=params[pk], tags=tags[pk])
            runs.append(Run(info=info, data=data, summaries=summaries[pk]))
        return runs

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, in history order."""
        with read_cursor(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            with _gc_paused():
                return _metrics(key, history.read(cur, self._sql, pk, key))

    def get_metric_history_page(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[int], list[int], list[float], int]:
        """Points ``offset`` to ``offset + limit`` of one history as columns, and its size.

        What a server answering one page at a time needs: the packed chunks are
        read and sliced as arrays, and no Metric is built for the points it skips.
        """
        with read_cursor(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            steps, stamps, values = history.read(cur, self._sql, pk, key)
        end = len(steps) if limit is None else offset + limit
        return (
            steps[offset:end].tolist(),
            stamps[offset:end].tolist(),
            values[offset:end].tolist(),
            len(steps),
        )

    def get_metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, list[Any]]:
        """Histories of several runs at once, as columns: run_id, key, step, timestamp, value."""
        names = ("run_id", "key", "step", "timestamp", "value")
        cols: dict[str, list[Any]] = {k: [] for k in names}
        if not run_ids or (keys is not None and not keys):
            return cols
        with read_cursor(self.engine) as cur, _gc_paused():
            for start in range(0, len(run_ids), CHUNK):
                chunk = list(run_ids[start : start + CHUNK])
                cur.execute(
                    self._sql(
                        "SELECT id, run_uuid FROM runs WHERE run_uuid IN "
                        f"({placeholders(len(chunk))})"
                    ),
                    chunk,
                )
                uuids = dict(cur.fetchall())
                if not uuids:
                    continue
                found = history.read_many(cur, self._sql, sorted(uuids), keys)
                for (pk, key), (steps, stamps, values) in found.items():
                    n = len(steps)
                    cols["run_id"].extend(repeat(uuids[pk], n))
                    cols["key"].extend(repeat(key, n))
                    cols["step"].extend(steps.tolist())
                    cols["timestamp"].extend(stamps.tolist())
                    cols["value"].extend(values.tolist())
        return cols

    def get_metric_history_sampled(self, run_id: str, key: str, max_points: int) -> list[Metric]:
        """At most about ``max_points`` points that keep the curve's envelope.

        The steps are cut into ``max_points // 2`` equal buckets; each bucket
        gives its lowest value (at its first step) and its highest (at its last
        step). The packed history is bucketed in numpy, never as Python objects.
        """
        if max_points < 2:
            raise InvalidInputError(f"max_points must be at least 2, got {max_points}.")
        with read_cursor(self.engine) as cur:
            pk, _, _ = self._run_row(cur, run_id)
            steps, stamps, values = history.read(cur, self._sql, pk, key)
        n = len(steps)
        if n <= max_points or steps[0] == steps[-1]:
            with _gc_paused():
                return _metrics(key, (steps, stamps, values))
        import numpy as np

        s = np.frombuffer(steps, dtype=np.int64)
        t = np.frombuffer(stamps, dtype=np.int64)
        v = np.frombuffer(values, dtype=np.float64)
        buckets = max(1, max_points // 2)
        lo = int(s[0])
        width = -(-(int(s[-1]) - lo + 1) // buckets)  # ceiling division
        # Offsets from the first step in uint64, where they always fit (steps span
        # up to 2**64 - 1); non-decreasing, as the history is in step order.
        offsets = s.view(np.uint64) - np.uint64(lo % 2**64)
        # A single bucket can be wider than any uint64; then it holds every offset.
        bucket = offsets // np.uint64(width) if width < 2**64 else np.zeros_like(offsets)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], n] - 1
        low, high = np.fmin.reduceat(v, starts), np.fmax.reduceat(v, starts)  # NaN-blind
        first, last = s[starts], s[ends]
        t_first, t_last = np.minimum.reduceat(t, starts), np.maximum.reduceat(t, starts)
        both = (last != first) | ((high != low) & ~np.isnan(low))
        out: list[Metric] = []
        rows = zip(
            first.tolist(), last.tolist(), low.tolist(), high.tolist(),
            t_first.tolist(), t_last.tolist(), both.tolist(), strict=True,
        )  # fmt: skip
        for a, b, lo_v, hi_v, ta, tb, two in rows:
            out.append(Metric(key, lo_v, ta, a))
            if two:
                out.append(Metric(key, hi_v, tb, b))
        return out

    def list_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """Every metric, param and tag key used by the active runs of these experiments."""
        pks = [self._experiment_pk(e) for e in experiment_ids]
        out: dict[str, list[str]] = {"metrics": [], "params": [], "tags": []}
        if not pks:
            return out
        runs_of = (
            f"SELECT id FROM runs WHERE experiment_id IN ({placeholders(len(pks))}) "
            "AND lifecycle_stage = 'active'"
        )
        with read_cursor(self.engine) as cur:
            for name, table in (
                ("metrics", "metric_summaries"),
                ("params", "params"),
                ("tags", "tags"),
            ):
                cur.execute(
                    self._sql(
                        f"SELECT DISTINCT key FROM {table} WHERE run_id IN ({runs_of}) ORDER BY key"
                    ),
                    pks,
                )
                out[name] = [r[0] for r in cur.fetchall()]
        return out

    def _prepared_search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        view_type: ViewType,
        max_results: int | None,
        order_by: Sequence[str] | None,
        offset: int,
    ) -> tuple[Any, int]:
        """The compiled search and the heartbeat timeout it uses. Built before any read
        transaction opens, so a filter that does not parse sends no SQL at all."""
        timeout_ms = int(settings.HEARTBEAT_TIMEOUT.get() * 1000)
        search = sql_search.prepared_run_search(
            self.engine.dialect,
            tuple(self._experiment_pk(e) for e in experiment_ids),
            filter_string,
            sql_search.freeze(order_by),
            ViewType(view_type),
            timeout_ms,
            None if max_results is None else int(max_results),
            int(offset),
        )
        return search, timeout_ms

    @staticmethod
    def _search_rows(cur: Cursor, search: Any, timeout_ms: int) -> tuple[Sequence[Any], int]:
        """The ``_RUN_COLUMNS`` rows of matching runs in search order, and the crash cutoff
        the search used (status_of must use the same one)."""
        cutoff = now_ms() - timeout_ms
        search.execute(cur, cutoff)
        return cur.fetchall(), cutoff

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs match, counted in the database."""
        timeout_ms = int(settings.HEARTBEAT_TIMEOUT.get() * 1000)
        count = sql_search.prepared_count_runs(
            self.engine.dialect,
            tuple(self._experiment_pk(e) for e in experiment_ids),
            filter_string,
            ViewType(view_type),
            timeout_ms,
        )
        with self.engine.connect() as conn:
            return int(count.run(conn, now_ms() - timeout_ms).scalar_one())

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """One page of matching runs and the next page's token (None: the last)."""
        offset = decode_page_token(page_token)
        limit = None if max_results is None else max_results + 1
        search, timeout_ms = self._prepared_search(
            experiment_ids, filter_string, view_type, limit, order_by, offset
        )
        with read_cursor(self.engine) as cur, _gc_paused():
            rows, cutoff = self._search_rows(cur, search, timeout_ms)
            token = None
            if max_results is not None and len(rows) > max_results:
                rows = rows[:max_results]
                token = encode_page_token(offset + max_results)
            found: list[Run] = []
            for start in range(0, len(rows), CHUNK):
                found.extend(self._build_runs(cur, rows[start : start + CHUNK], cutoff))
        return found, token

    def search_run_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        *,
        summaries: bool = False,
    ) -> dict[str, list[Any]]:
        """Matching runs as columns in search order, read in one snapshot."""
        search, timeout_ms = self._prepared_search(
            experiment_ids, filter_string, view_type, max_results, order_by, offset
        )
        with read_cursor(self.engine) as cur, _gc_paused():
            rows, cutoff = self._search_rows(cur, search, timeout_ms)

            def status_of(status: str, heartbeat: int | None, start: int) -> str:
                return self.status_of(status, heartbeat, start, cutoff)

            return run_columns(cur, self._sql, rows, status_of, summaries=summaries)

    def run_artifact_root(self, run_id: str) -> Path:
        """The run's artifact folder, refused unless it lies inside an allowed artifact root."""
        uri = self.get_run(run_id).info.artifact_uri
        roots = artifact_location.allowed_roots(self.artifact_root, self.uri)
        return artifact_location.run_folder(uri, run_id, roots)

    def data_version(self) -> tuple[Any, ...]:
        """Cheap and changes with every commit: what the dashboard keys its cache on."""
        path = sqlite_path(self.uri)
        if path is not None:
            stats = []
            for p in (path, path.with_name(path.name + "-wal")):
                try:
                    st = p.stat()
                    stats.append((st.st_mtime_ns, st.st_size))
                except FileNotFoundError:
                    stats.append((0, 0))
            return tuple(stats)
        with self.engine.connect() as conn:
            return (str(conn.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar()),)
