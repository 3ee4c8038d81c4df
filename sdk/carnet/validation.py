"""Key and value rules shared by every write, checked before anything touches the store."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import Any

from carnet.errors import InvalidKeyError, InvalidValueError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RUN_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_BATCH_ITEMS = 1_000_000
MAX_RUN_ID_LENGTH = 256

#: The tag that holds a run's name, and the one that links a child run to its parent.
RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT_INT_LIMIT = 2**1023
_KEY_RE = re.compile(r"^[\w\-./: ]+$")
#: MLflow's run id rule: a letter or digit, then letters, digits, '_' or '-'.
_RUN_ID_RE = re.compile(r"[a-zA-Z0-9][\w\-]*", re.ASCII)
_good_keys: set[str] = set()


def validate_key(key: object, kind: str) -> str:
    """Return ``key`` if it is a legal param, metric or tag key, else raise."""
    if key.__class__ is str and key in _good_keys:
        return key
    if not isinstance(key, str):
        raise InvalidKeyError(
            f"{kind} key must be a string, got {type(key).__name__} {key!r}; "
            f"pass the name as text, e.g. str(key)."
        )
    if not key:
        raise InvalidKeyError(f"{kind} key must not be empty; give the {kind} a name.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(
            f"{kind} key is {len(key)} characters long, over the limit of {MAX_KEY_LENGTH}; "
            f"use a shorter name ({key[:40]!r}...)."
        )
    if not _KEY_RE.fullmatch(key):
        bad = sorted({c for c in key if not re.match(r"[\w\-./: ]", c)})
        raise InvalidKeyError(
            f"{kind} key {key!r} contains {''.join(bad)!r}; keys may contain only letters, "
            "digits, underscores, dashes, periods, slashes, colons and spaces."
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidKeyError(
            f"{kind} key {key!r} looks like a path that escapes ('..' or a leading '/'); "
            "drop the leading slash and any '..' segment."
        )
    if len(_good_keys) < 100_000:
        _good_keys.add(key)
    return key


def validate_metric_value(key: str, value: object) -> float:
    """Metrics are real numbers; NaN and infinities are kept as they are."""
    cls = value.__class__
    if cls is float:
        return value  # type: ignore[return-value]
    if cls is int and -_FLOAT_INT_LIMIT < value < _FLOAT_INT_LIMIT:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(
            f"metric {key!r} got {type(value).__name__} {value!r}, but metric values must be "
            "real numbers (int or float, NaN and infinity allowed); convert it with float() "
            "or log it as a param or tag instead."
        )
    if type(value).__name__ in ("bool_", "bool"):
        raise InvalidValueError(f"metric {key!r} got a boolean; log 0 or 1 as a number instead.")
    try:
        return float(value)
    except (OverflowError, ValueError) as exc:  # e.g. a Fraction too large for a float
        raise InvalidValueError(
            f"metric {key!r}: {value!r} is not representable as a float"
        ) from exc


def _int64(key: str, what: str, number: int) -> int:
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise InvalidValueError(
            f"metric {key!r} got {what} {number}, outside the 64-bit integer range the store "
            f"keeps ({_INT64_MIN} to {_INT64_MAX}); use a smaller {what}."
        )
    return number


def validate_step(key: str, step: object) -> int:
    """A metric point's step as a 64-bit integer (None means 0), else raise."""
    if step is None:
        return 0
    if step.__class__ is int and _INT64_MIN <= step <= _INT64_MAX:
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidValueError(
            f"metric {key!r} got step {step!r} ({type(step).__name__}); step must be an "
            "integer such as an epoch or batch counter, e.g. step=int(epoch)."
        )
    return _int64(key, "step", int(step))


def validate_timestamp(key: str, timestamp: object) -> int:
    """A metric point's (or run's) time as 64-bit integer milliseconds, else raise."""
    if timestamp.__class__ is int and _INT64_MIN <= timestamp <= _INT64_MAX:
        return timestamp
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Integral):
        raise InvalidValueError(
            f"metric {key!r} got timestamp {timestamp!r}; timestamps are integer milliseconds "
            "since the epoch, e.g. int(time.time() * 1000), or leave it out."
        )
    return _int64(key, "timestamp", int(timestamp))


