"""In-memory datasets (MLflow's ``PandasDataset`` and ``NumpyDataset``) and what is logged of them.

A dataset object keeps the data for the training code; only its name, digest,
source, schema and profile reach the store, as a ``carnet.entities.Dataset``
(``to_entity``), which is what ``log_input`` and ``Client.log_inputs`` record.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from carnet.data.digest import numpy_digest, pandas_digest
from carnet.data.sources import resolve_source
from carnet.entities import Dataset as DatasetEntity
from carnet.errors import InvalidValueError

#: numpy dtype kinds and sizes -> MLflow's column types.
_COLUMN_TYPES = {
    ("i", 8): "long",
    ("i", 4): "integer",
    ("i", 2): "integer",
    ("i", 1): "integer",
    ("u", 4): "long",
    ("u", 2): "integer",
    ("u", 1): "integer",
    ("f", 8): "double",
    ("f", 4): "float",
    ("b", 1): "boolean",
}


class BaseDataset:
    """What every dataset has: a name, a digest, a source, a schema and a profile."""

    def __init__(self, name: str | None, digest: str | None, source: str | None) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidValueError(f"a dataset name must be text, got {type(name).__name__}.")
        self._name = name
        self.source_type, self.source = resolve_source(source)
        self._digest = digest

    @property
    def name(self) -> str:
        """The name given, or ``dataset`` as MLflow defaults it."""
        return self._name if self._name is not None else "dataset"

    @cached_property
    def digest(self) -> str:
        """The 8-character fingerprint of the data (MLflow's algorithm), unless one was given."""
        return self._digest or self.compute_digest()

    def compute_digest(self) -> str:
        """The digest of the data; each kind of dataset says how."""
        raise NotImplementedError

    @property
    def schema(self) -> dict[str, Any] | None:
        """The columns or tensors and their types, in MLflow's JSON shape."""
        return None

    @property
    def profile(self) -> dict[str, Any] | None:
        """Cheap sizes of the data (rows, elements, shapes)."""
        return None

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's ``Dataset.to_dict()``: every field as text."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self.source,
            "source_type": self.source_type,
            "schema": json.dumps(self.schema) if self.schema is not None else None,
            "profile": json.dumps(self.profile) if self.profile is not None else None,
        }

    def to_entity(self) -> DatasetEntity:
        """What the store keeps of this dataset."""
        fields = self.to_dict()
        return DatasetEntity(
            name=self.name,
            digest=self.digest,
            source_type=self.source_type,
            source=self.source,
            schema=fields["schema"],
            profile=fields["profile"],
        )


class PandasDataset(BaseDataset):
    """A DataFrame with optional target and prediction column names (MLflow's fields)."""

    def __init__(
        self,
        df: Any,
        *,
        source: str | None = None,
        targets: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        predictions: str | None = None,
    ) -> None:
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise InvalidValueError(
                f"from_pandas takes a pandas DataFrame, got {type(df).__name__}; "
                "use from_numpy for arrays."
            )
        for role, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidValueError(
                    f"{role}={column!r} is not a column of the DataFrame "
                    f"(columns: {', '.join(map(str, df.columns[:20]))})."
                )
        self.df = df
        self.targets = targets
        self.predictions = predictions
        super().__init__(name, digest, source)

    def compute_digest(self) -> str:
        """MLflow's pandas digest."""
        return pandas_digest(self.df)

    @property
    def schema(self) -> dict[str, Any] | None:
        """``{"mlflow_colspec": [...]}`` with MLflow's column type names; a column with
        missing values is not required. None when a column has no single type."""
        columns = []
        for name in self.df.columns:
            column = self.df[name]
            kind = _column_type(column)
            if kind is None:
                return None
            required = not bool(column.isna().any())
            columns.append({"type": kind, "name": str(name), "required": required})
        return {"mlflow_colspec": columns}

    @property
    def profile(self) -> dict[str, Any] | None:
        """Rows and elements, as MLflow profiles a DataFrame."""
        return {"num_rows": len(self.df), "num_elements": int(self.df.size)}


