"""Runs as a pandas DataFrame with MLflow's ``search_runs`` columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carnet.store.protocol import RUN_ATTRIBUTE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd


def runs_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """One row per run, from a store's ``search_run_columns``; times as UTC datetimes.

    Metric columns are float64 (NaN where a run lacks the metric, as MLflow);
    the others are object columns that keep None. Each column is one numpy array
    filled in C, which pandas takes without copying.
    """
    import numpy as np
    import pandas as pd

    data: dict[str, object] = {}
    for name, values in columns.items():
        if name in ("start_time", "end_time"):
            data[name] = pd.to_datetime(pd.array(values, dtype="Int64"), unit="ms", utc=True)
        elif name.startswith("metrics."):
            data[name] = np.array(values, dtype="float64")  # None becomes NaN in C
        else:
            column = np.empty(len(values), dtype=object)
            column[:] = values
            data[name] = column
    names = list(columns) if columns else list(RUN_ATTRIBUTE_COLUMNS)
    frame = pd.DataFrame(data, columns=names, copy=False)
    frame.attrs["carnet_columns"] = list(columns)
    return frame
