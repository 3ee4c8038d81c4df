"""Request bodies in MLflow's scoring formats, read into what ``predict`` takes.

JSON bodies are an object with exactly one of ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` and optionally ``params``;
CSV bodies are a table with a header row (``DataFrame.to_csv(index=False)``).
Everything here is bounded: the body's size is checked before it is read
(:mod:`carnet.scoring.app`), the row count here, and a nesting too deep for the
parser is a 400 like any malformed body.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from carnet.model_signature import COLUMN_DTYPES, ColSpec, Schema, TensorSpec
from carnet.scoring.codec import loads
from carnet.scoring.errors import ScoringError, bad_input, short

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPES = (CONTENT_TYPE_CSV, CONTENT_TYPE_JSON)
DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
#: MLflow's body formats, in the order its messages list them.
FORMATS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS = "params"
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    f"{list(FORMATS)} and optionally 'params'"
)


@dataclass(frozen=True)
class JsonBody:
    """A decoded JSON body: its format, the payload under that key, and the params."""

    fmt: str
    payload: Any
    params: dict[str, Any] | None


def media_type(content_type: str | None) -> str:
    """``application/json`` or ``text/csv`` from a Content-Type header, else a 415
    (MLflow's answer to another type, another charset or an unknown parameter)."""
    if not content_type:
        raise ScoringError(
            f"The request has no Content-Type; send {CONTENT_TYPE_JSON} or {CONTENT_TYPE_CSV}.",
            status=415,
        )
    mime, *rest = (part.strip() for part in content_type.split(";"))
    mime = mime.lower()
    options = {
        k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in rest)
    }
    if options.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise ScoringError("The scoring server only supports UTF-8.", status=415)
    unknown = sorted(set(options) - {"charset"})
    if unknown:
        raise ScoringError(
            f"Unrecognized content type parameters: {', '.join(unknown)}.", status=415
        )
    if mime not in CONTENT_TYPES:
        raise ScoringError(
            f"This predictor only supports the following content types: {list(CONTENT_TYPES)}. "
            f"Got {short(content_type, 100)!r}.",
            status=415,
        )
    return mime


