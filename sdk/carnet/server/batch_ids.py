"""Idempotent log-batch: a request repeated with the same batch id is answered without writing.

Carnet's REST store sends every log-batch request with a fresh
``X-Carnet-Batch-Id``, and the same id again when it repeats the request
(its answer was lost: the connection broke, a proxy timed out, the server was
killed after committing). :class:`BatchIds` remembers, per run, the ids this
server process has written (a bounded LRU: the newest :data:`MAX_IDS_PER_RUN`
ids of the newest :data:`MAX_RUNS` runs), and a repeated id is answered with
success and no write. Two requests with the same id at once (a client gave up
waiting and repeated it while the first was still being written) are run one
after the other, so the second sees the first's id.

An id the process does not remember (it restarted after writing the batch)
is only suspect when the request says it was repeated after it may have
reached a server (``X-Carnet-Batch-Retry: 1``): then the batch counts as
written when every one of its metric points is already in the run's
histories (params and tags are idempotent anyway). Requests without an id,
as MLflow's client sends them, are written as they come.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence

from carnet.client import Client
from carnet.entities import Metric

BATCH_ID_HEADER = "x-carnet-batch-id"
RETRY_HEADER = "x-carnet-batch-retry"
MAX_IDS_PER_RUN = 256
MAX_RUNS = 4096
#: What a batch id may look like (a uuid4's hex, or any token of this shape).
BATCH_ID = re.compile(r"[A-Za-z0-9_-]{8,128}")

_PointKey = tuple[str, int, int, float | str]


def _point(m: Metric) -> _PointKey:
    return (m.key, m.step, m.timestamp, "NaN" if math.isnan(m.value) else m.value)


def already_written(client: Client, run_id: str, metrics: Sequence[Metric]) -> bool:
    """Whether every metric point of a batch is already in the run (as often as the batch
    holds it): what a repeated batch this process does not remember is judged by."""
    if not metrics:
        return False
    wanted = Counter(_point(m) for m in metrics)
    for key in {m.key for m in metrics}:
        have = Counter(_point(m) for m in client.get_metric_history(run_id, key))
        if any(have[p] < n for p, n in wanted.items() if p[0] == key):
            return False
    return True


class BatchIds:
    """The batch ids written by this process, per run, newest kept."""

    def __init__(self, max_runs: int = MAX_RUNS, max_ids: int = MAX_IDS_PER_RUN) -> None:
        self._runs: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()
        self._busy: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()
        self._max_runs = max_runs
        self._max_ids = max_ids

    def _seen(self, run_id: str, batch_id: str) -> bool:
        ids = self._runs.get(run_id)
        return ids is not None and batch_id in ids

    def _remember(self, run_id: str, batch_id: str) -> None:
        ids = self._runs.get(run_id)
        if ids is None:
            ids = self._runs[run_id] = OrderedDict()
        self._runs.move_to_end(run_id)
        ids[batch_id] = None
        while len(ids) > self._max_ids:
            ids.popitem(last=False)
        while len(self._runs) > self._max_runs:
            self._runs.popitem(last=False)

    def forget(self, run_id: str, batch_id: str) -> None:
        """Drop a remembered id: its write was rolled back after all (a group commit
        that failed), so the batch must be written when it comes again."""
        with self._lock:
            ids = self._runs.get(run_id)
            if ids is not None:
                ids.pop(batch_id, None)

    def write_once(
        self,
        run_id: str,
        batch_id: str,
        write: Callable[[], object],
        written: Callable[[], bool] | None = None,
    ) -> bool:
        """Run ``write`` unless this batch was written already; returns whether it wrote.

        ``written``, when given, judges a batch this process does not remember. A
        ``write`` that raises leaves the id unknown, so a retry writes.
        """
        key = (run_id, batch_id)
        while True:
            with self._lock:
                if self._seen(run_id, batch_id):
                    return False
                other = self._busy.get(key)
                if other is None:
                    mine = self._busy[key] = threading.Event()
                    break
            other.wait()
        try:
            wrote = not (written is not None and written())
            if wrote:
                write()
            with self._lock:
                self._remember(run_id, batch_id)
            return wrote
        finally:
            with self._lock:
                del self._busy[key]
            mine.set()
