"""MLflow's model registry endpoints (``/api/2.0/mlflow/registered-models/...`` and
``/model-versions/...``): registered models, versions, tags and aliases.

Each handler reads its fields, makes the public ``Client`` registry call
(which checks names, versions, aliases and tags) and answers MLflow's JSON
(:mod:`carnet.server.registry_wire`). Missing models or versions answer 404
``RESOURCE_DOES_NOT_EXIST``, a taken name 400 ``RESOURCE_ALREADY_EXISTS``,
a bad field or filter 400 ``INVALID_PARAMETER_VALUE``; writes need a write
credential. Stages are not served (Carnet's registry has aliases only):
``transition-stage`` answers 501 like every other unserved endpoint.
"""

from __future__ import annotations

from typing import Any

from carnet.registry_client import (
    MODELS_PAGE_DEFAULT,
    MODELS_PAGE_MAX,
    VERSIONS_PAGE_DEFAULT,
    VERSIONS_PAGE_MAX,
)
from carnet.server import registry_wire as rw
from carnet.server.endpoints import Context, Endpoint, json_endpoint
from carnet.server.parsing import Fields


def _tags(fields: Fields) -> dict[str, str]:
    return {t.required_string("key"): t.string("value") or "" for t in fields.objects("tags")}


def _page_size(fields: Fields, default: int, limit: int) -> int:
    value = fields.integer("max_results", low=0, high=limit)
    return value or default


# -- registered models ----------------------------------------------------------------------


async def create_registered_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """Create a registered model."""
    name, tags, description = f.required_string("name"), _tags(f), f.string("description")
    model = await ctx.write(lambda: ctx.client.create_registered_model(name, tags, description))
    return {"registered_model": rw.registered_model(model)}


async def get_registered_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """One registered model by name."""
    name = f.required_string("name")
    return {
        "registered_model": rw.registered_model(
            await ctx.read(lambda: ctx.client.get_registered_model(name))
        )
    }


async def rename_registered_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """Rename a registered model (its versions, tags and aliases follow)."""
    name, new_name = f.required_string("name"), f.required_string("new_name")
    model = await ctx.write(lambda: ctx.client.rename_registered_model(name, new_name))
    return {"registered_model": rw.registered_model(model)}


async def update_registered_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set a registered model's description."""
    name, description = f.required_string("name"), f.string("description")
    model = await ctx.write(lambda: ctx.client.update_registered_model(name, description))
    return {"registered_model": rw.registered_model(model)}


async def delete_registered_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """Delete a registered model with its versions, tags and aliases."""
    name = f.required_string("name")
    await ctx.write(lambda: ctx.client.delete_registered_model(name))
    return {}


async def search_registered_models(f: Fields, ctx: Context) -> dict[str, Any]:
    """A page of registered models matching a filter."""
    limit = _page_size(f, MODELS_PAGE_DEFAULT, MODELS_PAGE_MAX)
    text, order_by, token = (
        f.string("filter") or None,
        f.strings("order_by") or None,
        f.string("page_token") or None,
    )
    found = await ctx.read(
        lambda: ctx.client.search_registered_models(text, limit, order_by, token)
    )
    out: dict[str, Any] = {}
    if found:
        out["registered_models"] = [rw.registered_model(m) for m in found]
    if found.token:
        out["next_page_token"] = found.token
    return out


async def get_latest_versions(f: Fields, ctx: Context) -> dict[str, Any]:
    """The newest version of a registered model (stages other than "None" match none)."""
    name, stages = f.required_string("name"), f.strings("stages") or None
    found = await ctx.read(lambda: ctx.client.get_latest_versions(name, stages))
    return {"model_versions": [rw.model_version(v) for v in found]} if found else {}


async def set_registered_model_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set one tag of a registered model."""
    name, key, value = f.required_string("name"), f.required_string("key"), f.string("value") or ""
    await ctx.write(lambda: ctx.client.set_registered_model_tag(name, key, value))
    return {}


async def delete_registered_model_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Remove one tag of a registered model."""
    name, key = f.required_string("name"), f.required_string("key")
    await ctx.write(lambda: ctx.client.delete_registered_model_tag(name, key))
    return {}


# -- aliases --------------------------------------------------------------------------------


async def set_alias(f: Fields, ctx: Context) -> dict[str, Any]:
    """Point an alias at a version."""
    name, alias, version = (
        f.required_string("name"),
        f.required_string("alias"),
        f.required_string("version"),
    )
    await ctx.write(lambda: ctx.client.set_registered_model_alias(name, alias, version))
    return {}


async def delete_alias(f: Fields, ctx: Context) -> dict[str, Any]:
    """Remove an alias."""
    name, alias = f.required_string("name"), f.required_string("alias")
    await ctx.write(lambda: ctx.client.delete_registered_model_alias(name, alias))
    return {}


async def get_by_alias(f: Fields, ctx: Context) -> dict[str, Any]:
    """The version an alias points at."""
    name, alias = f.required_string("name"), f.required_string("alias")
    version = await ctx.read(lambda: ctx.client.get_model_version_by_alias(name, alias))
    return {"model_version": rw.model_version(version)}


