"""MLflow's fluent registry functions: ``register_model``, ``search_registered_models``,
``search_model_versions``, over the current tracking URI's ``Client``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carnet import run_context
from carnet.client import Client
from carnet.entities import ModelVersion, RegisteredModel
from carnet.errors import InvalidValueError, RegisteredModelExistsError
from carnet.model_ids import logged_model_id

__all__ = ["register_model", "search_model_versions", "search_registered_models"]


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` (``runs:/<run_id>/model``, ``models:/m-...``) as
    the next version of ``name``, creating the registered model first if it is new, as
    MLflow does. Returns the new :class:`~carnet.entities.ModelVersion`; load it with
    ``models:/<name>/<version>``. A version is READY at once, so there is nothing to
    wait for: ``await_registration_for`` is accepted for MLflow's callers and unused.
    """
    if not isinstance(model_uri, str) or not model_uri:
        raise InvalidValueError(
            f"model_uri must be a model URI such as 'runs:/<run_id>/model', got {model_uri!r}."
        )
    logged = logged_model_id(model_uri)
    return register_version(run_context.client(), model_uri, name, tags, logged)


def register_version(
    client: Client,
    source: str,
    name: str,
    tags: dict[str, Any] | None = None,
    model_id: str | None = None,
) -> ModelVersion:
    """``source`` as the next version of ``name`` through ``client``, creating the
    registered model if it is new (what ``register_model`` and ``log_model`` do)."""
    try:
        client.create_registered_model(name)
    except RegisteredModelExistsError:
        pass
    return client.create_model_version(name, source, tags=tags, model_id=model_id)


def _every_page(fetch: Any, max_results: int | None, page_size: int) -> list[Any]:
    found: list[Any] = []
    token: str | None = None
    while True:
        size = page_size if max_results is None else min(page_size, max_results - len(found))
        page = fetch(size, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            return found


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Every registered model matching ``filter_string`` (or the first ``max_results``),
    by name unless ``order_by`` says otherwise (MLflow's fluent signature)."""
    client: Client = run_context.client()
    return _every_page(
        lambda size, token: client.search_registered_models(filter_string, size, order_by, token),
        max_results,
        1000,
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[ModelVersion]:
    """Every model version matching ``filter_string`` (or the first ``max_results``),
    newest update first unless ``order_by`` says otherwise (MLflow's fluent signature)."""
    client: Client = run_context.client()
    return _every_page(
        lambda size, token: client.search_model_versions(filter_string, size, order_by, token),
        max_results,
        10_000,
    )