def _no_nul(what: str, text: str, key: str | None = None) -> str:
    """Text columns hold valid Unicode without NUL; say so before the database does.

    The message names ``what`` (followed by ``key`` when given, so callers on
    the hot path build no text unless there is something to say).
    """
    if "\x00" not in text and text.isascii():
        return text
    if key is not None:
        what = f"{what} {key!r}"
    if "\x00" in text:
        raise InvalidValueError(
            f"{what} contains a NUL character (\\x00), which text columns cannot store; "
            "remove it or log binary data as an artifact."
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValueError(
                f"{what} contains {text[exc.start]!r} at position {exc.start}, which is not "
                "valid Unicode (a lone surrogate); decode the text properly before logging it."
            ) from None
    return text


def param_value_text(key: str, value: object) -> str:
    """Params are stored as text, as MLflow does; numbers keep Python's repr."""
    text = _no_nul("param", value if isinstance(value, str) else str(value), key)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidValueError(
            f"param {key!r} value is {len(text)} characters, over the limit of "
            f"{MAX_PARAM_VALUE_LENGTH}; log long values as an artifact with log_text or log_dict."
        )
    return text


def tag_value_text(key: str, value: object) -> str:
    """Tags are stored as text of at most ``MAX_TAG_VALUE_LENGTH`` characters."""
    text = _no_nul("tag", value if isinstance(value, str) else str(value), key)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidValueError(
            f"tag {key!r} value is {len(text)} characters, over the limit of "
            f"{MAX_TAG_VALUE_LENGTH}; log long values as an artifact with log_text."
        )
    return text


def run_tag(key: object, value: object) -> tuple[str, str]:
    """A run tag, checked: the run-name tag obeys the run-name rules, since it renames the run.

    Every way of writing run tags (``create_run``, ``log_batch``, ``set_tag``,
    resuming a run) goes through here, so a name that ``create_run`` refuses
    cannot arrive through ``set_tag("mlflow.runName", ...)`` either.
    """
    clean_key = validate_key(key, "tag")
    if clean_key == RUN_NAME_TAG:
        text = value if isinstance(value, str) else str(value)
        return clean_key, validate_name(text, "run name", MAX_RUN_NAME_LENGTH)
    return clean_key, tag_value_text(clean_key, value)


def run_tags(tags: Mapping[Any, Any] | Iterable[Any] | None) -> list[tuple[str, str]]:
    """Run tags from a dict or from (key, value) pairs (``None``: none), all checked first."""
    if tags is None:
        return []
    pairs = tags.items() if isinstance(tags, Mapping) else tags
    return [run_tag(k, v) for k, v in pairs]


def validate_run_id(run_id: object, what: str = "run_id") -> str:
    """A run id as MLflow writes them (the 32 hex digits Carnet makes are one)."""
    if not isinstance(run_id, str):
        raise InvalidValueError(
            f"{what} must be a run id string such as run.info.run_id, got "
            f"{type(run_id).__name__} {run_id!r}."
        )
    if len(run_id) > MAX_RUN_ID_LENGTH or not _RUN_ID_RE.fullmatch(run_id):
        shown = run_id if len(run_id) <= 40 else run_id[:40] + "..."
        raise InvalidValueError(
            f"{what} {shown!r} is not a run id: run ids are at most {MAX_RUN_ID_LENGTH} "
            "letters, digits, '_' or '-' (Carnet's are 32 hex digits); pass run.info.run_id."
        )
    return run_id


def numeric_value(text: str) -> float | None:
    """The number a param's text spells, so ``params.alpha < 0.1`` compares numbers."""
    if not text or len(text) > 64:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isnan(number):
        return None
    return number


def validate_name(name: object, what: str, limit: int) -> str:
    """Experiment and run names: non-blank text of at most ``limit`` characters."""
    if not isinstance(name, str):
        raise InvalidValueError(f"{what} must be a string, got {type(name).__name__} {name!r}.")
    if not name.strip():
        raise InvalidValueError(f"{what} must not be empty or blank; give it a name.")
    if len(name) > limit:
        raise InvalidValueError(f"{what} is {len(name)} characters, over the limit of {limit}.")
    return _no_nul(what, name)


def as_dict(value: Any, what: str) -> dict[Any, Any]:
    """A dict argument of the fluent API (``None``: empty), refused early if it is not one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValueError(
            f"{what} must be a dict of key -> value, got {type(value).__name__}; "
            "e.g. {'alpha': 0.1}."
        )
    return value
