"""MLflow's error answers (``{"error_code": ..., "message": ...}``) as Carnet's error classes.

A tracking server says what went wrong with MLflow's ``error_code``; this
module raises the Carnet error a local store would have raised for the same
mistake, with the server's message. ``carnet server`` also names the exact
class in the ``X-Carnet-Error`` header (``ParamOverwriteError``,
``RunNotActiveError``...), which is used when it refines the code's class; any
other server gets the class of the code. Not-found answers become the
not-found class of what the request was about (experiment, run or artifact).

An answer with no JSON error (a proxy's HTML page) is judged by its status.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx

from carnet import errors
from carnet.errors import (
    CarnetError,
    ConfigurationError,
    ExperimentExistsError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyError,
    StateError,
    StoreError,
)

#: The header in which ``carnet server`` names the Carnet error class it answers for.
ERROR_CLASS_HEADER = "X-Carnet-Error"

#: The class each of MLflow's error codes stands for.
CODES: dict[str, type[CarnetError]] = {
    "INVALID_PARAMETER_VALUE": InvalidInputError,
    "BAD_REQUEST": InvalidInputError,
    "MALFORMED_REQUEST": InvalidInputError,
    "INVALID_STATE": StateError,
    "RESOURCE_ALREADY_EXISTS": ExperimentExistsError,
    "RESOURCE_DOES_NOT_EXIST": NotFoundError,
    "UNAUTHENTICATED": ConfigurationError,
    "PERMISSION_DENIED": ReadOnlyError,
    "ENDPOINT_NOT_FOUND": ConfigurationError,
    "NOT_IMPLEMENTED": ConfigurationError,
    "TEMPORARILY_UNAVAILABLE": StoreError,
    "REQUEST_LIMIT_EXCEEDED": StoreError,
    "INTERNAL_ERROR": StoreError,
}

#: Every class of :mod:`carnet.errors`, by name (what the ``X-Carnet-Error`` header holds).
CLASSES: dict[str, type[CarnetError]] = {
    name: cls
    for name, cls in vars(errors).items()
    if inspect.isclass(cls) and issubclass(cls, CarnetError)
}


def _by_status(status: int) -> type[CarnetError]:
    if status in (401, 407):
        return ConfigurationError
    if status == 403:
        return ReadOnlyError
    if status == 404:
        return NotFoundError
    if status in (405, 501):
        return ConfigurationError
    if 400 <= status < 500 and status not in (408, 429):
        return InvalidInputError
    return StoreError


def _error_json(response: httpx.Response) -> tuple[str | None, str | None]:
    """The answer's ``error_code`` and ``message``, when it is MLflow's error JSON."""
    try:
        data: Any = json.loads(response.content)
    except (ValueError, UnicodeError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    code, message = data.get("error_code"), data.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) and message.strip() else None,
    )


def error_class(
    code: str | None,
    status: int,
    named: str | None = None,
    not_found: type[NotFoundError] = NotFoundError,
) -> type[CarnetError]:
    """The Carnet class for an answer: the header's class when it refines the code's (or
    carries the same code, as ``RegisteredModelExistsError`` does), else the code's class
    (a not-found one made ``not_found``), else the status's."""
    base = CODES.get(code or "") or _by_status(status)
    refined = CLASSES.get(named or "")
    if refined is not None and (issubclass(refined, base) or refined.error_code == code):
        return refined
    if base is NotFoundError and (code == "RESOURCE_DOES_NOT_EXIST" or status == 404):
        return not_found
    return base


def from_response(
    response: httpx.Response,
    where: str,
    *,
    not_found: type[NotFoundError] = NotFoundError,
) -> CarnetError:
    """The Carnet error for a refused request; ``where`` names the server and endpoint for
    answers that carry no message of their own."""
    code, message = _error_json(response)
    cls = error_class(code, response.status_code, response.headers.get(ERROR_CLASS_HEADER),
                      not_found)  # fmt: skip
    if message is None:
        reason = response.reason_phrase or "error"
        message = f"{where} answered {response.status_code} {reason}"
        if response.status_code in (401, 403):
            message += (
                "; set CARNET_TRACKING_TOKEN (or MLFLOW_TRACKING_TOKEN), or a user name and "
                "password, to a credential the server accepts"
            )
        message += "."
    error = cls(message)
    error.error_code = code or error.error_code
    return error
