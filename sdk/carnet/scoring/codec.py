"""JSON in and out of the scoring server: orjson when it is installed, else the standard
library, with the standard library's reading wherever orjson is stricter.

Decoding a 1,000-row body and encoding its predictions dominate a request with the
standard library (several milliseconds); orjson does both in a fraction of that
(``pip install carnet[serving]``). orjson refuses what MLflow's server accepts --
``NaN`` and ``Infinity`` literals, integers beyond 64 bits, nesting deeper than
1,024 -- so a body it refuses is read again by :func:`json.loads`, which accepts
the first two and refuses the last with the same message as a malformed body.
Predictions holding NaN or infinities are written by the standard library, as
MLflow writes them (``NaN``), since orjson would write ``null``.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # the serving extra is not installed: the standard library does it all
    orjson = None  # type: ignore[assignment]


def loads(body: bytes) -> Any:
    """The JSON document in ``body``; ValueError (or RecursionError) when it is not JSON."""
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # NaN, huge integers, deep nesting or not JSON: the standard library says
    return json.loads(body)


def dumps_array(key: str, array: Any) -> bytes | None:
    """``{key: array}`` for a finite numeric NumPy array, or None when the caller must
    write it another way (no orjson, NaN or infinities, another dtype or layout)."""
    if orjson is None or array.dtype.kind not in "fiu":
        return None
    import numpy as np

    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return None
    try:
        return orjson.dumps({key: array}, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:  # e.g. a non-contiguous array
        return None
