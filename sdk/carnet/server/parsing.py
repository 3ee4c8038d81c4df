"""Request bodies and query strings, read within bounds and checked field by field.

MLflow's client sends a GET's fields as a query string (lists as repeated
keys) and every other request's as a JSON object. :func:`read_fields` reads
either into :class:`Fields`, whose accessors check each field's type the way
MLflow's handlers do and answer ``INVALID_PARAMETER_VALUE`` (400) with the
field's name when it is missing or wrong. Unknown fields are ignored, as
protobuf's JSON parser ignores them.

Every body is read in chunks against a limit, so no request makes the server
hold more than the limit in memory; the limits are MLflow's own.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import QueryParams
from starlette.requests import Request

from carnet.server.errors import ApiError, invalid

try:
    import orjson as _orjson
except ImportError:  # the optional 'server' extra
    _orjson = None  # type: ignore[assignment]

#: The largest JSON body accepted (MLflow's limit for log-batch, applied to every endpoint).
MAX_JSON_BYTES = 1_000_000
#: log-batch limits, as MLflow's server has them.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
#: Search limits: the default page and the largest page one request may ask for.
DEFAULT_SEARCH_RESULTS = 1000
MAX_SEARCH_RESULTS = 50_000
#: Largest page of one metric's history (what MLflow's client asks for).
MAX_HISTORY_PAGE = 25_000
#: get-history-bulk-interval limits.
MAX_BULK_RUNS = 100
MAX_BULK_RESULTS = 2500
#: A body over its limit but under this much is read to the end (and dropped) before the
#: answer, so the client reads a clean 400 instead of a connection reset mid-upload.
_DRAIN_LIMIT = 64 * 1024 * 1024

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"-?\d{1,19}")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_DRIVE = re.compile(r"[A-Za-z]:")
#: Rounds of percent-decoding an artifact path is put through before it is judged.
_DECODE_ROUNDS = 4


def _missing(path: str) -> ApiError:
    return invalid(f"Missing value for required parameter '{path}'.")


def wrong_type(path: str, value: Any, expected: str) -> ApiError:
    """MLflow's 400 for a field of the wrong type, the value shown briefly."""
    return _wrong(path, value, expected)


def _wrong(path: str, value: Any, expected: str) -> ApiError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return invalid(f"Invalid value {shown} for parameter '{path}' supplied: expected {expected}.")


async def read_body(
    request: Request, limit: int, too_large: ApiError, *, drain: bool = True
) -> bytes:
    """The whole body, or ``too_large`` once it passes ``limit`` bytes.

    A body over the limit is still read (and dropped) up to a few tens of
    megabytes when ``drain`` is set, so the client gets the error rather than a
    reset connection; past that the connection is simply closed.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise invalid(f"Content-Length {declared[:20]!r} is not a number.")
        if int(declared) > limit:
            if drain and int(declared) <= _DRAIN_LIMIT:
                await _drop(request)
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            if drain:
                await _drop(request, size)
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _drop(request: Request, seen: int = 0) -> None:
    """Read and forget the rest of a refused body, up to the drain limit."""
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > _DRAIN_LIMIT:
            return


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def loads(body: bytes) -> Any:
    """JSON, through orjson when it is installed (the ``server`` extra; several times
    faster on a log-batch body), else the standard library. What orjson refuses and the
    standard library reads (``NaN`` literals, lone surrogates) is read by the standard
    library. One difference stays: orjson reads an integer past 64 bits as a float, so
    such a value in an integer field is refused as "not an integer" rather than "out of
    range" (a 400 either way; in a number field it is the same float)."""
    if _orjson is not None:
        try:
            return _orjson.loads(body)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(body)


