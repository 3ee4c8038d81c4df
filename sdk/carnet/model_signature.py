"""Model signatures: what a model takes and returns, in MLflow's ``MLmodel`` JSON.

A signature has an input and an output :class:`Schema` (and optionally a
params schema). A schema is either columns (:class:`ColSpec`: a name, an MLflow
type such as ``double`` or ``long``, and whether it is required) or tensors
(:class:`TensorSpec`: a NumPy dtype and a shape, ``-1`` for any size). The
``MLmodel`` file stores each as a JSON string, exactly as MLflow writes it::

    signature:
      inputs: '[{"type": "double", "name": "age", "required": true}]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
      params: null

:func:`enforce_schema` checks and converts a prediction input against a schema,
so a wrong column fails with a :class:`~carnet.errors.SchemaError` that names
the column, rather than deep inside the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from carnet.errors import SchemaError

#: MLflow column types and the NumPy dtype each converts to.
COLUMN_DTYPES: dict[str, str] = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}


@dataclass(frozen=True)
class ColSpec:
    """One input or output column: an MLflow type, an optional name, required or not."""

    type: str
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": ..., "name": ..., "required": ...}``."""
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    """A tensor input or output: a NumPy dtype and a shape (``-1`` for any size)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "tensor", "tensor-spec": {...}}``."""
        out: dict[str, Any] = {"type": "tensor"}
        if self.name is not None:
            out["name"] = self.name
        out["tensor-spec"] = {"dtype": self.dtype, "shape": list(self.shape)}
        return out


