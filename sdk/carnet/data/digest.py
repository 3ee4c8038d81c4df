"""Dataset digests: the 8-character md5 fingerprints MLflow computes, byte for byte.

The same DataFrame or arrays give the same digest in Carnet and MLflow, so a
dataset logged by either is recognised as the same dataset. Only the first
``MAX_ROWS`` rows (or elements) are hashed, plus the shape, so a digest stays
cheap for big data.
"""

from __future__ import annotations

import hashlib
from typing import Any

from carnet.errors import InvalidValueError

#: Rows (or flattened elements) hashed; the rest count through the length and shape.
MAX_ROWS = 10000


def normalized_md5(elements: list[Any]) -> str:
    """The first 8 hex digits of the md5 of the elements' bytes, in order."""
    if not elements:
        raise InvalidValueError("a digest needs at least one element to hash; pass some data.")
    md5 = hashlib.md5(usedforsecurity=False)
    for element in elements:
        md5.update(element)
    return md5.hexdigest()[:8]


def pandas_digest(df: Any) -> str:
    """MLflow's ``compute_pandas_digest``: the string and numeric columns of the first
    ``MAX_ROWS`` rows, the row count and the column names."""
    import numpy as np
    import pandas as pd

    trimmed = df.head(MAX_ROWS)
    string_columns = trimmed.columns[df.map(type).eq(str).all(axis=0)]
    numeric_columns = trimmed.select_dtypes(include=[np.number]).columns
    trimmed = trimmed[string_columns.union(numeric_columns)]
    return normalized_md5(
        [pd.util.hash_pandas_object(trimmed).values, np.int64(len(df))]
        + [str(x).encode() for x in df.columns]
    )


def numpy_digest(features: Any, targets: Any = None) -> str:
    """MLflow's ``compute_numpy_digest``: the first ``MAX_ROWS`` flattened elements and
    the shape of each array (a dict of arrays in key order)."""
    import numpy as np
    import pandas as pd

    elements: list[Any] = []

    def add(array: Any) -> None:
        flat = array.flatten()[0:MAX_ROWS]
        try:
            elements.append(pd.util.hash_array(flat))
        except TypeError:
            elements.append(np.int64(flat.size))
        elements.extend(np.int64(x) for x in array.shape)

    for item in (features, targets):
        if item is None:
            continue
        if isinstance(item, dict):
            for key in sorted(item):
                add(item[key])
        else:
            add(item)
    return normalized_md5(elements)