def dumps(body: dict[str, Any]) -> bytes:
    """An answer's JSON, through orjson when it is installed (ten times faster than the
    standard library on a page of runs), else the standard library. NaN and infinities
    must already be spelled as protobuf spells them (strings); a stray one is written
    ``null`` by orjson and refused by the standard library, never written as bare
    ``NaN``, which is not JSON."""
    if _orjson is not None:
        try:
            return _orjson.dumps(body)
        except TypeError:  # an integer past 64 bits: the standard library writes it
            pass
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


async def read_fields(request: Request) -> Fields:
    """The request's fields: a GET's query string, else its JSON body (empty means none).

    A body must be sent as ``Content-Type: application/json``: a browser on
    another site cannot send that without asking first, so a page elsewhere
    cannot make a signed-in browser write to the store.
    """
    if request.method == "GET" and request.query_params:
        return Fields.from_query(request.query_params)
    too_large = invalid(
        f"Request bodies must be at most {MAX_JSON_BYTES} bytes; split the request "
        "(e.g. log a batch as several smaller batches)."
    )
    body = await read_body(request, MAX_JSON_BYTES, too_large)
    if not body.strip():
        return Fields({})
    if request.method != "GET" and not _is_json(request.headers.get("content-type", "")):
        raise invalid("Send the request body as JSON, with 'Content-Type: application/json'.")
    try:
        data = loads(body)
        if isinstance(data, str):  # older clients post their JSON encoded twice
            data = json.loads(data)
    except (ValueError, RecursionError) as exc:
        where = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise invalid(f"The request body is not valid JSON{where}.") from None
    if not isinstance(data, dict):
        raise invalid(f"The request body must be a JSON object, got {type(data).__name__}.")
    return Fields(data)


