"""Checks on a dataset input before it is written, with MLflow's limits."""

from __future__ import annotations

from typing import Any

from carnet.entities import Dataset, DatasetInput, InputTag
from carnet.errors import InvalidValueError

#: Longest text MLflow's store takes in each dataset field.
LIMITS = {
    "name": 500,
    "digest": 36,
    "source_type": 36,
    "source": 65535,
    "schema": 1048575,
    "profile": 16777215,
}
MAX_INPUT_TAG_KEY = 255
MAX_INPUT_TAG_VALUE = 500


def check_dataset_input(item: Any) -> None:
    """Raise InvalidValueError unless ``item`` is a DatasetInput the store can keep."""
    if not isinstance(item, DatasetInput) or not isinstance(item.dataset, Dataset):
        raise InvalidValueError(
            f"log_inputs takes DatasetInput entities, got {type(item).__name__}; build one "
            "with DatasetInput(carnet.data.from_pandas(df).to_entity(), tags=[...]), or "
            "call carnet.log_input(dataset, context=...)."
        )
    for field, limit in LIMITS.items():
        value = getattr(item.dataset, field)
        required = field in ("name", "digest", "source_type", "source")
        if value is None and not required:
            continue
        if not isinstance(value, str) or (required and not value):
            raise InvalidValueError(
                f"dataset {field} must be non-empty text, got {value!r}; build datasets "
                "with carnet.data.from_pandas or from_numpy."
            )
        if len(value) > limit:
            raise InvalidValueError(
                f"dataset {field} is {len(value)} characters, above the limit of {limit}; "
                "use a shorter name or source, or a smaller DataFrame for the schema."
            )
    for tag in item.tags:
        if not isinstance(tag, InputTag) and not (isinstance(tag, tuple) and len(tag) == 2):
            raise InvalidValueError(f"input tags are InputTag(key, value) pairs, got {tag!r}.")
        key, value = tag
        if not isinstance(key, str) or not key or len(key) > MAX_INPUT_TAG_KEY:
            raise InvalidValueError(
                f"input tag key {key!r} must be text of 1 to {MAX_INPUT_TAG_KEY} characters."
            )
        if not isinstance(value, str) or len(value) > MAX_INPUT_TAG_VALUE:
            raise InvalidValueError(
                f"input tag {key!r} must have a text value of at most "
                f"{MAX_INPUT_TAG_VALUE} characters, got {str(value)[:40]!r}."
            )
