"""The fast path for numeric column models: a JSON body straight to a typed frame.

Most served models (the diabetes ElasticNet among them) take named numeric
columns of one type. For those, a ``dataframe_split`` body whose columns are
exactly the signature's, in order, or ``dataframe_records`` whose records have
exactly those keys, becomes one NumPy block and one DataFrame over it, skipping
pandas' per-column inference and the general schema check (which it
satisfies by construction). Anything else -- booleans or nulls in the body,
strings, other columns, floats for an integer column, ragged rows -- returns
None, and the general path answers it, with the general path's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carnet.model_signature import COLUMN_DTYPES, ColSpec, Schema
from carnet.scoring.parsing import DF_RECORDS, DF_SPLIT, JsonBody

NUMERIC_TYPES = ("double", "float", "long", "integer")
#: JSON literals a numeric block must not hold: NumPy would turn them into numbers.
NON_NUMERIC_LITERALS = (b"true", b"false", b"null")


@dataclass(frozen=True)
class NumericColumns:
    """A signature of named, required numeric columns of one type."""

    names: list[str]
    dtype: str
    integer: bool


def numeric_columns(schema: Schema | None) -> NumericColumns | None:
    """The fast path's plan for ``schema``, or None when the schema is not of that kind."""
    if schema is None or schema.is_tensor_spec() or not schema.inputs:
        return None
    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    types = {s.type for s in specs}
    if (
        len(specs) != len(schema.inputs)
        or len(types) != 1
        or not types <= set(NUMERIC_TYPES)
        or not all(s.name and s.required for s in specs)
    ):
        return None
    kind = types.pop()
    names = [str(s.name) for s in specs]
    if len(set(names)) != len(names):
        return None
    return NumericColumns(names, COLUMN_DTYPES[kind], kind in ("long", "integer"))


def numeric_frame(plan: NumericColumns, body: JsonBody, raw: bytes) -> Any:
    """The checked DataFrame for ``body``, or None when the general path must read it."""
    if any(literal in raw for literal in NON_NUMERIC_LITERALS):
        return None
    payload = body.payload
    if body.fmt == DF_SPLIT:
        if not isinstance(payload, dict) or payload.keys() != {"columns", "data"}:
            return None
        if payload["columns"] != plan.names:
            return None
        rows = payload["data"]
    elif body.fmt == DF_RECORDS:
        rows = _records(plan.names, payload)
        if rows is None:
            return None
    else:
        return None
    return _block(plan, rows)


def _records(names: list[str], payload: Any) -> list[list[Any]] | None:
    """Rows of values in ``names`` order, if every record has exactly those keys."""
    if not isinstance(payload, list):
        return None
    width = len(names)
    try:
        rows = [[record[n] for n in names] for record in payload]
    except (KeyError, TypeError):
        return None
    if not all(isinstance(r, dict) and len(r) == width for r in payload):
        return None
    return rows


def _block(plan: NumericColumns, rows: Any) -> Any:
    """One NumPy block of the plan's dtype as a DataFrame, or None if the rows are not
    a full numeric table whose values the type takes without loss."""
    import numpy as np
    import pandas as pd

    if not isinstance(rows, list) or not rows:
        return None
    try:
        block = np.asarray(rows)
    except ValueError:  # ragged rows
        return None
    if block.ndim != 2 or block.shape[1] != len(plan.names):
        return None
    kind = block.dtype.kind
    if kind not in "fi" or (plan.integer and kind != "i"):
        return None
    want = np.dtype(plan.dtype)
    if kind == "i" and plan.integer and want.itemsize < block.dtype.itemsize:
        info = np.iinfo(want)
        if block.min() < info.min or block.max() > info.max:
            return None
    block = block.astype(want, copy=False)
    return pd.DataFrame(block, columns=plan.names, copy=False)
