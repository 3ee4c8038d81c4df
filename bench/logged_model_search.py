"""Logged-model searches at 10,000 models: ``python -m bench.logged_model_search URI``.

Not part of ``python -m bench``'s table (MLflow's side would need its own server
and store): it fills a fresh experiment of the store at ``URI`` with 10,000 READY
models (a tag, a param and a metric each), then prints the median and the worst
of 20 searches of each kind, and of 200 ``get_logged_model`` calls.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from carnet.store.sql_store import SqlStore

MODELS = 10_000


def timed(call: Callable[[], object], n: int = 20) -> tuple[float, float]:
    """Median and worst time of ``n`` calls, in milliseconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main(uri: str) -> None:
    """Fill the store, then time the searches."""
    store = SqlStore(uri)
    exp = store.create_experiment(f"bench-models-{time.time_ns()}")
    start = time.perf_counter()
    ids = []
    for i in range(MODELS):
        stage = "prod" if i % 10 == 0 else "dev"
        model = store.create_logged_model(
            exp,
            name=f"m{i % 100}",
            tags=[("stage", stage)],
            params=[("alpha", str(i % 7))],
            status="READY",
        )
        store.log_logged_model_metrics(model.model_id, [("acc", (i % 1000) / 1000, 1, 0, None)])
        ids.append(model.model_id)
    per_model = (time.perf_counter() - start) / MODELS * 1000
    print(f"create a model and link a metric: {per_model:.2f} ms a model")
    cases = [
        ("top 100, newest first", None, None),
        ("top 100 of tags.stage = 'prod' AND metrics.acc > 0.5",
         "tags.stage = 'prod' AND metrics.acc > 0.5", None),
        ("top 100 of name = 'm3', by metrics.acc DESC", "name = 'm3'", ["metrics.acc DESC"]),
    ]  # fmt: skip
    for title, filter_string, order_by in cases:
        search = partial(store.search_logged_models, [exp], filter_string, 100, order_by)
        p50, worst = timed(search)
        print(f"{title}: p50 {p50:.1f} ms, max {worst:.1f} ms")
    p50, worst = timed(lambda: store.get_logged_model(ids[MODELS // 2]), 200)
    print(f"get_logged_model: p50 {p50:.2f} ms, max {worst:.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///bench-logged-models.db")
