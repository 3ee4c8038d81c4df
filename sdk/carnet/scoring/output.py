"""Predictions as MLflow's scoring server writes them: ``{"predictions": ...}``.

An array becomes its nested list, a DataFrame its records, a Series the records
of a one-column frame, anything else is written as it is (MLflow's
``_get_jsonable_obj``); NumPy scalars, bytes (base64) and timestamps are
encoded as MLflow's ``NumpyEncoder`` encodes them.
"""

from __future__ import annotations

import base64
import json
from typing import Any, TextIO

from carnet.scoring.codec import dumps_array


class PredictionEncoder(json.JSONEncoder):
    """JSON for the values predictions hold beyond plain Python ones."""

    def default(self, o: Any) -> Any:
        """NumPy scalars and arrays, bytes and timestamps as MLflow writes them."""
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (bytes, bytearray)):
            return base64.encodebytes(bytes(o)).decode("ascii")
        if hasattr(o, "isoformat"):
            return o.isoformat()
        return super().default(o)


def jsonable(raw: Any) -> Any:
    """What JSON holds of a prediction (MLflow's conversion, records for frames)."""
    import numpy as np
    import pandas as pd

    if isinstance(raw, np.ndarray):
        return raw.tolist()
    if isinstance(raw, pd.DataFrame):
        return raw.to_dict(orient="records")
    if isinstance(raw, pd.Series):
        return pd.DataFrame(raw).to_dict(orient="records")
    return raw


def predictions_json(raw: Any) -> bytes:
    """The answer body of ``/invocations`` (a finite numeric array: by orjson, when it is
    installed)."""
    import numpy as np

    if isinstance(raw, np.ndarray):
        fast = dumps_array("predictions", raw)
        if fast is not None:
            return fast
    return json.dumps({"predictions": jsonable(raw)}, cls=PredictionEncoder).encode()


def write_predictions(raw: Any, out: TextIO) -> None:
    """``{"predictions": ...}`` written to a file, as ``mlflow models predict`` writes it."""
    json.dump({"predictions": jsonable(raw)}, out, cls=PredictionEncoder)