def decode_json(body: bytes) -> JsonBody:
    """The format, payload and params of a JSON body, or a 400 saying what is wrong."""
    if not body.strip():
        raise bad_input(f"The request body is empty. {REQUIRED_INPUT_FORMAT}.")
    try:
        document = loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise bad_input(
            f"Ensure that input is a valid JSON formatted string. Error: {short(str(exc), 200)}"
        ) from None
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else type(document).__name__
        raise bad_input(f"{REQUIRED_INPUT_FORMAT}. Received {kind}.")
    found = [k for k in FORMATS if k in document]
    unknown = [k for k in document if k not in FORMATS and k != PARAMS]
    if len(found) != 1 or unknown:
        keys = [short(str(k), 60) for k in list(document)[:20]]
        raise bad_input(f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {keys}.")
    params = document.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise bad_input(
            f"'params' must be a JSON object of parameter names and values, "
            f"not {type(params).__name__}."
        )
    return JsonBody(found[0], document[found[0]], params)


def row_count(body: JsonBody) -> int:
    """How many rows (instances) a JSON payload holds, for the row bound."""
    payload = body.payload
    if body.fmt == DF_SPLIT and isinstance(payload, dict):
        data = payload.get("data")
        return len(data) if isinstance(data, list) else 1
    if isinstance(payload, list):
        return len(payload)
    if isinstance(payload, dict):
        lengths = [len(v) for v in payload.values() if isinstance(v, list)]
        return max(lengths, default=1)
    return 1


def check_rows(rows: int, limit: int) -> None:
    """Refuse a body of more than ``limit`` rows (400, saying how to fix it)."""
    if rows > limit:
        raise ScoringError(
            f"The request holds {rows} rows, more than the {limit} this server takes in one "
            "request (CARNET_SCORING_MAX_ROWS); split it into smaller batches.",
            error_code="INVALID_PARAMETER_VALUE",
        )


def from_json(body: JsonBody, schema: Schema | None) -> Any:
    """What ``predict`` gets for a JSON body: a DataFrame for the ``dataframe_*``
    formats and for column objects, an array or list for tensors (as MLflow's server)."""
    import pandas as pd

    payload = body.payload
    if body.fmt == DF_SPLIT:
        if not isinstance(payload, dict):
            raise bad_input(
                f"Dataframe split format must be a dictionary. Got {type(payload).__name__}."
            )
        keys = set(payload)
        if "data" not in keys or keys - {"columns", "data", "index"}:
            raise bad_input(
                "Dataframe split format must have 'data' field and optionally "
                f"'columns' and 'index' fields. Got {sorted(map(str, keys))}."
            )
        frame = _frame(
            lambda: pd.DataFrame(
                data=payload["data"], columns=payload.get("columns"), index=payload.get("index")
            ),
            DF_SPLIT,
        )
    elif body.fmt == DF_RECORDS:
        if not isinstance(payload, list):
            raise bad_input(
                f"Dataframe records format must be a list of records. Got {type(payload).__name__}."
            )
        frame = _frame(lambda: pd.DataFrame(data=payload), DF_RECORDS)
    elif isinstance(payload, list) and payload and all(isinstance(r, dict) for r in payload):
        frame = _frame(lambda: pd.DataFrame(data=payload), body.fmt)
    elif isinstance(payload, dict):
        scalar = all(not isinstance(v, (list, dict)) for v in payload.values())
        frame = _frame(lambda: pd.DataFrame([payload] if scalar else payload), body.fmt)
    else:
        return _tensor_or_list(payload, schema)
    return conform_columns(frame, schema)


def _frame(build: Any, fmt: str) -> Any:
    """A DataFrame from ``build()``, or a 400 naming the format it did not fit."""
    try:
        return build()
    except (ValueError, TypeError) as exc:
        raise bad_input(
            f"Provided {fmt} field is not a valid dataframe representation. "
            f"Error: {short(str(exc), 200)}"
        ) from None


def _tensor_or_list(payload: Any, schema: Schema | None) -> Any:
    """An ``instances``/``inputs`` list: an array of the tensor's dtype, else as given."""
    import numpy as np

    if schema is not None and schema.is_tensor_spec():
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        try:
            return np.asarray(payload, dtype=spec.dtype)
        except (ValueError, TypeError) as exc:
            raise ScoringError(
                f"The input cannot be read as a tensor of dtype {spec.dtype} "
                f"({short(str(exc), 200)}).",
                error_code="INVALID_PARAMETER_VALUE",
            ) from None
    if schema is None:
        try:
            return np.asarray(payload)
        except ValueError as exc:
            raise bad_input(f"The input is not a regular array ({short(str(exc), 200)}).") from None
    return payload


def conform_columns(frame: Any, schema: Schema | None) -> Any:
    """The frame as MLflow's server hands it to the model: columns the signature does not
    name dropped (MLflow ignores them) and numeric columns cast to the signature's types
    (JSON's numbers, CSV's text, booleans), a value that does not convert a 400 naming the
    column and its type. Casts that would lose a value (1.5 or NaN to an integer column,
    a long out of an integer's range) are refused where MLflow would truncate."""
    if schema is None or schema.is_tensor_spec():
        return frame
    names = set(schema.input_names())
    if names and len(names) == len(schema.inputs):
        extra = [c for c in frame.columns if c not in names]
        if extra:
            frame = frame.drop(columns=extra)
    for spec in schema.inputs:
        if isinstance(spec, ColSpec) and spec.type in NUMERIC and spec.name in frame.columns:
            column = frame[spec.name]
            if column.dtype != COLUMN_DTYPES[spec.type]:
                frame[spec.name] = _cast(column, spec)
    return frame


NUMERIC = ("double", "float", "long", "integer")


def _cast(column: Any, spec: ColSpec) -> Any:
    """``column`` as the spec's numeric type, or a 400 naming the column and the type."""
    import numpy as np

    want = np.dtype(COLUMN_DTYPES[spec.type])
    try:
        cast = column.astype(want)
        if want.kind == "i":
            back = column.astype("float64") if column.dtype.kind != "b" else column
            if column.dtype.kind not in "iub" and not np.array_equal(cast, back):
                raise ValueError("it holds values that are not whole numbers")
            if column.dtype.kind in "iu" and not np.array_equal(cast, column):
                raise ValueError(f"it holds values out of the range of {want}")
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad_input(
            f"Data is not compatible with model signature. Failed to convert column "
            f"{spec.name!r} to type {spec.type!r}. Error: {short(str(exc), 200)}"
        ) from None
    return cast


def from_csv(body: bytes, schema: Schema | None) -> Any:
    """A DataFrame from a CSV body, columns typed by the schema (as MLflow reads it; a
    value that does not convert is a 400 naming its column)."""
    import pandas as pd

    dtypes: dict[str, str] = {}
    if schema is not None and not schema.is_tensor_spec():
        for spec in schema.inputs:
            if isinstance(spec, ColSpec) and spec.name and spec.type == "string":
                dtypes[spec.name] = COLUMN_DTYPES[spec.type]  # keep "007" as text
    try:
        text = body.decode("utf-8")
        frame = pd.read_csv(io.StringIO(text), dtype=dtypes or None)
    except (ValueError, TypeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise bad_input(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` "
            f"method. Error: {short(str(exc), 200)}"
        ) from None
    return conform_columns(frame, schema)