class Fields:
    """The fields of one request (or of one object inside it), read with their types."""

    def __init__(self, data: Mapping[str, Any], *, prefix: str = "", query: bool = False) -> None:
        self._data = data
        self._prefix = prefix
        self._query = query

    @classmethod
    def from_query(cls, params: QueryParams) -> Fields:
        """A query string's fields; a key given several times is a list."""
        data = {key: params.getlist(key) for key in params}
        return cls(data, query=True)

    def _path(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def _raw(self, name: str, *, many: bool = False) -> Any:
        value = self._data.get(name)
        if self._query and value is not None and not many:
            return value[0]
        return value

    def raw(self, name: str) -> Any:
        """A field's JSON value as sent, unchecked (None when absent): for readers that
        check a common shape fast and hand anything else to the typed methods."""
        return self._data.get(name)

    def has(self, name: str) -> bool:
        """Whether the field was sent (a JSON null counts as not sent)."""
        return self._data.get(name) is not None

    def string(self, name: str, *, required: bool = False) -> str | None:
        """A text field."""
        value = self._raw(name)
        if value is None:
            if required:
                raise _missing(self._path(name))
            return None
        if not isinstance(value, str):
            raise _wrong(self._path(name), value, "a string")
        return value

    def required_string(self, name: str) -> str:
        """A text field that must be there."""
        value = self.string(name, required=True)
        assert value is not None
        return value

    def integer(
        self, name: str, *, required: bool = False, low: int = _INT64_MIN, high: int = _INT64_MAX
    ) -> int | None:
        """A 64-bit integer field: a JSON number, or its decimal text (proto3 JSON allows both)."""
        value = self._raw(name)
        if value is None:
            if required:
                raise _missing(self._path(name))
            return None
        if isinstance(value, bool):
            raise _wrong(self._path(name), value, "an integer")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            number = int(value.strip())
        else:
            raise _wrong(self._path(name), value, "an integer")
        if not low <= number <= high:
            raise invalid(
                f"Invalid value {number} for parameter '{self._path(name)}' supplied: "
                f"it must be between {low} and {high}."
            )
        return number

    def number(self, name: str, *, required: bool = False) -> float | None:
        """A double field: a JSON number, or "NaN", "Infinity", "-Infinity" or decimal text."""
        value = self._raw(name)
        if value is None:
            if required:
                raise _missing(self._path(name))
            return None
        if isinstance(value, bool):
            raise _wrong(self._path(name), value, "a number")
        if isinstance(value, int):
            if abs(value) >= 2**1023:
                raise _wrong(self._path(name), value, "a number within a double's range")
            return float(value)
        if isinstance(value, float):
            return value
        if isinstance(value, str):
            if value in _SPECIAL_FLOATS:
                return _SPECIAL_FLOATS[value]
            try:
                parsed = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(parsed):
                    return parsed
        raise _wrong(self._path(name), value, "a number")

    def boolean(self, name: str) -> bool | None:
        """A bool field (``true``/``false``; ``"true"``/``"false"`` in a query string)."""
        value = self._raw(name)
        if isinstance(value, str) and self._query and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if value is not None and not isinstance(value, bool):
            raise _wrong(self._path(name), value, "true or false")
        return value

    def strings(self, name: str, *, required: bool = False) -> list[str]:
        """A list of texts (a repeated field)."""
        value = self._raw(name, many=True)
        if value is None or value == []:
            if required:
                raise _missing(self._path(name))
            return []
        if not isinstance(value, list):
            raise _wrong(self._path(name), value, "a list of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise _wrong(f"{self._path(name)}[{i}]", item, "a string")
        return list(value)

    def objects(self, name: str) -> list[Fields]:
        """A list of JSON objects (repeated messages), each read as :class:`Fields`."""
        value = self._raw(name, many=True)
        if value is None:
            return []
        if not isinstance(value, list) or self._query:
            raise _wrong(self._path(name), value, "a list of objects")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise _wrong(f"{self._path(name)}[{i}]", item, "an object")
            out.append(Fields(item, prefix=f"{self._path(name)}[{i}]."))
        return out

    def object(self, name: str) -> Fields:
        """A required JSON object (a nested message), read as :class:`Fields`."""
        value = self._raw(name)
        if value is None:
            raise _missing(self._path(name))
        if not isinstance(value, dict) or self._query:
            raise _wrong(self._path(name), value, "an object")
        return Fields(value, prefix=f"{self._path(name)}.")

    def enum(self, name: str, numbers: Mapping[int, str], default: str) -> str:
        """A protobuf enum field: its name ("ACTIVE_ONLY") or its number (1)."""
        value = self._raw(name)
        if value is None:
            return default
        names = set(numbers.values())
        if isinstance(value, str) and value in names:
            return value
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value in numbers:
            return numbers[value]
        raise _wrong(self._path(name), value, f"one of {', '.join(sorted(names))}")

    def run_id(self) -> str:
        """``run_id``, or the older ``run_uuid`` MLflow's clients still send."""
        value = self.string("run_id") or self.string("run_uuid")
        if not value:
            raise _missing(self._path("run_id"))
        return value


def checked_path(path: str) -> str:
    """An artifact path from a request, refused (400) unless it stays below the run's folder.

    The path is judged after percent-decoding it until it no longer changes, so
    ``%2e%2e/``, ``%252e%252e/`` and ``..%5c`` are refused like ``../``; so are
    absolute paths, drive letters and NUL. The path is returned as it came
    (decoded once, by the HTTP layer), without leading or trailing slashes.
    """
    decoded = path
    for _ in range(_DECODE_ROUNDS):
        again = unquote(decoded)
        if again == decoded:
            break
        decoded = again
    else:
        raise invalid("The artifact path is percent-encoded too many times over; send it plainly.")
    plain = decoded.replace("\\", "/")
    if "\x00" in plain or plain.startswith("/") or _DRIVE.match(plain) or ".." in plain.split("/"):
        raise invalid(
            f"Invalid artifact path {path[:200]!r}: it is absolute or contains '..' (perhaps "
            "percent-encoded) and would leave the run's artifact folder; give a path relative "
            "to the run's artifacts, e.g. 'plots/loss.png'."
        )
    return path.strip("/")
