"""The fast path for numeric column models: a JSON body straight to one NumPy block.

Most served models (the diabetes ElasticNet among them) take named numeric
columns of one type. For those, a ``dataframe_split`` body whose columns are
exactly the signature's, in order, or ``dataframe_records`` whose records have
exactly those keys, becomes one NumPy block of the signature's type, skipping
pandas' per-column inference and the general schema check, which it satisfies
by construction. The conversion is the one MLflow's server applies to such a
column (``astype``): integers and booleans become doubles, ``null`` NaN, text
that spells a number that number. Anything else -- text that is no number,
other columns, fractions for an integer column, ragged rows -- returns None,
and the general path answers it, with the general path's messages.

A scikit-learn estimator fitted on a DataFrame checks the column names of
every input; when its names are the signature's, in order, the block goes to a
shallow twin of it that skips that check (:func:`array_predictor`), and the
model computes exactly what it would from the DataFrame, without building one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carnet.model_signature import COLUMN_DTYPES, ColSpec, Schema
from carnet.scoring.parsing import DF_RECORDS, DF_SPLIT, JsonBody

NUMERIC_TYPES = ("double", "float", "long", "integer")


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


def array_predictor(
    model: Any, predict_fn: str, plan: NumericColumns
) -> Callable[[Any], Any] | None:
    """A prediction function taking the plan's NumPy block, or None when the model must
    get a DataFrame: a scikit-learn-style estimator whose fitted column names are the
    plan's (a shallow twin without them, so it does not ask a block for names), or one
    fitted without names on as many columns."""
    fitted = getattr(model, "feature_names_in_", None)  # a pipeline's: its first step's
    if fitted is None:
        if getattr(model, "n_features_in_", None) != len(plan.names):
            return None
        return getattr(model, predict_fn, None)
    own = hasattr(model, "__dict__") and "feature_names_in_" in vars(model)
    if not own or [str(n) for n in fitted] != plan.names:
        return None  # e.g. a pipeline, whose steps may select columns by name
    if any(hasattr(v, "fit") for k, v in vars(model).items() if k.endswith("_")):
        # A meta-estimator (TransformedTargetRegressor, a search) hands its input on to a
        # fitted inner estimator that wants the names too: it gets the DataFrame.
        return None
    twin = copy.copy(model)
    del twin.feature_names_in_
    return getattr(twin, predict_fn, None)


def numeric_rows(plan: NumericColumns, body: JsonBody) -> Any:
    """The rows of ``body`` in the plan's column order, or None when the general path
    must read it."""
    payload = body.payload
    if body.fmt == DF_SPLIT:
        if not isinstance(payload, dict) or payload.keys() != {"columns", "data"}:
            return None
        if payload["columns"] != plan.names:
            return None
        return payload["data"]
    if body.fmt == DF_RECORDS:
        return _records(plan.names, payload)
    return None


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


def numeric_block(plan: NumericColumns, body: JsonBody) -> Any:
    """The body as one NumPy block of the plan's dtype, or None (the general path's turn)."""
    import numpy as np

    rows = numeric_rows(plan, body)
    if not isinstance(rows, list) or not rows:
        return None
    want = np.dtype(plan.dtype)
    try:
        block = np.array(rows, dtype=None if plan.integer else want)
    except (ValueError, TypeError):  # ragged rows, text that is no number, nested values
        return None
    if block.ndim != 2 or block.shape[1] != len(plan.names):
        return None
    if plan.integer:
        if block.dtype.kind not in "iub":
            return None
        if block.dtype.kind != "b" and want.itemsize < block.dtype.itemsize:
            info = np.iinfo(want)
            if block.min() < info.min or block.max() > info.max:
                return None
        block = block.astype(want, copy=False)
    return block


def numeric_frame(plan: NumericColumns, body: JsonBody) -> Any:
    """The body as the DataFrame the general path would build, or None."""
    import pandas as pd

    block = numeric_block(plan, body)
    return None if block is None else pd.DataFrame(block, columns=plan.names, copy=False)
