"""``RegistryClient``: the model registry half of ``Client``, shaped like ``MlflowClient``'s.

``Client`` inherits these methods. Each checks its arguments
(``carnet.registry_checks``) and hands them to the store's registry
(``carnet.store.ModelRegistry``): the SQL store's tables, or a tracking
server's registry endpoints. Versions come back as text (``"1"``) as in
MLflow; they are taken as ``1`` or ``"1"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from carnet.entities import ModelVersion, PagedList, RegisteredModel
from carnet.errors import InvalidValueError, NotFoundError, StoreError
from carnet.model_ids import logged_model_id
from carnet.registry_checks import (
    MAX_DESCRIPTION_LENGTH,
    MAX_SOURCE_LENGTH,
    alias_name,
    model_name,
    optional_text,
    registry_tag,
    registry_tags,
    version_number,
)
from carnet.store import ModelRegistry, Store
from carnet.validation import validate_key, validate_run_id

#: MLflow's page sizes: default and largest for registered models, then for versions.
MODELS_PAGE_DEFAULT, MODELS_PAGE_MAX = 100, 1000
VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX = 10_000, 200_000

_RUNS_SOURCE = re.compile(r"runs:/+([^/]+)/")


def _page_size(value: object, largest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        raise InvalidValueError(
            f"max_results must be a whole number from 1 to {largest}, got {value!r}."
        )
    return value


def _order_by(order_by: object) -> list[str] | None:
    if order_by is None:
        return None
    if isinstance(order_by, str):
        return [order_by]
    if not isinstance(order_by, (list, tuple)) or not all(isinstance(o, str) for o in order_by):
        raise InvalidValueError(
            f"order_by must be a list of strings such as ['name ASC'], got {order_by!r}."
        )
    return list(order_by)


def _no_stage(version: str | int | None, stage: str | None) -> str | int:
    """The version of a tag call; MLflow's deprecated ``stage=`` has no meaning here."""
    if stage is not None:
        raise InvalidValueError(
            "Carnet's registry has no stages; name the version (version=1) or use an alias."
        )
    if version is None:
        raise InvalidValueError("version is required, e.g. set_model_version_tag(name, 1, k, v).")
    return version


def source_run_id(source: str) -> str | None:
    """The run of a ``runs:/<run_id>/<path>`` source, as MLflow records it; else None."""
    match = _RUNS_SOURCE.match(source)
    return match.group(1) if match else None