@dataclass(frozen=True)
class Schema:
    """A list of column specs or of tensor specs (never both, as in MLflow)."""

    inputs: tuple[ColSpec | TensorSpec, ...]

    def __init__(self, inputs: list[ColSpec | TensorSpec] | tuple[ColSpec | TensorSpec, ...]):
        specs = tuple(inputs)
        kinds = {isinstance(s, TensorSpec) for s in specs}
        if len(kinds) > 1:
            raise SchemaError("a schema holds either columns or tensors, not both.")
        for spec in specs:
            if isinstance(spec, ColSpec) and spec.type not in COLUMN_DTYPES:
                raise SchemaError(
                    f"column type {spec.type!r} is not one of {sorted(COLUMN_DTYPES)}."
                )
        object.__setattr__(self, "inputs", specs)

    def is_tensor_spec(self) -> bool:
        """True when the schema describes tensors rather than columns."""
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[str]:
        """The named columns, in order."""
        return [s.name for s in self.inputs if s.name is not None]

    def to_json(self) -> str:
        """The JSON string MLflow stores in ``MLmodel``."""
        return json.dumps([s.to_dict() for s in self.inputs])

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Read the JSON string of a schema (as MLflow or Carnet wrote it)."""
        try:
            items = json.loads(text)
            specs: list[ColSpec | TensorSpec] = []
            for item in items:
                if item["type"] == "tensor":
                    ts = item["tensor-spec"]
                    specs.append(TensorSpec(ts["dtype"], tuple(ts["shape"]), item.get("name")))
                else:
                    specs.append(
                        ColSpec(item["type"], item.get("name"), bool(item.get("required", True)))
                    )
        except (ValueError, KeyError, TypeError) as exc:
            raise SchemaError(
                f"the model's schema {text[:200]!r} cannot be read ({exc})."
            ) from None
        return cls(specs)


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes (``inputs``), returns (``outputs``) and accepts as ``params``."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature`` section of ``MLmodel``: each part a JSON string, or None."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": json.dumps(self.params) if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, section: dict[str, Any]) -> ModelSignature:
        """Read the ``signature`` section of an ``MLmodel`` file."""
        inputs, outputs, params = (section.get(k) for k in ("inputs", "outputs", "params"))
        return cls(
            Schema.from_json(inputs) if inputs else None,
            Schema.from_json(outputs) if outputs else None,
            json.loads(params) if params else None,
        )


# -- inference ---------------------------------------------------------------------------


def _column_type(dtype: Any, values: Any = None) -> str:
    """The MLflow type of a NumPy/pandas dtype (object columns: from their values)."""
    import numpy as np

    kind = np.dtype(dtype).kind if not hasattr(dtype, "na_value") else "O"
    if kind == "f":
        return "float" if np.dtype(dtype).itemsize <= 4 else "double"
    if kind in "iu":
        return "integer" if np.dtype(dtype).itemsize <= 4 else "long"
    if kind == "b":
        return "boolean"
    if kind == "M":
        return "datetime"
    if kind in "US":
        return "string" if kind == "U" else "binary"
    sample = [v for v in (values if values is not None else []) if v is not None]
    if sample and all(isinstance(v, bytes) for v in sample):
        return "binary"
    if all(isinstance(v, str) for v in sample):
        return "string"
    raise SchemaError(
        f"cannot infer an MLflow type for values of dtype {dtype} (e.g. {sample[:1]!r}); "
        "give the column a numeric, boolean, string or datetime dtype."
    )


def _schema_of(data: Any) -> Schema:
    """The schema of a DataFrame, Series, array, dict or list."""
    import numpy as np
    import pandas as pd

    if isinstance(data, dict):  # one row of scalars, or columns of values
        data = pd.DataFrame([data] if all(np.isscalar(v) for v in data.values()) else data)
    if isinstance(data, list):
        data = pd.DataFrame(data) if all(isinstance(r, dict) for r in data) else np.asarray(data)
    if isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_column_type(t, data[c]), str(c)) for c, t in data.dtypes.items()])
    if isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        return Schema([ColSpec(_column_type(data.dtype, data), name)])
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(str(data.dtype), (-1, *data.shape[1:]))])
    raise SchemaError(
        f"cannot infer a schema from {type(data).__name__}; pass a pandas DataFrame or "
        "Series, a NumPy array, a dict or a list of dicts."
    )


def infer_signature(
    model_input: Any, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """The signature of a model from an example input (and output, and params).

    Written into ``MLmodel`` by ``log_model(..., signature=...)``, it lets
    ``carnet.pyfunc`` (and MLflow) check prediction inputs before they reach
    the model.
    """
    param_schema = None
    if params:
        param_schema = [
            {"name": k, "type": _column_type(type(v)) if not isinstance(v, str) else "string",
             "default": v, "shape": None}
            for k, v in params.items()
        ]  # fmt: skip
    return ModelSignature(
        _schema_of(model_input),
        _schema_of(model_output) if model_output is not None else None,
        param_schema,
    )


# -- enforcement -------------------------------------------------------------------------


def _convert_column(values: Any, spec: ColSpec) -> Any:
    """``values`` (a pandas Series) converted to the spec's type, where MLflow allows it."""
    import numpy as np
    import pandas as pd

    kind = values.dtype.kind
    want = spec.type
    ok = (
        (want == "double" and kind in "fiu")
        or (want == "float" and (kind in "iu" or (kind == "f" and values.dtype.itemsize <= 4)))
        or (want == "long" and kind in "iu" and values.dtype != np.uint64)
        or (want == "integer" and kind in "iu" and values.dtype.itemsize <= 4)
        or (want == "boolean" and kind == "b")
        or (want == "datetime" and kind == "M")
        or (want == "string" and (kind in "OU" or pd.api.types.is_string_dtype(values.dtype))
            and all(isinstance(v, str) for v in values.dropna()))
        or (want == "binary" and kind in "OS"
            and all(isinstance(v, bytes) for v in values.dropna()))
    )  # fmt: skip
    if not ok:
        raise SchemaError(
            f"column {spec.name!r} should be {want!r} but has dtype {values.dtype}; convert "
            f"it (e.g. df[{spec.name!r}].astype({COLUMN_DTYPES[want]!r})) before predicting."
        )
    if want in ("string", "binary"):
        return values
    return values.astype(COLUMN_DTYPES[want])


