"""Logged models' ids (``m-`` and 32 hex digits, as MLflow 3 makes them) and the
``models:/<model_id>`` URI that names one: one definition for the SDK, the store, the
registry and the dashboard, so none of them reads such a URI differently."""

from __future__ import annotations

import re

__all__ = ["MODEL_ID", "logged_model_id"]

#: A logged model's id.
MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
_MODEL_URI = re.compile(r"models:/*(m-[0-9a-f]{32})/*")


def logged_model_id(uri: str) -> str | None:
    """The model id a ``models:/<model_id>`` URI names (slashes around it are forgiven),
    or None for any other text, such as a registered model's ``models:/name/3``."""
    found = _MODEL_URI.fullmatch(uri)
    return found.group(1) if found else None
