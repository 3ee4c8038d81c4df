"""Errors on the wire: MLflow's JSON (``{"error_code": ..., "message": ...}``) and status codes.

MLflow's client turns any non-200 answer with a JSON body into an
``MlflowException`` carrying ``error_code`` and ``message``, and retries 429,
500, 502, 503 and 504 for minutes. So a mistake in the request is always a 4xx
(it will not succeed on retry) and only the store being busy or down is a 503.

Three kinds of failure reach this module:

- :class:`ApiError`, raised by the server's own checks (a malformed body, a
  limit, a missing credential), already carrying its status and code;
- :class:`carnet.errors.CarnetError`, raised by the public API; its
  ``error_code`` is MLflow's, its message says how to fix the call;
- anything else: a defect. It is logged here with its traceback, and the
  client gets ``INTERNAL_ERROR`` with a generic message, never the traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from starlette.responses import Response

from carnet.errors import CarnetError, StoreError

logger = logging.getLogger("carnet.server")

#: HTTP status of each error code, as MLflow's server answers (``mlflow/exceptions.py``),
#: except INVALID_STATE: a request about a run in the wrong state will not succeed on
#: retry, so it is a 400 here rather than MLflow's 500 (which its client retries).
STATUS = {
    "BAD_REQUEST": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
}

#: The header naming the Carnet error class of a refusal (``ParamOverwriteError``...), so
#: Carnet's REST store raises the class a direct store would; MLflow's client ignores it.
ERROR_CLASS_HEADER = "X-Carnet-Error"
GENERIC_INTERNAL = "the server failed to handle this request; its log has the details."
GENERIC_UNAVAILABLE = "the store is busy or unavailable; retry in a moment."


class ApiError(Exception):
    """A request the server refuses, with the status and MLflow error code to answer."""

    def __init__(self, error_code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.status = status if status is not None else STATUS.get(error_code, 500)

    def response(self) -> Response:
        """This error as MLflow's JSON."""
        return error_response(self.status, self.error_code, self.message)


def invalid(message: str) -> ApiError:
    """A request with a missing, malformed or out-of-range field (400)."""
    return ApiError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    """A request naming something that does not exist (404)."""
    return ApiError("RESOURCE_DOES_NOT_EXIST", message)


def not_served(what: str) -> ApiError:
    """An endpoint MLflow has and Carnet does not serve (501)."""
    return ApiError("NOT_IMPLEMENTED", f"{what} is not served by Carnet")


def error_response(
    status: int, error_code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """``{"error_code": ..., "message": ...}`` with ``status``."""
    body = json.dumps({"error_code": error_code, "message": message})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def from_carnet(exc: CarnetError, hide: Sequence[str] = ()) -> Response:
    """A Carnet error as MLflow's JSON: its own code and message for mistakes in the
    request, a generic message when the store or the server failed.

    ``hide`` lists server-side strings (the store's path, the artifact folder)
    that are cut out of a message before it leaves, should one ever carry them.
    """
    if isinstance(exc, StoreError):
        logger.warning("store unavailable: %s", exc)
        return error_response(503, "TEMPORARILY_UNAVAILABLE", GENERIC_UNAVAILABLE)
    status = STATUS.get(exc.error_code, 500)
    if status >= 500:
        logger.error("error while handling a request", exc_info=exc)
        return error_response(500, "INTERNAL_ERROR", GENERIC_INTERNAL)
    named = {ERROR_CLASS_HEADER: type(exc).__name__}
    return error_response(status, exc.error_code, redact(str(exc), hide), headers=named)


def internal_error(exc: BaseException, where: str) -> Response:
    """A defect: logged here with its traceback, answered with a generic message."""
    logger.error("unexpected error in %s", where, exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", GENERIC_INTERNAL)


def redact(message: str, hide: Sequence[str]) -> str:
    """``message`` with every non-empty string of ``hide`` replaced by ``<server>``."""
    for secret in hide:
        if secret and secret in message:
            message = message.replace(secret, "<server>")
    return message
