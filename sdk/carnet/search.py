"""``search_runs`` results as a pandas DataFrame with MLflow's columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from carnet.store.sql_store import SqlStore


def runs_frame(store: SqlStore, pks: Sequence[int], *, summaries: bool = False) -> pd.DataFrame:
    """One row per run, in search order; times as UTC datetimes like MLflow's."""
    import numpy as np
    import pandas as pd

    from carnet.store.run_reads import RUN_ATTRIBUTE_COLUMNS

    cols = store.run_columns(pks, summaries=summaries)
    data: dict[str, object] = {}
    for name, values in cols.items():
        if name in ("start_time", "end_time"):
            data[name] = pd.to_datetime(pd.array(values, dtype="Int64"), unit="ms", utc=True)
        elif name.startswith("metrics."):
            data[name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        else:
            data[name] = pd.array(values, dtype=object)
    frame = pd.DataFrame(data, columns=list(cols) if cols else list(RUN_ATTRIBUTE_COLUMNS))
    frame.attrs["carnet_columns"] = list(cols)
    return frame
