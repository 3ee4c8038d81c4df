"""The scoring server's refusals: an HTTP status, MLflow's ``error_code`` and a message.

MLflow's scoring server answers a bad body with ``{"error_code": "BAD_REQUEST",
"message": ...}`` (and a stack trace, which Carnet never sends); a body that
does not fit the signature with ``INVALID_PARAMETER_VALUE``. Both are 400s: the
same body will not succeed on retry.
"""

from __future__ import annotations

import json

BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
INTERNAL_ERROR = "INTERNAL_ERROR"
JSON_TYPE = "application/json"


class ScoringError(Exception):
    """A request the scoring server refuses, with the status and MLflow code to answer."""

    def __init__(self, message: str, *, status: int = 400, error_code: str = BAD_REQUEST):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    def body(self) -> bytes:
        """MLflow's error JSON."""
        return error_body(self.error_code, self.message)


def error_body(error_code: str, message: str) -> bytes:
    """``{"error_code": ..., "message": ...}`` as UTF-8 bytes."""
    return json.dumps({"error_code": error_code, "message": message}).encode()


def bad_input(message: str) -> ScoringError:
    """A body that cannot be read as one of MLflow's formats (400 ``BAD_REQUEST``),
    worded as MLflow words it ("Invalid input. ...")."""
    return ScoringError(f"Invalid input. {message}")


def short(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters (messages never echo a whole body)."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
