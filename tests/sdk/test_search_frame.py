"""search_runs into a DataFrame: the columnar read gives what the runs themselves hold.

The frame is read without building ``Run`` entities (the search returns the
runs' rows; params, tags and summaries are read per chunk of ids, as a range
when the ids are dense) and built with stated dtypes. These tests hold it to
two independent references: the ``Run`` entities ``Client.search_runs``
builds for the same search, and the frame pandas infers from the same values.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

import carnet
from carnet.runs_frame import runs_frame
from carnet.store import run_columns

QUERIES = [
    ("", None),
    ("", ["params.lr DESC"]),
    ("params.lr > 0.005", ["metrics.loss ASC"]),  # every other run: sparse ids
    ("tags.team = 'nlp'", ["attributes.start_time ASC"]),
    ("metrics.loss < 0.5 or params.opt = 'sgd'", ["metrics.acc DESC", "params.opt"]),
]


def _store(client: carnet.Client, before: int = 0) -> tuple[str, str, set[str]]:
    """An experiment of 16 runs with missing keys, NaN and inf, a deleted run, a stale
    running run and a child run; two runs of another experiment fall among them (so
    its ids are dense but not consecutive), and ``before`` runs of a third come first
    (then the range of ours is a small part of the store, read through the index)."""
    earlier = client.create_experiment("earlier")
    for _ in range(before):
        run = client.create_run(earlier)
        client.log_batch(run.info.run_id, [("loss", 9.0, 0, 0)], [("lr", "9")], [("team", "x")])
    ours = client.create_experiment("frame")
    other = client.create_experiment("elsewhere")
    long_ago = 1_600_000_000_000
    deleted: set[str] = set()
    parent = None
    for i in range(16):
        for eid in (ours, other) if i in (3, 9) else (ours,):
            run = client.create_run(
                eid,
                start_time=long_ago + i * 1000,
                run_name=f"run-{i}",
                parent_run_id=parent if i == 5 else None,
            )
            rid = run.info.run_id
            metrics = [("loss", 1.0 / (i + 1), long_ago, 0)]
            if i % 4 == 0:
                metrics.append(("acc", math.nan if i == 4 else 0.5 + i / 100, long_ago, 1))
            if i == 8:
                metrics.append(("acc", math.inf, long_ago + 1, 2))
            params = [("lr", str(10.0 ** -(i % 4)))]
            if i % 3:
                params.append(("opt", "sgd" if i % 2 else "adam"))
            if eid == other:
                params.append(("only_elsewhere", "x"))
            client.log_batch(rid, metrics=metrics, params=params)
            if i % 5 == 0:
                client.set_tag(rid, "team", "nlp" if i % 2 else "vision")
            if i != 7:  # run 7 stays RUNNING, with no heartbeat after its start
                client.set_terminated(rid, "FINISHED", end_time=long_ago + i * 1000 + 500)
            if i == 11:
                client.delete_run(rid)
                deleted.add(rid)
            if i == 0:
                parent = rid
    return ours, other, deleted


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return bool(a == b)


def _check_against_entities(client: carnet.Client, eid: str, deleted: set[str]) -> int:
    """Every cell of every query's frame equals what the Run entities say."""
    checked = 0
    for query, order_by in QUERIES:
        frame = carnet.search_runs([eid], query, order_by=order_by)
        runs = list(client.search_runs([eid], query, order_by=order_by, max_results=None))
        assert list(frame["run_id"]) == [r.info.run_id for r in runs]
        assert not deleted & set(frame["run_id"])
        for row, run in zip(frame.to_dict("records"), runs, strict=True):
            info, data = run.info, run.data
            assert row["status"] == info.status and row["run_name"] == info.run_name
            assert row["experiment_id"] == info.experiment_id == eid
            assert row["start_time"] == pd.Timestamp(info.start_time, unit="ms", tz="UTC")
            if info.end_time is None:
                assert pd.isna(row["end_time"])
            else:
                assert row["end_time"] == pd.Timestamp(info.end_time, unit="ms", tz="UTC")
            for prefix, values in (
                ("metrics.", data.metrics),
                ("params.", data.params),
                ("tags.", data.tags),
            ):
                keys = {c[len(prefix) :] for c in frame.columns if c.startswith(prefix)}
                for key in keys:
                    cell = row[prefix + key]
                    if key in values:
                        assert _same(cell, values[key]), (prefix + key, cell, values[key])
                    else:
                        assert pd.isna(cell), (prefix + key, cell)
                assert set(values) <= keys  # no key of this run's is missing from the frame
            checked += 1
    return checked


