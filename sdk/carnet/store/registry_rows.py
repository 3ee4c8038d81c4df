"""Registry rows -> ``RegisteredModel`` and ``ModelVersion``, read in batches by id.

Each loader takes ids, reads the rows, their tags and their aliases with one
query per table and chunk (never a query per row), and returns the entities
in the order of the ids, so a search page of 10,000 versions costs a handful
of statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from carnet.entities import ModelVersion, RegisteredModel
from carnet.store.sql_helpers import CHUNK, Cursor, Sql, placeholders

_VERSION_SELECT = (
    "SELECT mv.id, rm.name, mv.version, mv.creation_time, mv.last_updated_time, "
    "mv.description, mv.user_id, mv.source, mv.run_id, mv.run_link, mv.status, "
    "mv.status_message, mv.model_id, mv.registered_model_id "
    "FROM model_versions AS mv JOIN registered_models AS rm ON rm.id = mv.registered_model_id "
    "WHERE mv.id IN ({})"
)


def _aliases(cur: Cursor, sql: Sql, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """alias -> version of each registered model id."""
    found: dict[int, dict[str, int]] = {}
    for start in range(0, len(model_ids), CHUNK):
        chunk = list(model_ids[start : start + CHUNK])
        cur.execute(
            sql(
                "SELECT registered_model_id, alias, version FROM registered_model_aliases "
                f"WHERE registered_model_id IN ({placeholders(len(chunk))}) ORDER BY alias"
            ),
            chunk,
        )
        for model_id, alias, version in cur.fetchall():
            found.setdefault(int(model_id), {})[alias] = int(version)
    return found


def _tags(
    cur: Cursor, sql: Sql, table: str, fk: str, ids: Sequence[int]
) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        cur.execute(
            sql(
                f'SELECT {fk}, "key", value FROM {table} WHERE {fk} IN ({placeholders(len(chunk))})'
            ),
            chunk,
        )
        for owner, key, value in cur.fetchall():
            found.setdefault(int(owner), {})[key] = value
    return found


def load_versions(cur: Cursor, sql: Sql, ids: Sequence[int]) -> list[ModelVersion]:
    """The versions with these ids, in the order given (ids with no row are skipped)."""
    by_id = version_map(cur, sql, ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def version_map(cur: Cursor, sql: Sql, ids: Sequence[int]) -> dict[int, ModelVersion]:
    """The versions with these ids, by id."""
    rows: dict[int, tuple[object, ...]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        cur.execute(sql(_VERSION_SELECT.format(placeholders(len(chunk)))), chunk)
        rows.update((int(r[0]), tuple(r)) for r in cur.fetchall())
    tags = _tags(cur, sql, "model_version_tags", "model_version_id", list(rows))
    model_ids = sorted({int(str(r[13])) for r in rows.values()})
    aliases = _aliases(cur, sql, model_ids)
    versions: dict[int, ModelVersion] = {}
    for pk, r in rows.items():
        number = int(str(r[2]))
        named = aliases.get(int(str(r[13])), {})
        versions[pk] = ModelVersion(
            name=str(r[1]),
            version=str(number),
            creation_timestamp=int(str(r[3])),
            last_updated_timestamp=int(str(r[4])),
            description=r[5],  # type: ignore[arg-type]
            user_id=r[6],  # type: ignore[arg-type]
            source=r[7],  # type: ignore[arg-type]
            run_id=r[8],  # type: ignore[arg-type]
            run_link=r[9],  # type: ignore[arg-type]
            status=str(r[10]),
            status_message=r[11],  # type: ignore[arg-type]
            model_id=r[12],  # type: ignore[arg-type]
            tags=tags.get(pk, {}),
            aliases=[a for a, v in named.items() if v == number],
        )
    return versions


def load_models(cur: Cursor, sql: Sql, ids: Sequence[int]) -> list[RegisteredModel]:
    """The registered models with these ids, in the order given, with their newest version."""
    rows: dict[int, tuple[object, ...]] = {}
    newest: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        marks = placeholders(len(chunk))
        cur.execute(
            sql(
                "SELECT id, name, creation_time, last_updated_time, description "
                f"FROM registered_models WHERE id IN ({marks})"
            ),
            chunk,
        )
        rows.update((int(r[0]), tuple(r)) for r in cur.fetchall())
        cur.execute(
            sql(
                "SELECT mv.registered_model_id, mv.id FROM model_versions AS mv "
                f"WHERE mv.registered_model_id IN ({marks}) AND mv.version = "
                "(SELECT max(m2.version) FROM model_versions AS m2 "
                "WHERE m2.registered_model_id = mv.registered_model_id)"
            ),
            chunk,
        )
        newest.update((int(r[0]), int(r[1])) for r in cur.fetchall())
    versions = version_map(cur, sql, list(newest.values()))
    tags = _tags(cur, sql, "registered_model_tags", "registered_model_id", list(rows))
    aliases = _aliases(cur, sql, list(rows))
    models: list[RegisteredModel] = []
    for pk in ids:
        r = rows.get(pk)
        if r is None:
            continue
        version = versions.get(newest.get(pk, -1))
        models.append(
            RegisteredModel(
                name=str(r[1]),
                creation_timestamp=int(str(r[2])),
                last_updated_timestamp=int(str(r[3])),
                description=r[4],  # type: ignore[arg-type]
                latest_versions=[version] if version is not None else [],
                tags=tags.get(pk, {}),
                aliases={a: str(v) for a, v in aliases.get(pk, {}).items()},
            )
        )
    return models