class NumpyDataset(BaseDataset):
    """Feature and optional target arrays (or dicts of arrays), as MLflow's ``NumpyDataset``."""

    def __init__(
        self,
        features: Any,
        *,
        source: str | None = None,
        targets: Any = None,
        name: str | None = None,
        digest: str | None = None,
    ) -> None:
        import numpy as np

        for role, value in (("features", features), ("targets", targets)):
            arrays = value.values() if isinstance(value, dict) else [value]
            if value is not None and not all(isinstance(a, np.ndarray) for a in arrays):
                raise InvalidValueError(
                    f"from_numpy takes numpy arrays (or a dict of them) as {role}, got "
                    f"{type(value).__name__}; convert with numpy.asarray first."
                )
        self.features = features
        self.targets = targets
        super().__init__(name, digest, source)

    def compute_digest(self) -> str:
        """MLflow's numpy digest."""
        return numpy_digest(self.features, self.targets)

    @property
    def schema(self) -> dict[str, Any] | None:
        """``{"mlflow_tensorspec": {"features": ..., "targets": ...}}`` as MLflow writes it."""
        return {
            "mlflow_tensorspec": {
                "features": _tensor_spec(self.features),
                "targets": _tensor_spec(self.targets) if self.targets is not None else None,
            }
        }

    @property
    def profile(self) -> dict[str, Any] | None:
        """Shapes, sizes and bytes of the features and targets."""
        out: dict[str, Any] = {}
        for role, value in (("features", self.features), ("targets", self.targets)):
            if value is None:
                continue
            for attr in ("shape", "size", "nbytes"):
                out[f"{role}_{attr}"] = (
                    {k: _plain(getattr(a, attr)) for k, a in value.items()}
                    if isinstance(value, dict)
                    else _plain(getattr(value, attr))
                )
        return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else int(value)


#: Python value types of object columns -> MLflow's column types.
_VALUE_TYPES = {str: "string", bytes: "binary", bool: "boolean", int: "long", float: "double"}


def _column_type(column: Any) -> str | None:
    """MLflow's type name for a DataFrame column, or None when MLflow infers none
    (mixed values, lists, dicts: MLflow then logs no schema at all)."""
    dtype = column.dtype
    known = _COLUMN_TYPES.get((dtype.kind, getattr(dtype, "itemsize", 0)))
    if known is not None:
        return known
    if dtype.kind == "M":
        return "datetime"
    kinds = {type(v) for v in column.dropna()}
    if len(kinds) == 1:
        return _VALUE_TYPES.get(kinds.pop())
    return "string" if not kinds else None


def _tensor_spec(value: Any) -> str:
    def spec(array: Any, name: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": name} if name is not None else {}
        entry.update(
            {
                "type": "tensor",
                "tensor-spec": {"dtype": str(array.dtype), "shape": [-1, *array.shape[1:]]},
            }
        )
        return entry

    if isinstance(value, dict):
        return json.dumps([spec(a, str(k)) for k, a in value.items()])
    return json.dumps([spec(value, None)])


def from_pandas(
    df: Any,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """A dataset of a DataFrame, to log with ``carnet.log_input`` (MLflow's ``from_pandas``).

    ``source`` says where the data came from (a path, a URI or a URL); without
    one, the script that built the data is the source. The digest is MLflow's,
    so the same data logged by MLflow and Carnet is recognised as one dataset.
    """
    return PandasDataset(
        df, source=source, targets=targets, name=name, digest=digest, predictions=predictions
    )


def from_numpy(
    features: Any,
    source: str | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """A dataset of arrays (or dicts of arrays), to log with ``carnet.log_input``
    (MLflow's ``from_numpy``); ``source`` as for ``from_pandas``."""
    return NumpyDataset(features, source=source, targets=targets, name=name, digest=digest)
