"""Runs as a pandas DataFrame with MLflow's ``search_runs`` columns.

The frame is built column by column from a store's ``search_run_columns``,
each column one array made in C, with its dtype stated rather than inferred:
pandas' own inference (strings, then datetimes) costs more than the whole
SQL read of a top-100 page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from carnet.store.protocol import RUN_ATTRIBUTE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

#: Milliseconds since the epoch that fit a datetime64[us] (pandas raises beyond them).
_MS_BOUND = (2**63 - 1) // 1000


@cache
def _string_dtype() -> Any:
    """What pandas makes of a column of Python strings: ``str`` (pandas 3), else None
    (pandas 2 keeps them as object)."""
    import numpy as np
    import pandas as pd

    dtype = pd.Series(np.array(["a"], dtype=object)).dtype
    return None if dtype == np.dtype(object) else dtype


@cache
def _arrow_strings() -> Callable[[list[Any]], Any] | None:
    """A maker of pandas' ``str`` arrays straight from pyarrow, when that dtype is stored
    in pyarrow (pandas 3 with pyarrow installed); else None.

    ``pd.array(values, dtype=str)`` checks and converts every value in Python before
    pyarrow sees the list (a tenth of a millisecond for a top-100 frame of twenty
    text columns); values already known to be strings or None need neither.
    """
    dtype = _string_dtype()
    if dtype is None or getattr(dtype, "storage", None) != "pyarrow":
        return None
    import pandas as pd
    import pyarrow as pa  # type: ignore[import-untyped]

    text = pa.large_string()  # what pandas' ArrowStringArray holds
    make = pd.arrays.ArrowStringArray

    def strings(values: list[Any]) -> Any:
        # pandas' stubs leave out the dtype argument, which holds the NaN na_value.
        return make(pa.array(values, type=text), dtype=dtype)  # type: ignore[call-arg]

    return strings


#: Cell types a text column holds when every value is a string or missing.
_STR_OR_NONE = frozenset({str, type(None)})


def _text(values: list[Any]) -> Any:
    """Strings with None where missing, as pandas would infer them.

    A column of strings is the string dtype (missing values NaN, as MLflow's
    frames have them under pandas 3); anything else (no value at all, or a value
    that is not a string) is left to pandas' inference, as before.
    """
    import numpy as np
    import pandas as pd

    strings = _arrow_strings()
    if strings is not None:
        kinds = set(map(type, values))
        if str in kinds and kinds <= _STR_OR_NONE:  # what infer_dtype calls "string"
            return strings(values)
    dtype = _string_dtype()
    if dtype is not None and pd.api.types.infer_dtype(values, skipna=True) == "string":
        return pd.array(values, dtype=dtype)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _times(values: list[Any]) -> Any:
    """Epoch milliseconds (None where missing) as datetime64[us, UTC], as
    ``pd.to_datetime(..., unit="ms", utc=True)`` gives them, without its parsing."""
    import numpy as np
    import pandas as pd

    nat = np.iinfo(np.int64).min
    ms = np.array([nat if v is None else v for v in values], dtype=np.int64)
    present = ms[ms != nat]
    if present.size and (present.min() < -_MS_BOUND or present.max() > _MS_BOUND):
        # Out of pandas' range: let pandas raise its own error for it.
        return pd.to_datetime(pd.array(values, dtype="Int64"), unit="ms", utc=True)
    us = ms.copy()
    us[ms != nat] *= 1000
    return pd.DatetimeIndex(us.view("M8[us]"), tz="UTC")


def runs_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """One row per run, from a store's ``search_run_columns``; times as UTC datetimes.

    Metric columns are float64 (NaN where a run lacks the metric, as MLflow);
    the others are text: pandas' string dtype with NaN where missing, object
    when no run has a value. Each column is built once and taken without a copy.
    """
    import numpy as np
    import pandas as pd

    data: dict[str, object] = {}
    for name, values in columns.items():
        if name in ("start_time", "end_time"):
            data[name] = _times(values)
        elif name.startswith("metrics."):
            data[name] = np.array(values, dtype="float64")  # None becomes NaN in C
        else:
            data[name] = _text(values)
    if not data:  # no run at all: MLflow's attribute columns, empty
        data = {name: np.empty(0, dtype=object) for name in RUN_ATTRIBUTE_COLUMNS}
    # No columns= here: naming the columns again makes pandas reindex what it was given;
    # the index is stated, so pandas does not measure every column to find it.
    rows = len(next(iter(columns.values()), ()))
    frame = pd.DataFrame(data, index=pd.RangeIndex(rows), copy=False)
    frame.attrs["carnet_columns"] = list(columns)
    return frame