# -- model versions -------------------------------------------------------------------------


async def create_model_version(f: Fields, ctx: Context) -> dict[str, Any]:
    """Register a source as the model's next version."""
    name, source = f.required_string("name"), f.required_string("source")
    run_id, run_link = f.string("run_id") or None, f.string("run_link") or None
    description, model_id, tags = f.string("description"), f.string("model_id") or None, _tags(f)
    version = await ctx.write(
        lambda: ctx.client.create_model_version(
            name, source, run_id, tags, run_link, description, model_id=model_id
        )
    )
    return {"model_version": rw.model_version(version)}


async def get_model_version(f: Fields, ctx: Context) -> dict[str, Any]:
    """One version of a registered model."""
    name, version = f.required_string("name"), f.required_string("version")
    found = await ctx.read(lambda: ctx.client.get_model_version(name, version))
    return {"model_version": rw.model_version(found)}


async def update_model_version(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set a version's description."""
    name, version, description = (
        f.required_string("name"),
        f.required_string("version"),
        f.string("description"),
    )
    found = await ctx.write(lambda: ctx.client.update_model_version(name, version, description))
    return {"model_version": rw.model_version(found)}


async def delete_model_version(f: Fields, ctx: Context) -> dict[str, Any]:
    """Delete a version with its tags and aliases."""
    name, version = f.required_string("name"), f.required_string("version")
    await ctx.write(lambda: ctx.client.delete_model_version(name, version))
    return {}


async def search_model_versions(f: Fields, ctx: Context) -> dict[str, Any]:
    """A page of versions matching a filter."""
    limit = _page_size(f, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX)
    text, order_by, token = (
        f.string("filter") or None,
        f.strings("order_by") or None,
        f.string("page_token") or None,
    )
    found = await ctx.read(lambda: ctx.client.search_model_versions(text, limit, order_by, token))
    out: dict[str, Any] = {}
    if found:
        out["model_versions"] = [rw.model_version(v) for v in found]
    if found.token:
        out["next_page_token"] = found.token
    return out


async def get_download_uri(f: Fields, ctx: Context) -> dict[str, Any]:
    """Where a version's model files are (the source it was registered from)."""
    name, version = f.required_string("name"), f.required_string("version")
    uri = await ctx.read(lambda: ctx.client.get_model_version_download_uri(name, version))
    return {"artifact_uri": uri}


async def set_model_version_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set one tag of a version."""
    name, version = f.required_string("name"), f.required_string("version")
    key, value = f.required_string("key"), f.string("value") or ""
    await ctx.write(lambda: ctx.client.set_model_version_tag(name, version, key, value))
    return {}


async def delete_model_version_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Remove one tag of a version."""
    name, version, key = (
        f.required_string("name"),
        f.required_string("version"),
        f.required_string("key"),
    )
    await ctx.write(lambda: ctx.client.delete_model_version_tag(name, version, key))
    return {}


_RM = "/2.0/mlflow/registered-models"
_MV = "/2.0/mlflow/model-versions"


def _ep(method: str, path: str, handler: Any, *, write: bool = False) -> Endpoint:
    return Endpoint(method, path, json_endpoint(handler), write=write)


ENDPOINTS = [
    _ep("POST", f"{_RM}/create", create_registered_model, write=True),
    _ep("GET", f"{_RM}/get", get_registered_model),
    _ep("POST", f"{_RM}/rename", rename_registered_model, write=True),
    _ep("PATCH", f"{_RM}/update", update_registered_model, write=True),
    _ep("DELETE", f"{_RM}/delete", delete_registered_model, write=True),
    _ep("GET", f"{_RM}/search", search_registered_models),
    _ep("POST", f"{_RM}/get-latest-versions", get_latest_versions),
    _ep("GET", f"{_RM}/get-latest-versions", get_latest_versions),
    _ep("POST", f"{_RM}/set-tag", set_registered_model_tag, write=True),
    _ep("DELETE", f"{_RM}/delete-tag", delete_registered_model_tag, write=True),
    _ep("POST", f"{_RM}/alias", set_alias, write=True),
    _ep("DELETE", f"{_RM}/alias", delete_alias, write=True),
    _ep("GET", f"{_RM}/alias", get_by_alias),
    _ep("POST", f"{_MV}/create", create_model_version, write=True),
    _ep("GET", f"{_MV}/get", get_model_version),
    _ep("PATCH", f"{_MV}/update", update_model_version, write=True),
    _ep("DELETE", f"{_MV}/delete", delete_model_version, write=True),
    _ep("GET", f"{_MV}/search", search_model_versions),
    _ep("GET", f"{_MV}/get-download-uri", get_download_uri),
    _ep("POST", f"{_MV}/set-tag", set_model_version_tag, write=True),
    _ep("DELETE", f"{_MV}/delete-tag", delete_model_version_tag, write=True),
]