class RegistryClient:
    """Registered models, versions, tags and aliases of the client's store (``MlflowClient``'s
    registry methods)."""

    store: Store

    @property
    def _registry(self) -> ModelRegistry:
        # Checked once per store: isinstance on a runtime protocol walks all its methods,
        # which cost more than a whole search.
        store = self.store
        if getattr(self, "_registry_of", None) is not store:
            if not isinstance(store, ModelRegistry):
                raise StoreError(
                    f"the store at {store.uri} has no model registry; use a SQLite, "
                    "PostgreSQL or carnet server tracking URI."
                )
            self._registry_of = store
        return store

    # -- registered models ----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model; a name in use raises ``RegisteredModelExistsError``."""
        return self._registry.create_registered_model(
            model_name(name),
            registry_tags(tags),
            optional_text(description, "description", MAX_DESCRIPTION_LENGTH),
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its newest version (``latest_versions``), tags and aliases."""
        return self._registry.get_registered_model(model_name(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions, tags and aliases follow."""
        return self._registry.rename_registered_model(
            model_name(name), model_name(new_name, "new_name")
        )

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a registered model's description."""
        return self._registry.update_registered_model(
            model_name(name), optional_text(description, "description", MAX_DESCRIPTION_LENGTH)
        )

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases (the runs and their
        model files stay)."""
        self._registry.delete_registered_model(model_name(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = MODELS_PAGE_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of registered models matching a filter (``name LIKE 'fraud%'``,
        ``tags.team = 'risk'``), by name unless ``order_by`` says otherwise
        (``name``, ``creation_timestamp``, ``last_updated_timestamp`` with ASC/DESC);
        ``.token`` gives the next page."""
        found, token = self._registry.search_registered_models(
            filter_string,
            _page_size(max_results, MODELS_PAGE_MAX),
            _order_by(order_by),
            page_token,
        )
        return PagedList(list(found), token)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version of a model (Carnet has no stages: every version is in stage
        ``"None"``, so asking only for other stages gives an empty list)."""
        if stages and not any(str(s).lower() == "none" for s in stages):
            model_name(name)
            return []
        return self._registry.get_latest_versions(model_name(name))

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set one tag of a registered model (a value of at most 100,000 characters)."""
        clean_key, text = registry_tag(key, value)
        self._registry.set_registered_model_tag(model_name(name), clean_key, text)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one tag of a registered model."""
        self._registry.delete_registered_model_tag(model_name(name), validate_key(key, "tag"))

    # -- versions -------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register ``source`` (``runs:/<run_id>/model``, ``models:/m-...``, a folder) as the
        model's next version; ``run_id`` defaults to the run of a ``runs:/`` source or of the
        logged model (``models:/<model_id>`` or ``model_id``), as on MLflow 3. The
        version is READY at once (``await_creation_for`` is accepted and unused)."""
        checked = optional_text(source, "source", MAX_SOURCE_LENGTH)
        if not checked:
            raise InvalidValueError(
                "source must name the model's files, e.g. 'runs:/<run_id>/model'."
            )
        run = run_id if run_id is not None else source_run_id(checked)
        logged = logged_model_id(checked)
        if model_id is None and logged is not None:
            model_id = logged
        if run is None and model_id is not None:
            # A logged model's version belongs to the run that logged it, as on MLflow 3.
            try:
                run = self.store.get_logged_model(model_id).source_run_id
            except NotFoundError:
                pass
        return self._registry.create_model_version(
            model_name(name),
            checked,
            validate_run_id(run) if run is not None else None,
            registry_tags(tags),
            optional_text(run_link, "run_link", MAX_SOURCE_LENGTH),
            optional_text(description, "description", MAX_DESCRIPTION_LENGTH),
            optional_text(model_id, "model_id", MAX_SOURCE_LENGTH),
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """One version of a registered model."""
        return self._registry.get_model_version(model_name(name), version_number(version))

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        """Set a version's description."""
        return self._registry.update_model_version(
            model_name(name),
            version_number(version),
            optional_text(description, "description", MAX_DESCRIPTION_LENGTH),
        )

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version with its tags and the aliases pointing to it (its number is never
        given again)."""
        self._registry.delete_model_version(model_name(name), version_number(version))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where the version's model files are (the source it was registered from)."""
        return self._registry.get_model_version_download_uri(
            model_name(name), version_number(version)
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = VERSIONS_PAGE_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of versions matching a filter (``name = 'fraud'``, ``run_id IN (...)``,
        ``version_number > 2``, ``source_path LIKE ...``, ``tags.k = 'v'``), newest update
        first unless ``order_by`` says otherwise; ``.token`` gives the next page."""
        found, token = self._registry.search_model_versions(
            filter_string,
            _page_size(max_results, VERSIONS_PAGE_MAX),
            _order_by(order_by),
            page_token,
        )
        return PagedList(list(found), token)

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set one tag of a version (MLflow's ``stage=`` is refused: Carnet has no stages)."""
        version = _no_stage(version, stage)
        clean_key, text = registry_tag(key, value)
        self._registry.set_model_version_tag(
            model_name(name), version_number(version), clean_key, text
        )

    def delete_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Remove one tag of a version (``stage=`` is refused: Carnet has no stages)."""
        version = _no_stage(version, stage)
        self._registry.delete_model_version_tag(
            model_name(name), version_number(version), validate_key(key, "tag")
        )

    # -- aliases --------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` (e.g. ``champion``) at a version; ``models:/<name>@<alias>`` then
        loads it."""
        self._registry.set_registered_model_alias(
            model_name(name), alias_name(alias), version_number(version)
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias of a registered model."""
        self._registry.delete_registered_model_alias(model_name(name), alias_name(alias))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; ``ModelVersionNotFoundError`` if it points nowhere."""
        return self._registry.get_model_version_by_alias(model_name(name), alias_name(alias))