@pytest.mark.parametrize(
    ("chunk", "before"), [(4000, 0), (3, 0), (4000, 60)], ids=["scan", "chunks", "index"]
)
def test_frame_cells_match_the_run_entities(
    client: carnet.Client, chunk: int, before: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every read path: a range of dense ids (the tables walked, or their index when the
    range is a small part of the store), IN lists of sparse ones, one chunk or many;
    on SQLite and PostgreSQL (``client`` points the fluent API at each)."""
    monkeypatch.setattr(run_columns, "CHUNK", chunk)
    eid, _, deleted = _store(client, before)
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "1")
    time.sleep(1.2)  # the running run's heartbeat goes stale: it reads as CRASHED
    assert _check_against_entities(client, eid, deleted) > 40
    frame = carnet.search_runs([eid])
    assert set(frame["status"]) == {"FINISHED", "CRASHED"}
    assert frame["params.opt"].isna().any() and frame["metrics.acc"].isna().any()
    assert np.isinf(frame["metrics.acc"]).any()
    assert frame["tags.mlflow.parentRunId"].notna().sum() == 1


@pytest.mark.parametrize("before", [0, 60], ids=["scan", "index"])
def test_a_range_read_skips_runs_the_search_did_not_return(
    client: carnet.Client, before: int
) -> None:
    """Dense ids are read as a range: the other experiments' runs in it stay out."""
    eid, other, deleted = _store(client, before)
    columns = client.store.search_run_columns([eid])
    assert len(columns["run_id"]) == 15 and not deleted & set(columns["run_id"])
    for name, values in columns.items():
        assert len(values) == 15, name
    assert "params.only_elsewhere" not in columns
    others = client.store.search_run_columns([other])
    assert len(others["run_id"]) == 2 and others["params.only_elsewhere"] == ["x", "x"]


def _inferred(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The frame as pandas makes it when left to infer every dtype."""
    data: dict[str, Any] = {}
    for name, values in columns.items():
        if name in ("start_time", "end_time"):
            data[name] = pd.to_datetime(pd.array(values, dtype="Int64"), unit="ms", utc=True)
        elif name.startswith("metrics."):
            data[name] = [math.nan if v is None else v for v in values]
        else:
            data[name] = pd.array(values, dtype=object)
    names = list(columns) if columns else ["run_id", "experiment_id", "status", "artifact_uri"]
    return pd.DataFrame(data, columns=names)


@pytest.mark.parametrize(
    "columns",
    [
        {"run_id": ["a", "b"], "start_time": [0, 1_700_000_000_123], "end_time": [None, -5]},
        {"run_id": [], "start_time": [], "end_time": [], "params.p": [], "metrics.m": []},
        {"params.p": [None, "x", ""], "parent_run_id": [None, None, None], "tags.t": ["é"] * 3},
        {"metrics.m": [None, math.nan, math.inf], "metrics.n": [1, 2.5, -math.inf]},
        {"start_time": [253_402_300_799_999], "end_time": [-62_135_596_800_000]},
        {"tags.t": ["a", 1, None], "params.p": [b"x", "y", None]},
    ],
    ids=["times", "empty", "text", "metrics", "far-dates", "not-text"],
)
def test_stated_dtypes_are_the_ones_pandas_infers(columns: dict[str, list[Any]]) -> None:
    built, inferred = runs_frame(columns), _inferred(columns)
    pd.testing.assert_frame_equal(built, inferred[list(columns)], check_exact=True)
    assert list(built.dtypes) == list(inferred.dtypes)


def test_times_beyond_pandas_range_raise_as_pandas_does() -> None:
    columns = {"start_time": [2**62], "end_time": [None]}
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        _inferred(columns)
    with pytest.raises(pd.errors.OutOfBoundsDatetime):
        runs_frame(columns)


def test_no_run_gives_mlflows_attribute_columns() -> None:
    frame = runs_frame({})
    assert list(frame.columns)[:6] == [
        "run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time",
    ]  # fmt: skip
    assert len(frame) == 0 and all(dtype == np.dtype(object) for dtype in frame.dtypes)
