"""``carnet db check`` and ``carnet db upgrade``: look at a store without changing it, or
migrate it on purpose.

Opening a store for writing upgrades it silently; an operator wants to see the
version first, and a check must never write. So both functions build their own
engine instead of the shared, auto-upgrading one: the check opens the store
read-only (SQLite ``mode=ro``, a PostgreSQL read-only session) and works on
stores of any version, and the upgrade refuses to create a store that is not
there, so a mistyped path is an error rather than a new empty file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from carnet.errors import StoreError
from carnet.store.engine import (
    ensure_schema,
    make_engine,
    read_cursor,
    read_schema_version,
    sqlite_path,
)
from carnet.store.schema import SCHEMA_VERSION, metadata
from carnet.store.sql_helpers import Cursor, table_exists
from carnet.uri import resolve_uri

#: Child table -> (its column, parent table, parent column): what "orphan" means.
_PARENTS: dict[str, tuple[str, str, str]] = {
    "params": ("run_id", "runs", "id"),
    "tags": ("run_id", "runs", "id"),
    "metrics": ("run_id", "runs", "id"),
    "metric_chunks": ("run_id", "runs", "id"),
    "metric_summaries": ("run_id", "runs", "id"),
    "runs": ("experiment_id", "experiments", "experiment_id"),
    "experiment_tags": ("experiment_id", "experiments", "experiment_id"),
    "logged_models": ("experiment_id", "experiments", "experiment_id"),
    "logged_model_tags": ("model_id", "logged_models", "id"),
    "logged_model_params": ("model_id", "logged_models", "id"),
    "logged_model_metrics": ("model_id", "logged_models", "id"),
    "run_outputs": ("run_id", "runs", "id"),
}

#: (run, key) pairs whose summary count or last step disagrees with the history
#: (its tail rows and packed chunks together), summaries whose last value and NaN flag
#: disagree (a NaN last value is NULL with is_nan set), and chunks whose size is not
#: 24 bytes a point.
_SUMMARY_DRIFT = """
SELECT count(*) FROM (
    SELECT h.run_id, h.key FROM (
        SELECT run_id, key, sum(n) AS n, max(last_step) AS last_step FROM (
            SELECT run_id, key, count(*) AS n, max(step) AS last_step
            FROM metrics GROUP BY run_id, key
            UNION ALL
            SELECT run_id, key, sum(n), max(max_step) FROM metric_chunks GROUP BY run_id, key
        ) parts GROUP BY run_id, key
    ) h
    LEFT JOIN metric_summaries s ON s.run_id = h.run_id AND s.key = h.key
    WHERE s.run_id IS NULL OR s.count <> h.n OR s.step <> h.last_step
    UNION ALL
    SELECT s.run_id, s.key FROM metric_summaries s
    WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = s.run_id AND m.key = s.key)
    AND NOT EXISTS (SELECT 1 FROM metric_chunks c WHERE c.run_id = s.run_id AND c.key = s.key)
    UNION ALL
    SELECT run_id, key FROM metric_summaries
    WHERE (is_nan AND value IS NOT NULL) OR (NOT is_nan AND value IS NULL)
    UNION ALL
    SELECT run_id, key FROM metric_chunks WHERE length(data) <> 24 * n
) drift
"""


@dataclass(frozen=True)
class StoreReport:
    """What ``carnet db check`` prints; ``ok`` is False when anything needs attention."""

    uri: str
    #: The store's schema version; None for a store without Carnet's tables.
    schema_version: int | None
    #: The version this Carnet writes.
    code_schema_version: int
    #: 'ok', or the database's own complaints (PRAGMA integrity_check on SQLite).
    integrity: str
    #: Rows whose parent run or experiment is missing, per table (zeros included).
    orphan_rows: dict[str, int] = field(default_factory=dict)
    #: Metric keys whose per-run summary disagrees with their history.
    summary_mismatches: int = 0
    #: One sentence per problem, saying what to do.
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the check found nothing to fix."""
        return not self.problems

    def format(self) -> str:
        """Human-readable lines for the CLI."""
        found = "none" if self.schema_version is None else str(self.schema_version)
        orphans = sum(self.orphan_rows.values())
        checked = bool(self.orphan_rows)  # skipped on a damaged or foreign store
        detail = ", ".join(f"{t}={n}" for t, n in self.orphan_rows.items() if n)
        lines = [
            f"store:           {self.uri}",
            f"schema version:  {found} (this Carnet: {self.code_schema_version})",
            f"integrity:       {self.integrity}",
            "orphan rows:     "
            + ((f"{orphans}" + (f" ({detail})" if detail else "")) if checked else "not checked"),
            "metric summaries out of step: "
            + (str(self.summary_mismatches) if checked else "not checked"),
        ]
        lines += [f"problem: {p}" for p in self.problems]
        lines.append("ok" if self.ok else "NOT OK")
        return "\n".join(lines)


@contextmanager
def _engine(uri: str, *, read_only: bool) -> Iterator[Engine]:
    path = sqlite_path(uri)
    if path is not None and not path.is_file():
        raise StoreError(f"no Carnet store at {path}; check the path (or --db / the URI).")
    engine = make_engine(uri, read_only)
    try:
        yield engine
    finally:
        engine.dispose()


