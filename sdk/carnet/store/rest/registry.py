"""``RestRegistry``: the ``ModelRegistry`` protocol over MLflow's registry REST API.

``RestStore`` inherits it, so Carnet's SDK on an ``http(s)://`` tracking URI
registers, searches and aliases models on the server (``carnet server``, or
MLflow's own). Each method is one request to ``/api/2.0/mlflow/registered-models/...``
or ``/model-versions/...``; the server checks and writes, and a refusal raises
the Carnet error its store raised. Creating, renaming and deleting are sent once
unless the request surely did not reach the server (repeating them could act
twice); the rest are retried like reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carnet.entities import ModelVersion, RegisteredModel
from carnet.errors import ModelVersionNotFoundError, NotFoundError, RegisteredModelNotFoundError
from carnet.store.rest.session import Retry
from carnet.store.rest.wire import read_int, read_pairs

_RM = "/registered-models"
_MV = "/model-versions"


def read_model_version(data: Mapping[str, Any]) -> ModelVersion:
    """A ``ModelVersion`` message as the entity."""
    return ModelVersion(
        name=str(data.get("name", "")),
        version=str(data.get("version", "")),
        creation_timestamp=read_int(data.get("creation_timestamp"), 0) or 0,
        last_updated_timestamp=read_int(data.get("last_updated_timestamp")),
        description=data.get("description"),
        user_id=data.get("user_id"),
        current_stage=str(data.get("current_stage") or "None"),
        source=data.get("source"),
        run_id=data.get("run_id"),
        status=str(data.get("status") or "READY"),
        status_message=data.get("status_message"),
        tags=read_pairs(data.get("tags")),
        run_link=data.get("run_link"),
        aliases=[str(a) for a in data.get("aliases") or ()],
        model_id=data.get("model_id"),
    )


def read_registered_model(data: Mapping[str, Any]) -> RegisteredModel:
    """A ``RegisteredModel`` message as the entity."""
    return RegisteredModel(
        name=str(data.get("name", "")),
        creation_timestamp=read_int(data.get("creation_timestamp"), 0) or 0,
        last_updated_timestamp=read_int(data.get("last_updated_timestamp")),
        description=data.get("description"),
        latest_versions=[read_model_version(v) for v in data.get("latest_versions") or ()],
        tags=read_pairs(data.get("tags")),
        aliases={str(a["alias"]): str(a["version"]) for a in data.get("aliases") or ()},
    )


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in (tags or {}).items()]


class RestRegistry:
    """The registry calls of ``RestStore`` (which provides ``_call`` and ``check_writable``)."""

    def _call(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
        retry: Retry = Retry.SAFE,
        not_found: type[NotFoundError] = NotFoundError,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        raise NotImplementedError  # RestStore's

    def check_writable(self) -> None:
        """Raise ``ReadOnlyError`` on a read-only store (RestStore's)."""
        raise NotImplementedError

    def _write(
        self, method: str, endpoint: str, body: dict[str, Any], retry: Retry = Retry.SAFE
    ) -> dict[str, Any]:
        self.check_writable()
        missing = ModelVersionNotFoundError if "version" in body else RegisteredModelNotFoundError
        return self._call(method, endpoint, body, retry=retry, not_found=missing)

    def _read(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        missing = (
            ModelVersionNotFoundError
            if "version" in params or "alias" in params
            else RegisteredModelNotFoundError
        )
        return self._call("GET", endpoint, params=params, not_found=missing)

    # -- registered models ----------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """A new registered model; ``RegisteredModelExistsError`` when the name is taken."""
        body: dict[str, Any] = {"name": name, "tags": _tags(tags)}
        if description is not None:
            body["description"] = description
        data = self._write("POST", f"{_RM}/create", body, Retry.UNSENT)
        return read_registered_model(data["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model, with its newest version, tags and aliases."""
        return read_registered_model(self._read(f"{_RM}/get", {"name": name})["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags and aliases follow it."""
        body = {"name": name, "new_name": new_name}
        data = self._write("POST", f"{_RM}/rename", body, Retry.UNSENT)
        return read_registered_model(data["registered_model"])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        data = self._write("PATCH", f"{_RM}/update", body)
        return read_registered_model(data["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, tags and aliases."""
        self._write("DELETE", f"{_RM}/delete", {"name": name}, Retry.UNSENT)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        """One page of matching registered models and the next page's token."""
        params = _search_params(filter_string, max_results, order_by, page_token)
        data = self._call("GET", f"{_RM}/search", params=params)
        found = [read_registered_model(m) for m in data.get("registered_models") or ()]
        return found, data.get("next_page_token") or None

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a registered model."""
        self._write("POST", f"{_RM}/set-tag", {"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one tag of a registered model."""
        self._write("DELETE", f"{_RM}/delete-tag", {"name": name, "key": key})

    # -- versions -------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """The model's next version; the model must exist."""
        body: dict[str, Any] = {"name": name, "source": source, "tags": _tags(tags)}
        for key, value in (
            ("run_id", run_id),
            ("run_link", run_link),
            ("description", description),
            ("model_id", model_id),
        ):
            if value is not None:
                body[key] = value
        self.check_writable()
        data = self._call(
            "POST",
            f"{_MV}/create",
            body,
            retry=Retry.UNSENT,
            not_found=RegisteredModelNotFoundError,
        )
        return read_model_version(data["model_version"])

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model."""
        params = {"name": name, "version": str(version)}
        return read_model_version(self._read(f"{_MV}/get", params)["model_version"])

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        body: dict[str, Any] = {"name": name, "version": str(version)}
        if description is not None:
            body["description"] = description
        return read_model_version(self._write("PATCH", f"{_MV}/update", body)["model_version"])

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version with its tags and the aliases that point to it."""
        body = {"name": name, "version": str(version)}
        self._write("DELETE", f"{_MV}/delete", body, Retry.UNSENT)

    def get_latest_versions(self, name: str) -> list[ModelVersion]:
        """The newest version of a model, in a list (empty before the first version)."""
        data = self._call(
            "POST",
            f"{_RM}/get-latest-versions",
            {"name": name},
            not_found=RegisteredModelNotFoundError,
        )
        return [read_model_version(v) for v in data.get("model_versions") or ()]

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """Where a version's model files are."""
        params = {"name": name, "version": str(version)}
        return str(self._read(f"{_MV}/get-download-uri", params)["artifact_uri"])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        """One page of matching versions and the next page's token."""
        params = _search_params(filter_string, max_results, order_by, page_token)
        data = self._call("GET", f"{_MV}/search", params=params)
        found = [read_model_version(v) for v in data.get("model_versions") or ()]
        return found, data.get("next_page_token") or None

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a version."""
        body = {"name": name, "version": str(version), "key": key, "value": value}
        self._write("POST", f"{_MV}/set-tag", body)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove one tag of a version."""
        body = {"name": name, "version": str(version), "key": key}
        self._write("DELETE", f"{_MV}/delete-tag", body)

    # -- aliases --------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version``."""
        body = {"name": name, "alias": alias, "version": str(version)}
        self._write("POST", f"{_RM}/alias", body)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._write("DELETE", f"{_RM}/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at."""
        data = self._read(f"{_RM}/alias", {"name": name, "alias": alias})
        return read_model_version(data["model_version"])


def _search_params(
    filter_string: str | None,
    max_results: int | None,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if filter_string:
        params["filter"] = filter_string
    if max_results is not None:
        params["max_results"] = max_results
    if order_by:
        params["order_by"] = list(order_by)
    if page_token:
        params["page_token"] = page_token
    return params
