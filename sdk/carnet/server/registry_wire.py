"""Registry entities as MLflow's JSON (``RegisteredModel`` and ``ModelVersion`` messages).

As protobuf's JSON: unset fields are left out, timestamps are numbers and a
version is text (``"1"``); tags are ``{key, value}`` lists and a registered
model's aliases ``{alias, version}`` objects.
"""

from __future__ import annotations

from typing import Any

from carnet.entities import ModelVersion, RegisteredModel


def _set(out: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def model_version(version: ModelVersion) -> dict[str, Any]:
    """A ``ModelVersion`` message."""
    out: dict[str, Any] = {
        "name": version.name,
        "version": version.version,
        "creation_timestamp": version.creation_timestamp,
        "current_stage": version.current_stage,
        "status": version.status,
    }
    _set(
        out,
        last_updated_timestamp=version.last_updated_timestamp,
        description=version.description,
        user_id=version.user_id,
        source=version.source,
        run_id=version.run_id,
        status_message=version.status_message,
        run_link=version.run_link,
        model_id=version.model_id,
    )
    if version.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in version.tags.items()]
    if version.aliases:
        out["aliases"] = list(version.aliases)
    return out


def registered_model(model: RegisteredModel) -> dict[str, Any]:
    """A ``RegisteredModel`` message."""
    out: dict[str, Any] = {"name": model.name, "creation_timestamp": model.creation_timestamp}
    _set(out, last_updated_timestamp=model.last_updated_timestamp, description=model.description)
    if model.latest_versions:
        out["latest_versions"] = [model_version(v) for v in model.latest_versions]
    if model.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in model.tags.items()]
    if model.aliases:
        out["aliases"] = [{"alias": a, "version": v} for a, v in model.aliases.items()]
    return out
