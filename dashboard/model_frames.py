"""The run page's table of logged models: one row per model, its signature as text.

Pure (no ``st.*``): models and their ``MLmodel`` descriptors in, a DataFrame of
text out, so every name and type is shown as text, never rendered as markup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from carnet.entities import LoggedModel

COLUMNS = ["name", "model_id", "status", "created", "flavors", "inputs", "outputs"]


def _spec_text(spec: Mapping[str, Any]) -> str:
    """One column or tensor of a schema: ``age: double``, ``float64 [-1, 3]``."""
    name = spec.get("name")
    if spec.get("type") == "tensor":
        tensor = spec.get("tensor-spec") or {}
        kind = f"{tensor.get('dtype')} {tensor.get('shape')}"
    else:
        kind = str(spec.get("type"))
        if spec.get("required") is False:
            kind += " (optional)"
    return f"{name}: {kind}" if name else kind


def schema_text(schema: Any) -> str:
    """A signature's ``inputs`` or ``outputs`` as ``name: type, ...`` (MLflow's JSON text)."""
    if not schema:
        return ""
    try:
        specs = json.loads(schema) if isinstance(schema, str) else schema
        return ", ".join(_spec_text(s) for s in specs)
    except (ValueError, TypeError, AttributeError):
        return str(schema)


def logged_model_rows(
    models: Sequence[LoggedModel], descriptors: Mapping[str, Mapping[str, Any] | None]
) -> pd.DataFrame:
    """One row per model: name, id, status, creation time (UTC), flavours and signature."""
    rows = []
    for m in models:
        descriptor = descriptors.get(m.model_id) or {}
        signature = descriptor.get("signature") or {}
        flavors = descriptor.get("flavors") or {}
        created = datetime.fromtimestamp(m.creation_timestamp / 1000, UTC)
        rows.append(
            {
                "name": m.name,
                "model_id": m.model_id,
                "status": m.status.value,
                "created": created.strftime("%Y-%m-%d %H:%M:%S"),
                "flavors": ", ".join(sorted(str(f) for f in flavors)),
                "inputs": schema_text(signature.get("inputs")),
                "outputs": schema_text(signature.get("outputs")),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
