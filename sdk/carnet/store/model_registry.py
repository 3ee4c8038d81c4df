"""The model registry in the SQL store: registered models, their versions, tags and aliases.

Versions, tags and aliases reference a registered model by its integer id, so
a rename rewrites one row and carries everything with it. A version number is
never given twice: ``registered_models.last_version`` counts them, and it is
raised in the same transaction that inserts the version (on PostgreSQL the
row lock serialises two concurrent registrations). Every write is one
transaction; a failed call writes nothing. Callers (``Client``) check names,
versions, aliases and tags first (``carnet.registry_checks``).
"""

from __future__ import annotations

from collections.abc import Sequence

from carnet.entities import ModelVersion, ModelVersionStatus, RegisteredModel
from carnet.errors import (
    AliasNotFoundError,
    InvalidValueError,
    ModelVersionNotFoundError,
    RegisteredModelExistsError,
    RegisteredModelNotFoundError,
)
from carnet.store.base import StoreBase
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.page_tokens import decode_page_token, encode_page_token
from carnet.store.registry_rows import load_models, load_versions
from carnet.store.sql_helpers import Cursor, now_ms
from carnet.store.sql_search.registry_filter import prepared_registry_search

#: Tags a registered model or a version may hold, and aliases a model may have.
MAX_TAGS_PER_ENTITY = 1000
MAX_ALIASES_PER_MODEL = 100


