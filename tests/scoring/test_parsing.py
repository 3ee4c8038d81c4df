"""Body reading without a server: MLflow's casts to the signature's types, refused where
they would lose a value, and the fast path taking only what the general path would."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carnet.model_signature import ColSpec, Schema
from carnet.scoring.errors import ScoringError
from carnet.scoring.fastpath import numeric_columns, numeric_frame
from carnet.scoring.parsing import conform_columns, decode_json, from_csv, from_json

LONGS = Schema([ColSpec("long", "n"), ColSpec("integer", "i")])


def test_integer_columns_take_whole_numbers_only() -> None:
    frame = conform_columns(pd.DataFrame({"n": [1.0, 2.0], "i": [3, 4]}), LONGS)
    assert frame["n"].dtype == np.int64 and frame["i"].dtype == np.int32
    assert frame["n"].tolist() == [1, 2]
    with pytest.raises(ScoringError, match=r"column 'n' to type 'long'.*not whole numbers"):
        conform_columns(pd.DataFrame({"n": [1.5, 2.0], "i": [3, 4]}), LONGS)
    with pytest.raises(ScoringError, match=r"column 'n' to type 'long'"):
        conform_columns(pd.DataFrame({"n": [float("nan"), 2.0], "i": [3, 4]}), LONGS)
    with pytest.raises(ScoringError, match=r"column 'i' to type 'integer'.*out of the range"):
        conform_columns(pd.DataFrame({"n": [1, 2], "i": [3, 2**40]}), LONGS)


def test_floats_are_cast_to_the_float_width() -> None:
    schema = Schema([ColSpec("float", "x"), ColSpec("string", "s")])
    body = decode_json(json.dumps({"dataframe_records": [{"x": 0.5, "s": "007"}]}).encode())
    frame = from_json(body, schema)
    assert frame["x"].dtype == np.float32
    csv = from_csv(b"x,s\n0.5,007\n", schema)
    assert csv["x"].dtype == np.float32 and csv["s"].tolist() == ["007"]


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["b", "a"], "data": [[1, 2]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "two"]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, [2]]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2, 3]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}},
        {"dataframe_split": {"columns": ["a", "b"], "data": []}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]], "index": [0]}},
        {"dataframe_records": [{"a": 1, "b": 2, "c": 3}]},
        {"dataframe_records": [{"a": 1}]},
        {"inputs": [[1, 2]]},
    ],
)
def test_the_fast_path_leaves_the_rest_to_the_general_path(body: dict[str, object]) -> None:
    plan = numeric_columns(Schema([ColSpec("double", "a"), ColSpec("double", "b")]))
    assert plan is not None
    assert numeric_frame(plan, decode_json(json.dumps(body).encode())) is None


def test_the_fast_path_builds_the_general_paths_frame() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b")])
    plan = numeric_columns(schema)
    assert plan is not None
    for body in (
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [3, 4]]}},
        {"dataframe_records": [{"a": 1, "b": 2.5}, {"b": 4, "a": 3}]},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[True, None], ["1.5", 4]]}},
    ):
        raw = json.dumps(body).encode()
        fast = numeric_frame(plan, decode_json(raw))
        general = conform_columns(from_json(decode_json(raw), schema), schema)
        pd.testing.assert_frame_equal(fast, general)
    assert numeric_columns(Schema([ColSpec("double", "a"), ColSpec("long", "b")])) is None
    assert numeric_columns(Schema([ColSpec("double", "a", required=False)])) is None