def _as_frame(data: Any, schema: Schema) -> Any:
    """A DataFrame from what ``predict`` was given, named by the schema when positional."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        scalar = all(np.isscalar(v) or v is None for v in data.values())
        return pd.DataFrame([data] if scalar else data)
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame(data)
    if isinstance(data, (list, np.ndarray)):
        array = np.asarray(data, dtype=object if isinstance(data, list) else None)
        if array.ndim == 1:
            array = array.reshape(1, -1) if len(schema.inputs) > 1 else array.reshape(-1, 1)
        names = [s.name for s in schema.inputs]
        if array.ndim != 2 or array.shape[1] != len(names):
            raise SchemaError(
                f"the input has shape {array.shape} but the model takes {len(names)} "
                f"column(s) {schema.input_names()}; pass a DataFrame with those columns."
            )
        frame = pd.DataFrame(array, columns=[n if n is not None else i for i, n in
                                             enumerate(names)])  # fmt: skip
        return frame.infer_objects()
    raise SchemaError(
        f"cannot predict on {type(data).__name__}; pass a pandas DataFrame, a NumPy array, "
        "a list or a dict."
    )


def _enforce_tensor(data: Any, spec: TensorSpec) -> Any:
    """An array of the spec's dtype and shape, or a SchemaError saying how it differs."""
    import numpy as np
    import pandas as pd

    array = data.to_numpy() if isinstance(data, (pd.DataFrame, pd.Series)) else np.asarray(data)
    want = np.dtype(spec.dtype)
    if array.dtype != want:
        if not np.can_cast(array.dtype, want, casting="safe"):
            raise SchemaError(
                f"the input tensor has dtype {array.dtype} but the model takes {want}; "
                f"convert it (e.g. array.astype({str(want)!r}))."
            )
        array = array.astype(want)
    shape = tuple(spec.shape)
    if len(shape) != array.ndim or any(
        s not in (-1, a) for s, a in zip(shape, array.shape, strict=True)
    ):
        raise SchemaError(
            f"the input tensor has shape {array.shape} but the model takes shape {shape} "
            "(-1: any size)."
        )
    return array


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked against ``schema`` and converted where MLflow allows it
    (int -> double, float32 -> double, ...): a DataFrame for column schemas, an
    array for tensor schemas. Missing or extra columns and unsafe types raise
    :class:`~carnet.errors.SchemaError` naming the column and its expected type.
    """
    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        return _enforce_tensor(data, spec)
    frame = _as_frame(data, schema)
    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    if not any(s.name for s in specs):  # positional columns
        if frame.shape[1] != len(specs):
            raise SchemaError(
                f"the input has {frame.shape[1]} column(s) but the model takes {len(specs)}."
            )
        specs = [ColSpec(s.type, c, s.required) for s, c in zip(specs, frame.columns, strict=True)]
    names = [str(s.name) for s in specs]
    frame.columns = [str(c) for c in frame.columns]
    missing = [s.name for s in specs if s.required and s.name not in frame.columns]
    if missing:
        expected = ", ".join(f"{s.name} ({s.type})" for s in specs if s.name in missing)
        raise SchemaError(f"the input lacks required column(s): {expected}.")
    extra = [c for c in frame.columns if c not in names]
    if extra:
        raise SchemaError(
            f"the input has column(s) {extra} that the model does not take; drop them "
            f"(the model takes {names})."
        )
    out = frame[[n for n in names if n in frame.columns]].copy()
    for spec in specs:
        if spec.name in out.columns:
            out[spec.name] = _convert_column(out[spec.name], spec)
    return out


__all__ = [
    "ColSpec",
    "ModelSignature",
    "Schema",
    "TensorSpec",
    "enforce_schema",
    "infer_signature",
]