def _integrity(cur: Cursor, dialect: str) -> list[str]:
    if dialect == "sqlite":
        cur.execute("PRAGMA integrity_check")
        messages = [str(r[0]) for r in cur.fetchall()]
        return [] if messages == ["ok"] else messages
    # PostgreSQL checks its pages itself; what can go wrong for us is a missing table
    # or an index left invalid by an interrupted CREATE INDEX CONCURRENTLY.
    messages = []
    for table in sorted(metadata.tables):
        if not table_exists(cur, dialect, table):
            messages.append(f"table {table} is missing")
    cur.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready) "
        "ORDER BY c.relname"
    )
    messages += [f"index {r[0]} is invalid; REINDEX it" for r in cur.fetchall()]
    return messages


#: Words SQLite uses for a damaged file (as opposed to one it cannot open at all).
_DAMAGE = ("malformed", "not a database", "corrupt")


def _checked_integrity(engine: Engine, dialect: str) -> list[str]:
    """The database's complaints; a file too damaged to check is itself the complaint."""
    try:
        with read_cursor(engine) as cur:
            return _integrity(cur, dialect)
    except StoreError as exc:
        if dialect == "sqlite" and any(word in str(exc) for word in _DAMAGE):
            return [str(exc)]
        raise


def _summarize(messages: list[str], limit: int = 10) -> str:
    """'ok', or the first lines of what the database said (it can say thousands)."""
    if not messages:
        return "ok"
    lines = [line for m in messages for line in m.splitlines() if line.strip()]
    shown = "; ".join(lines[:limit])
    return shown + (f" (and {len(lines) - limit} more)" if len(lines) > limit else "")


def _orphans(cur: Cursor, dialect: str) -> dict[str, int]:
    counts = {}
    for child, (column, parent, key) in _PARENTS.items():
        if not table_exists(cur, dialect, child):  # an older schema: it has not got it yet
            continue
        cur.execute(
            f"SELECT count(*) FROM {child} c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
        )
        counts[child] = int(cur.fetchone()[0])
    return counts


def check_store(uri: str | None = None) -> StoreReport:
    """Schema version, integrity and orphan rows of a store, read-only (never upgrades)."""
    uri = resolve_uri(uri)
    orphans: dict[str, int] = {}
    drift = 0
    with _engine(uri, read_only=True) as engine:
        dialect = engine.dialect.name
        integrity = _checked_integrity(engine, dialect)
        try:
            version = read_schema_version(engine)
        except StoreError:
            if not integrity:
                raise
            version = None  # too damaged to say; the integrity messages say why
        # Orphan and summary queries walk every index; on a damaged file they
        # would fail half-way, so they run on healthy stores only.
        if version is not None and not integrity:
            with read_cursor(engine) as cur:
                orphans = _orphans(cur, dialect)
                if version == SCHEMA_VERSION:  # older histories are laid out differently
                    cur.execute(_SUMMARY_DRIFT)
                    drift = int(cur.fetchone()[0])
    problems: list[str] = []
    if version is None:
        if not integrity:  # a damaged file says so below; an intact one is not Carnet's
            problems.append("this is not a Carnet store (no schema table); check the URI.")
    elif version < SCHEMA_VERSION:
        problems.append(
            f"schema {version} is older than this Carnet's {SCHEMA_VERSION}; "
            "run 'carnet db upgrade' (back the store up first)."
        )
    elif version > SCHEMA_VERSION:
        problems.append(
            f"schema {version} is newer than this Carnet's {SCHEMA_VERSION}; "
            "upgrade Carnet (pip install -U carnet)."
        )
    if integrity:
        problems.append(
            "the database reports damage; restore a backup or salvage it with sqlite3 '.recover'."
            if dialect == "sqlite"
            else "the database is missing parts of the schema; see integrity."
        )
    for table, n in orphans.items():
        if n:
            problems.append(f"{n} rows of {table} belong to no {_PARENTS[table][1][:-1]}.")
    if drift:
        problems.append(
            f"{drift} metric summaries disagree with their histories; report this as a Carnet bug."
        )
    return StoreReport(
        uri=uri,
        schema_version=version,
        code_schema_version=SCHEMA_VERSION,
        integrity=_summarize(integrity),
        orphan_rows=orphans,
        summary_mismatches=drift,
        problems=tuple(problems),
    )


def upgrade_store(uri: str | None = None) -> tuple[int, int]:
    """Migrate an existing store to this Carnet's schema; (version before, version after).

    Safe while other processes use the store: the upgrade runs under the same
    exclusive lock as any schema change, and is a no-op when already current.
    Raises SchemaVersionError for a store newer than this Carnet.
    """
    uri = resolve_uri(uri)
    with _engine(uri, read_only=False) as engine:
        before = read_schema_version(engine)
        if before is None:
            raise StoreError(
                f"{uri} has no Carnet schema to upgrade; a new store is created by logging to it."
            )
        after = ensure_schema(engine)
    return before, after
