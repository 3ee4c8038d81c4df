"""``ModelRegistry``: the registry operations ``Client`` needs from a store, as a typed protocol.

Both backends have them: the SQL store (``model_registry.py``) and the REST
store (``rest/registry.py``, MLflow's registry REST API). Names, versions,
aliases and tags arrive checked (``carnet.registry_checks``); a store
enforces what needs its data: existence, unique names, counts. Versions are
numbers here and text (``"1"``) in the entities, as in MLflow. Every failed
call writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from carnet.entities import ModelVersion, RegisteredModel


@runtime_checkable
class ModelRegistry(Protocol):
    """Registered models, their versions, tags and aliases (MLflow's registry store)."""

    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """A new registered model; ``RegisteredModelExistsError`` when the name is taken."""
        ...

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model, with its newest version, tags and aliases."""
        ...

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags and aliases follow it."""
        ...

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        ...

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, tags and aliases (not undoable, as in MLflow)."""
        ...

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        """One page of matching registered models (by name by default) and the next token."""
        ...

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a registered model."""
        ...

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one tag of a registered model; a tag it lacks is not an error (as MLflow)."""
        ...

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
        """The model's next version (1, 2, ...), READY at once; the model must exist."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model."""
        ...

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        ...

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version with its tags and the aliases that point to it."""
        ...

    def get_latest_versions(self, name: str) -> list[ModelVersion]:
        """The newest version of a model, in a list (empty before the first version)."""
        ...

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """Where a version's model files are: its storage location (the source it was made from)."""
        ...

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        """One page of matching versions (newest update first by default) and the next token."""
        ...

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a version."""
        ...

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove one tag of a version; a tag it lacks is not an error (as MLflow)."""
        ...

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        ...

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; an alias the model lacks is not an error (as MLflow)."""
        ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ``ModelVersionNotFoundError`` if none."""
        ...
