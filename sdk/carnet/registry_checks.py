"""What the model registry accepts: names, versions, aliases, tags and texts, with MLflow's limits.

``Client`` checks every registry argument here before a store sees it, so a
bad call raises an ``InvalidValueError`` that says what to fix and writes
nothing. Model names cannot hold ``/`` or ``:`` (``models:/<name>/<version>``
must stay readable); aliases are letters, digits, ``_`` and ``-``, and neither
``latest`` nor ``v<digits>`` (those spell versions in a model URI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carnet.errors import InvalidValueError
from carnet.validation import validate_key, validate_name

#: MLflow's column sizes and limits for the registry.
MAX_MODEL_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 5000
MAX_SOURCE_LENGTH = 1000
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
#: Tags one call may set, and tags one registered model or version may hold.
MAX_REGISTRY_TAGS = 100
#: Version numbers are 32-bit in the store.
MAX_VERSION = 2**31 - 1

_ALIAS_RE = re.compile(r"[\w\-]+")
_VERSION_ALIAS_RE = re.compile(r"[vV]\d+")


def model_name(name: object, what: str = "registered model name") -> str:
    """A registered model name: non-blank text without ``/`` or ``:``, at most 256 characters."""
    text = validate_name(name, what, MAX_MODEL_NAME_LENGTH)
    if "/" in text or ":" in text:
        raise InvalidValueError(
            f"{what} {text!r} contains '/' or ':', which model URIs "
            "('models:/<name>/<version>') cannot carry; use letters, digits, '-', '_', '.'."
        )
    if text.strip() in (".", ".."):
        raise InvalidValueError(f"{what} {text!r} is a path step; give the model a real name.")
    return text


def version_number(version: object) -> int:
    """A version number (``1``, ``"3"``): a whole number from 1 up."""
    if isinstance(version, bool):
        raise InvalidValueError(f"version must be a whole number such as 1, got {version!r}.")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isascii() and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidValueError(
            f"version must be a whole number such as 1 or '1', got {version!r}."
        )
    if not 1 <= number <= MAX_VERSION:
        raise InvalidValueError(f"version {number} is out of range: versions count from 1.")
    return number


def alias_name(alias: object) -> str:
    """An alias such as ``champion``: letters, digits, ``_``, ``-``; not a version spelling."""
    if not isinstance(alias, str) or not alias:
        raise InvalidValueError(
            f"alias must be a non-empty string such as 'champion', got {alias!r}."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidValueError(
            f"alias is {len(alias)} characters, over the limit of {MAX_ALIAS_LENGTH}."
        )
    if not _ALIAS_RE.fullmatch(alias) or not alias.isascii():
        raise InvalidValueError(f"alias {alias!r} may only contain letters, digits, '_' and '-'.")
    if alias.lower() == "latest" or _VERSION_ALIAS_RE.fullmatch(alias):
        raise InvalidValueError(
            f"alias {alias!r} is reserved: 'latest' and 'v<number>' name versions in model "
            "URIs; pick another alias such as 'champion'."
        )
    return alias


def optional_text(value: object, what: str, limit: int) -> str | None:
    """A description, source or link: None, or text of at most ``limit`` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(f"{what} must be a string, got {type(value).__name__}.")
    if len(value) > limit:
        raise InvalidValueError(f"{what} is {len(value)} characters, over the limit of {limit}.")
    if "\x00" in value:
        raise InvalidValueError(f"{what} contains a NUL character (\\x00); remove it.")
    return value


def registry_tag(key: object, value: object) -> tuple[str, str]:
    """A registry tag: a key as run tags have them, a value of at most 100,000 characters."""
    clean = validate_key(key, "tag")
    text = value if isinstance(value, str) else str(value)
    checked = optional_text(text, f"tag {clean!r} value", MAX_REGISTRY_TAG_VALUE_LENGTH)
    assert checked is not None
    return clean, checked


def registry_tags(tags: Mapping[Any, Any] | None) -> dict[str, str]:
    """Tags of a create call (``None``: none), every one checked, at most 100."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidValueError(
            f"tags must be a dict of key -> value, got {type(tags).__name__}; "
            "e.g. {'team': 'risk'}."
        )
    if len(tags) > MAX_REGISTRY_TAGS:
        raise InvalidValueError(
            f"{len(tags)} tags in one call, over the limit of {MAX_REGISTRY_TAGS}."
        )
    return dict(registry_tag(k, v) for k, v in tags.items())
