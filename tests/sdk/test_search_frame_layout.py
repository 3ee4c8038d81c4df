"""Frames of experiments whose runs share their keys: columns are taken as strides.

When every run has the same metrics, params and tags (most experiments), a read's
rows are runs times keys and ``run_columns.KeyLayout`` slices each key's column
out of them. Any departure (a run lacking a key or with one more, a NaN last
value, another experiment's run inside a range read) must fall back to the
row-by-row path, so each case is held to the ``Run`` entities of the same search.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

import carnet
from carnet.store.run_columns import KeyLayout

QUERIES = [
    ("", None, None),
    ("", ["metrics.m1 ASC"], 5),
    ("params.opt = 'adam'", ["metrics.m1 DESC"], 3),
    ("metrics.m0 < 0.5", ["params.p0 DESC"], None),
    ("", ["metrics.m0"], 1),
]


def _experiment(client: carnet.Client, variant: str) -> str:
    """Twelve runs with metrics m0, m1, params p0, opt and tags team, seed; ``variant``
    breaks the shared layout in one run (or, ``interleaved``, puts another experiment's
    runs among ours)."""
    eid = client.create_experiment(f"layout-{variant}")
    other = client.create_experiment(f"elsewhere-{variant}")
    for i in range(12):
        for target in (eid, other) if variant == "interleaved" and i % 4 == 1 else (eid,):
            run = client.create_run(target, start_time=1_600_000_000_000 + i * 1000)
            rid = run.info.run_id
            m0 = math.nan if variant == "nan" and i == 6 else ((i * 7) % 12) / 12
            metrics = [("m0", m0, 0, 0), ("m1", ((i * 5) % 12) / 12, 0, 0)]
            params = [("p0", str(i / 10)), ("opt", "adam" if i % 3 else "sgd")]
            tags = [("team", "nlp" if i % 2 else "vision"), ("seed", str(i))]
            if variant == "missing" and i == 4:
                params.pop()
            if variant == "extra" and i == 9:
                params.append(("extra", "x"))
            if target == other:
                tags.append(("elsewhere", "y"))
            client.log_batch(rid, metrics=metrics, params=params, tags=tags)
            client.set_terminated(rid, "FINISHED", end_time=1_600_000_000_000 + i * 1000 + 500)
    return eid


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return bool(a == b)


@pytest.mark.parametrize("variant", ["shared", "missing", "extra", "nan", "interleaved"])
def test_frame_cells_match_the_run_entities(client: carnet.Client, variant: str) -> None:
    eid = _experiment(client, variant)
    for query, order_by, limit in QUERIES:
        frame = carnet.search_runs([eid], query, order_by=order_by, max_results=limit or 100_000)
        runs = list(client.search_runs([eid], query, order_by=order_by, max_results=limit))
        assert list(frame["run_id"]) == [r.info.run_id for r in runs], (query, order_by)
        assert runs, query
        for row, run in zip(frame.to_dict("records"), runs, strict=True):
            for prefix, values in (
                ("metrics.", run.data.metrics),
                ("params.", run.data.params),
                ("tags.", run.data.tags),
            ):
                keys = {c[len(prefix) :] for c in frame.columns if c.startswith(prefix)}
                assert set(values) <= keys, (prefix, set(values) - keys)
                for key in keys:
                    cell = row[prefix + key]
                    if key in values:
                        assert _same(cell, values[key]), (variant, prefix + key, cell)
                    else:
                        assert pd.isna(cell), (variant, prefix + key, cell)
    if variant == "extra":
        assert carnet.search_runs([eid])["params.extra"].notna().sum() == 1
    if variant == "interleaved":
        assert "tags.elsewhere" not in carnet.search_runs([eid]).columns


def test_a_shared_layout_is_sliced_in_search_order() -> None:
    """Rows of runs 3, 5, 8 (id order) with keys a, b each; the search returned 8, 3, 5."""
    rows = [(3, "a", 1), (3, "b", 2), (5, "a", 3), (5, "b", 4), (8, "a", 5), (8, "b", 6)]
    by_key: dict[str, list[Any]] = {}
    assert KeyLayout([8, 3, 5], [3, 5, 8]).columns(rows, by_key)
    assert by_key == {"a": [5, 1, 3], "b": [6, 2, 4]}


@pytest.mark.parametrize(
    "rows",
    [
        [(3, "a", 1), (3, "b", 2), (5, "a", 3), (8, "a", 5), (8, "b", 6), (8, "c", 7)],
        [(3, "a", 1), (3, "b", 2), (5, "b", 3), (5, "a", 4), (8, "a", 5), (8, "b", 6)],
        [(3, "a", 1), (4, "a", 0), (5, "a", 3), (8, "a", 5)][:3],
        [(3, "a", 1.0, 0), (5, "a", None, 1), (8, "a", 2.0, 0)],
        [],
    ],
    ids=["uneven", "key-order", "foreign-run", "nan", "no-rows"],
)
def test_other_layouts_are_left_to_the_row_by_row_path(rows: list[Any]) -> None:
    by_key: dict[str, list[Any]] = {}
    assert not KeyLayout([8, 3, 5], [3, 5, 8]).columns(rows, by_key)
    assert by_key == {}


def test_a_single_run_is_left_to_the_row_by_row_path() -> None:
    by_key: dict[str, list[Any]] = {}
    assert not KeyLayout([3], [3]).columns([(3, "a", 1)], by_key)
    assert by_key == {}