class ModelRegistryStore(StoreBase):
    """The registry half of the SQL store (MLflow's ``SqlAlchemyStore`` for the registry)."""

    # -- lookups --------------------------------------------------------------------------

    def _model_id(self, cur: Cursor, name: str) -> int:
        cur.execute(self._sql("SELECT id FROM registered_models WHERE name = ?"), (name,))
        row = cur.fetchone()
        if row is None:
            raise RegisteredModelNotFoundError(
                f"registered model {name!r} not found; list them with search_registered_models()."
            )
        return int(row[0])

    def _version_id(self, cur: Cursor, name: str, version: int) -> tuple[int, int]:
        """(registered model id, version id) of ``name`` version ``version``."""
        model_id = self._model_id(cur, name)
        cur.execute(
            self._sql(
                "SELECT id FROM model_versions WHERE registered_model_id = ? AND version = ?"
            ),
            (model_id, version),
        )
        row = cur.fetchone()
        if row is None:
            raise ModelVersionNotFoundError(
                f"model version {version} of {name!r} not found; list its versions with "
                f"search_model_versions(\"name = '{name}'\")."
            )
        return model_id, int(row[0])

    def _touch_model(self, cur: Cursor, model_id: int, now: int) -> None:
        cur.execute(
            self._sql("UPDATE registered_models SET last_updated_time = ? WHERE id = ?"),
            (now, model_id),
        )

    def _set_tags(self, cur: Cursor, table: str, fk: str, owner: int, tags: dict[str, str]) -> None:
        """Upsert tags of one owner, refusing to grow it past MAX_TAGS_PER_ENTITY."""
        if not tags:
            return
        cur.execute(self._sql(f'SELECT "key" FROM {table} WHERE {fk} = ?'), (owner,))
        have = {r[0] for r in cur.fetchall()}
        if len(have | set(tags)) > MAX_TAGS_PER_ENTITY:
            raise InvalidValueError(
                f"a registered model or version holds at most {MAX_TAGS_PER_ENTITY} tags; "
                "delete some before adding more."
            )
        cur.executemany(
            self._sql(
                f'INSERT INTO {table} ({fk}, "key", value) VALUES (?, ?, ?) '
                f'ON CONFLICT ({fk}, "key") DO UPDATE SET value = excluded.value'
            ),
            [(owner, k, v) for k, v in tags.items()],
        )

    # -- registered models ----------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """A new registered model; ``RegisteredModelExistsError`` when the name is taken."""
        self.check_writable()
        now = now_ms()
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time, "
                    "description, last_version) VALUES (?, ?, ?, ?, 0) "
                    "ON CONFLICT DO NOTHING RETURNING id"
                ),
                (name, now, now, description),
            )
            row = cur.fetchone()
            if row is None:
                raise RegisteredModelExistsError(
                    f"registered model {name!r} already exists; register a new version of it "
                    "with create_model_version, or pick another name."
                )
            self._set_tags(
                cur, "registered_model_tags", "registered_model_id", int(row[0]), tags or {}
            )
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model, with its newest version, tags and aliases."""
        with read_cursor(self.engine) as cur:
            found = load_models(cur, self._sql, [self._model_id(cur, name)])
        if not found:  # deleted between the two reads
            raise RegisteredModelNotFoundError(f"registered model {name!r} not found.")
        return found[0]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags and aliases follow it."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            if new_name != name:
                cur.execute(
                    self._sql("SELECT 1 FROM registered_models WHERE name = ?"), (new_name,)
                )
                if cur.fetchone() is not None:
                    raise RegisteredModelExistsError(
                        f"cannot rename {name!r}: registered model {new_name!r} already "
                        "exists; pick another name."
                    )
            now = now_ms()
            cur.execute(
                self._sql(
                    "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE id = ?"
                ),
                (new_name, now, model_id),
            )
            cur.execute(  # as MLflow: a rename updates every version's time too
                self._sql(
                    "UPDATE model_versions SET last_updated_time = ? WHERE registered_model_id = ?"
                ),
                (now, model_id),
            )
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Set a model's description."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            cur.execute(
                self._sql(
                    "UPDATE registered_models SET description = ?, last_updated_time = ? "
                    "WHERE id = ?"
                ),
                (description, now_ms(), model_id),
            )
        return self.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, tags and aliases (not undoable, as in MLflow)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            cur.execute(
                self._sql(
                    "DELETE FROM model_version_tags WHERE model_version_id IN "
                    "(SELECT id FROM model_versions WHERE registered_model_id = ?)"
                ),
                (model_id,),
            )
            for table in ("registered_model_aliases", "registered_model_tags", "model_versions"):
                cur.execute(
                    self._sql(f"DELETE FROM {table} WHERE registered_model_id = ?"), (model_id,)
                )
            cur.execute(self._sql("DELETE FROM registered_models WHERE id = ?"), (model_id,))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        """One page of matching registered models (by name by default) and the next token."""
        with read_cursor(self.engine) as cur:
            ids, token = self._search_ids(
                cur, False, filter_string, max_results, order_by, page_token
            )
            return load_models(cur, self._sql, ids), token

    def _search_ids(
        self,
        cur: Cursor,
        versions: bool,
        filter_string: str | None,
        max_results: int | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[int], str | None]:
        """Ids of one page of a registry search, and the next page's token (one snapshot
        with the rows the caller then loads: a search opens one connection)."""
        offset = decode_page_token(page_token)
        limit = None if max_results is None else max_results + 1
        sql, params = prepared_registry_search(
            self.engine.dialect,
            versions,
            filter_string,
            None if order_by is None else tuple(order_by),
            limit,
            offset,
        )
        cur.execute(sql, params)
        ids = [int(r[0]) for r in cur.fetchall()]
        token = None
        if max_results is not None and len(ids) > max_results:
            ids, token = ids[:max_results], encode_page_token(offset + max_results)
        return ids, token

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a registered model."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            self._set_tags(
                cur, "registered_model_tags", "registered_model_id", model_id, {key: value}
            )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one tag of a registered model; a tag it lacks is not an error (as MLflow)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            cur.execute(
                self._sql(
                    'DELETE FROM registered_model_tags WHERE registered_model_id = ? AND "key" = ?'
                ),
                (model_id, key),
            )

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
        """The model's next version (1, 2, ...), READY at once; the model must exist."""
        self.check_writable()
        now = now_ms()
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    "UPDATE registered_models SET last_version = last_version + 1, "
                    "last_updated_time = ? WHERE name = ? RETURNING id, last_version"
                ),
                (now, name),
            )
            row = cur.fetchone()
            if row is None:
                raise RegisteredModelNotFoundError(
                    f"registered model {name!r} not found; create it first with "
                    "create_registered_model, or use carnet.register_model, which does."
                )
            owner, version = int(row[0]), int(row[1])
            cur.execute(
                self._sql(
                    "INSERT INTO model_versions (registered_model_id, version, creation_time, "
                    "last_updated_time, description, source, run_id, run_link, status, "
                    "storage_location, model_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING id"
                ),
                (
                    owner,
                    version,
                    now,
                    now,
                    description,
                    source,
                    run_id,
                    run_link,
                    ModelVersionStatus.READY.value,
                    source,
                    model_id,
                ),
            )
            version_id = int(cur.fetchone()[0])
            self._set_tags(cur, "model_version_tags", "model_version_id", version_id, tags or {})
        return self.get_model_version(name, version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version of a registered model."""
        with read_cursor(self.engine) as cur:
            _, version_id = self._version_id(cur, name, version)
            found = load_versions(cur, self._sql, [version_id])
        return found[0]

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Set a version's description."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            _, version_id = self._version_id(cur, name, version)
            cur.execute(
                self._sql(
                    "UPDATE model_versions SET description = ?, last_updated_time = ? WHERE id = ?"
                ),
                (description, now_ms(), version_id),
            )
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version with its tags and the aliases that point to it."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id, version_id = self._version_id(cur, name, version)
            cur.execute(
                self._sql("DELETE FROM model_version_tags WHERE model_version_id = ?"),
                (version_id,),
            )
            cur.execute(
                self._sql(
                    "DELETE FROM registered_model_aliases "
                    "WHERE registered_model_id = ? AND version = ?"
                ),
                (model_id, version),
            )
            cur.execute(self._sql("DELETE FROM model_versions WHERE id = ?"), (version_id,))
            self._touch_model(cur, model_id, now_ms())

    def get_latest_versions(self, name: str) -> list[ModelVersion]:
        """The newest version of a model, in a list (empty before the first version)."""
        return self.get_registered_model(name).latest_versions

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        """Where a version's model files are: its storage location (the source it was made from)."""
        with read_cursor(self.engine) as cur:
            _, version_id = self._version_id(cur, name, version)
            cur.execute(
                self._sql("SELECT storage_location, source FROM model_versions WHERE id = ?"),
                (version_id,),
            )
            location, source = cur.fetchone()
        return str(location or source)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        """One page of matching versions (newest update first by default) and the next token."""
        with read_cursor(self.engine) as cur:
            ids, token = self._search_ids(
                cur, True, filter_string, max_results, order_by, page_token
            )
            return load_versions(cur, self._sql, ids), token

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a version."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            _, version_id = self._version_id(cur, name, version)
            self._set_tags(cur, "model_version_tags", "model_version_id", version_id, {key: value})

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove one tag of a version; a tag it lacks is not an error (as MLflow)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            _, version_id = self._version_id(cur, name, version)
            cur.execute(
                self._sql(
                    'DELETE FROM model_version_tags WHERE model_version_id = ? AND "key" = ?'
                ),
                (version_id, key),
            )

    # -- aliases --------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere); as in MLflow,
        the model's update time stays."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id, _ = self._version_id(cur, name, version)
            cur.execute(
                self._sql(
                    "SELECT count(*) FROM registered_model_aliases WHERE registered_model_id = ? "
                    "AND alias != ?"
                ),
                (model_id, alias),
            )
            if int(cur.fetchone()[0]) >= MAX_ALIASES_PER_MODEL:
                raise InvalidValueError(
                    f"registered model {name!r} has {MAX_ALIASES_PER_MODEL} aliases, the "
                    "limit; delete one with delete_registered_model_alias first."
                )
            cur.execute(
                self._sql(
                    "INSERT INTO registered_model_aliases (registered_model_id, alias, version) "
                    "VALUES (?, ?, ?) ON CONFLICT (registered_model_id, alias) "
                    "DO UPDATE SET version = excluded.version"
                ),
                (model_id, alias, version),
            )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias; an alias the model lacks is not an error (as MLflow)."""
        self.check_writable()
        with write_transaction(self.engine) as cur:
            model_id = self._model_id(cur, name)
            cur.execute(
                self._sql(
                    "DELETE FROM registered_model_aliases "
                    "WHERE registered_model_id = ? AND alias = ?"
                ),
                (model_id, alias),
            )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ``AliasNotFoundError`` if none."""
        with read_cursor(self.engine) as cur:
            model_id = self._model_id(cur, name)
            cur.execute(
                self._sql(
                    "SELECT mv.id FROM registered_model_aliases AS a JOIN model_versions AS mv "
                    "ON mv.registered_model_id = a.registered_model_id AND mv.version = a.version "
                    "WHERE a.registered_model_id = ? AND a.alias = ?"
                ),
                (model_id, alias),
            )
            row = cur.fetchone()
            if row is None:
                raise AliasNotFoundError(
                    f"registered model {name!r} has no alias {alias!r}; set one with "
                    "set_registered_model_alias, or see the model's aliases."
                )
            return load_versions(cur, self._sql, [int(row[0])])[0]
