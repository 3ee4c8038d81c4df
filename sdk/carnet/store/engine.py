"""From a tracking URI to a ready SQLAlchemy engine: pragmas, locking, schema.

SQLite runs in WAL mode with a busy timeout so one dashboard and many writer
processes share a file. Writes take the lock up front (``BEGIN IMMEDIATE``),
which turns lock upgrades that SQLite cannot retry into plain waits. Creating
or upgrading the schema happens inside that same exclusive transaction (on
PostgreSQL, under an advisory lock), so processes racing on a brand-new or old
store line up instead of corrupting it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool, QueuePool

from carnet import settings
from carnet.errors import ConfigurationError, SchemaVersionError, StoreError
from carnet.store import migrations
from carnet.store.schema import SCHEMA_VERSION, metadata
from carnet.store.sql_helpers import Cursor, statement_style, table_exists
from carnet.store.wal_checkpointer import Checkpointer
from carnet.uri import ENV_URI

BUSY_TIMEOUT_S = 60.0
_PG_LOCK_ID = 0x6361726E6574  # "carnet"


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (None for any other store)."""
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


class _WriterConnection(sqlite3.Connection):
    """A thread's own write connection (a subclass only so it can be weakly referenced)."""


class _ThreadWriters:
    """One SQLite connection per thread for writes: a commit costs no pool round trip.

    A thread's connection closes when the thread ends (its thread-local slot
    goes away) or when the engine is disposed. Their commits feed the store's
    background :class:`Checkpointer`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        self.open: weakref.WeakSet[_WriterConnection] = weakref.WeakSet()
        self.checkpointer = Checkpointer(
            path, settings.WAL_CHECKPOINT_PAGES.get(), lambda: _connect_sqlite(path, False)
        )

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = _connect_sqlite(self.path, False, factory=_WriterConnection)
            self.local.conn = conn
            self.open.add(conn)  # type: ignore[arg-type]
            self.checkpointer.reopen()
        return conn

    def close_all(self) -> None:
        self.checkpointer.stop()
        for conn in list(self.open):
            with contextlib.suppress(sqlite3.Error):
                conn.close()


#: id(engine) -> the per-thread write connections of a writable SQLite engine.
_writers: dict[int, _ThreadWriters] = {}


def _folder_writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK)


def read_only_target(path: Path) -> str:
    """The SQLite URI a read-only connection opens ``path`` with.

    ``mode=ro`` still creates the WAL index (``-shm``) beside the file when no
    writer has. A viewer that cannot write the folder (a dashboard running as
    another user) could then not open a store that no one is writing; with no
    ``-wal`` file there is nothing beyond the main file to read, so such a
    store opens ``immutable``: no locks and no files of its own. While a writer
    works, its ``-wal`` and ``-shm`` files are there and plain ``mode=ro``
    reads through them.
    """
    target = f"file:{quote(str(path))}?mode=ro"
    if not _folder_writable(path) and not path.with_name(path.name + "-wal").exists():
        target += "&immutable=1"
    return target


def _open_read_only(path: Path, factory: type[sqlite3.Connection]) -> sqlite3.Connection:
    try:
        return sqlite3.connect(
            read_only_target(path),
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            factory=factory,
        )
    except sqlite3.OperationalError as exc:
        if _folder_writable(path) or not path.is_file():
            raise
        raise StoreError(
            f"cannot open {path} read-only: {exc}. A writer left a -wal file without its "
            f"-shm index and this user cannot create one in {path.parent}; let this user "
            "write the folder, or open the store once as its owner to finish the WAL."
        ) from None


def _connect_sqlite(
    path: Path, read_only: bool, factory: type[sqlite3.Connection] = sqlite3.Connection
) -> sqlite3.Connection:
    if read_only:
        conn = _open_read_only(path, factory)
    else:
        conn = sqlite3.connect(
            f"file:{quote(str(path))}",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
            factory=factory,
            # Writes keep their statements prepared: small batches are multi-row
            # INSERTs, a statement text per row count (sql_helpers.insert_rows).
            cached_statements=512,
        )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if not read_only:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:  # the switch to WAL is not covered by the busy handler on a new file
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    sync = settings.SQLITE_SYNCHRONOUS.get()
    conn.execute(f"PRAGMA synchronous = {sync}")
    conn.execute("PRAGMA cache_size = -32000")
    # Every ~40 MB by default rather than SQLite's 4 MB: far fewer fsyncs, and pages
    # rewritten by many small commits (index roots, summaries) are copied back once.
    conn.execute(f"PRAGMA wal_autocheckpoint = {settings.WAL_CHECKPOINT_PAGES.get()}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


_engines: dict[tuple[str, bool], Engine] = {}
_engines_lock = threading.Lock()


def get_engine(uri: str, *, read_only: bool = False) -> Engine:
    """One engine per (URI, mode) per process; the schema is checked on first use."""
    key = (uri, read_only)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            path = sqlite_path(uri)
            if path is not None:
                refuse_foreign_store(path)
            engine = make_engine(uri, read_only)
            try:
                ensure_schema(engine, read_only=read_only)
            except BaseException:
                engine.dispose()
                raise
            path = sqlite_path(uri)
            if path is not None and not read_only:
                _writers[id(engine)] = _ThreadWriters(path)
            _engines[key] = engine
    return engine


def _forget_engines_after_fork() -> None:
    """A forked child must not reuse its parent's connections; it opens its own."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    for writers in _writers.values():
        writers.checkpointer.forget()
    _writers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines_after_fork)


def dispose_engines() -> None:
    """Close every pooled connection (tests, forks, and ``carnet db`` use it)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        for writers in _writers.values():
            writers.close_all()
        _writers.clear()


def close_at_exit() -> None:
    """Close this process's connections and fold each SQLite WAL back into its file.

    Registered when this module is imported, so it runs after the exit hooks
    that write buffered points and end runs (``atexit`` runs in reverse order).
    Until a checkpoint, committed data may live only in ``<file>-wal``: a plain
    copy of the database file would miss it. Best effort: a checkpoint waits at
    most a second for other processes' readers, and a failure is ignored.
    """
    paths = {writers.path for writers in _writers.values()}
    dispose_engines()
    for path in paths:
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode=rw", uri=True, timeout=1.0, isolation_level=None
            )
            with contextlib.closing(conn):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


atexit.register(close_at_exit)


def _sqlite_tables(path: Path) -> set[str] | None:
    """The tables of an existing, non-empty file (None: nothing there yet), read-only.

    Raises ``sqlite3.DatabaseError`` when SQLite cannot read it.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with contextlib.closing(
        sqlite3.connect(read_only_target(path), uri=True, timeout=BUSY_TIMEOUT_S)
    ) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows if not str(r[0]).startswith("sqlite_")}


def _mlflow_store_error(path: Path, names: set[str]) -> StoreError | None:
    if "carnet_schema" not in names and {"alembic_version", "latest_metrics"} <= names:
        return StoreError(
            f"{path} is an MLflow tracking store, which Carnet does not write to. Copy it into "
            f"a Carnet store with `carnet import-mlflow {path}` (it is left untouched), then "
            "track into the Carnet store."
        )
    return None


def _refuse_mlflow_store(path: Path) -> None:
    """An MLflow SQLite store is left untouched (no WAL switch): it needs an import."""
    try:
        names = _sqlite_tables(path)
    except sqlite3.DatabaseError:
        return  # not a database at all: the caller's own open reports it
    error = None if names is None else _mlflow_store_error(path, names)
    if error is not None:
        raise error


def refuse_foreign_store(path: Path) -> None:
    """Open only what is, or can become, a Carnet store; leave anything else untouched.

    An absent or empty file, or a SQLite file without tables, becomes a new
    store. A file SQLite cannot read as a database, an MLflow store, or a
    database with another application's tables is refused before anything is
    written to it (no tables, no switch to WAL).
    """
    try:
        names = _sqlite_tables(path)
    except sqlite3.DatabaseError as exc:
        if "not a database" not in str(exc):
            return  # locked, unreadable or damaged: opening it says what is wrong
        raise StoreError(
            f"{path} is not a SQLite database, so it cannot be a Carnet store; Carnet left it "
            "untouched. Point the tracking URI (or --db) at a Carnet store, or name a new "
            "file to create one."
        ) from None
    if not names or "carnet_schema" in names:
        return
    error = _mlflow_store_error(path, names)
    if error is not None:
        raise error
    shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
    raise StoreError(
        f"{path} is a database of another application (tables: {shown}) without Carnet's "
        "tables; Carnet left it untouched. Point the tracking URI (or --db) at a new file, "
        "e.g. carnet.db, or at an existing Carnet store."
    )


def make_engine(uri: str, read_only: bool) -> Engine:
    """A new engine of its own for ``uri``: not shared, and its schema left unchecked.

    ``get_engine`` is what stores use; maintenance (``carnet db``) wants to look
    at a store of any version without upgrading it, and to dispose of the engine
    when done.
    """
    path = sqlite_path(uri)
    if path is not None:
        _refuse_mlflow_store(path)
        if read_only and not path.exists():
            raise StoreError(
                f"no Carnet store at {path}; log a run first or point --db / "
                f"{ENV_URI} at an existing store."
            )
        if not read_only:
            if path.is_dir():
                raise ConfigurationError(f"{path} is a directory; name a database file.")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {path.parent} for the store: "
                    f"{exc.strerror or exc}; check the path (or --db / {ENV_URI})."
                ) from None
        pooling: dict[str, Any] = {
            "poolclass": QueuePool,
            "pool_size": 8,
            "max_overflow": 32,
            "pool_timeout": BUSY_TIMEOUT_S,
        }
        if read_only and not _folder_writable(path):
            # Each read decides afresh between immutable and WAL reading (see
            # read_only_target): a writer may start or stop at any time.
            pooling = {"poolclass": NullPool}
        engine = create_engine(
            "sqlite://",
            creator=lambda: _connect_sqlite(path, read_only),
            # Every transaction here ends in an explicit COMMIT or ROLLBACK (and
            # SQLAlchemy connections roll back their own on close): no reset needed.
            pool_reset_on_return=None,
            **pooling,
        )

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    try:
        url = make_url(uri)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a port that is not a number
        raise ConfigurationError(f"cannot parse tracking URI {uri!r}: {exc}") from exc
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if settings.PG_NULLPOOL.get():
        kwargs = {"poolclass": NullPool}
    try:
        engine = create_engine(url, **kwargs)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "PostgreSQL needs psycopg 3: pip install 'carnet[postgres]'"
        ) from exc
    if read_only:

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()

    return engine


def _store_error(engine: Engine, exc: BaseException) -> StoreError:
    """A database failure, said in words: which store, what happened, what to try."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    hint = ""
    if "locked" in text or "busy" in text:
        hint = (
            f"; another process held the write lock for over {BUSY_TIMEOUT_S:g} s — "
            "retry when it is done (a long transaction in another program, a backup)"
        )
    elif "readonly" in text or "read-only" in text or "read only" in text:
        hint = "; the store is read-only here (file permissions or a read-only client)"
    elif "connect" in text or "server" in text:
        hint = "; check that the database server is running and the URI is right"
    return StoreError(f"the store could not complete the operation: {text}{hint}.")


def _dbapi_errors(engine: Engine) -> tuple[type[BaseException], ...]:
    return (engine.dialect.loaded_dbapi.Error, DBAPIError)


@contextmanager
def write_group(engine: Engine) -> Iterator[None]:
    """One SQLite transaction around every write this thread makes inside the block.

    Each :func:`write_transaction` of the block becomes a savepoint of the
    group's transaction: a write that fails is rolled back alone (and raises
    as before), the others are committed together, with one commit, when the
    block ends. A block that raises commits nothing. This is the server's group
    commit; it needs a writable SQLite store (the thread's own write connection).
    """
    writers = _writers.get(id(engine)) if engine.dialect.name == "sqlite" else None
    if writers is None:
        raise ConfigurationError("a write group needs a writable SQLite store.")
    errors = _dbapi_errors(engine)
    try:
        conn = writers.get()
        conn.execute("BEGIN IMMEDIATE")
    except errors as exc:
        raise _store_error(engine, exc) from exc
    writers.local.group = 0  # savepoints open in the group
    try:
        yield
        if not conn.in_transaction:
            raise StoreError("the store rolled back a group of writes; nothing of it was saved.")
        conn.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(*errors):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        if isinstance(exc, errors):
            raise _store_error(engine, exc) from exc
        raise
    finally:
        del writers.local.group
    writers.checkpointer.after_commit()


@contextmanager
def _savepoint(
    engine: Engine, conn: sqlite3.Connection, writers: _ThreadWriters
) -> Iterator[Cursor]:
    """A write transaction inside a :func:`write_group`: a savepoint of the group's."""
    errors = _dbapi_errors(engine)
    depth: int = writers.local.group
    name = f"carnet_write_{depth}"  # a fixed name: no caller text reaches the SQL
    cur = conn.cursor()
    try:
        if not conn.in_transaction:
            raise StoreError("the store rolled back a group of writes; nothing of it was saved.")
        cur.execute(f"SAVEPOINT {name}")
        writers.local.group = depth + 1
        try:
            yield cur
            cur.execute(f"RELEASE {name}")
        except BaseException:
            with contextlib.suppress(*errors):
                if conn.in_transaction:
                    cur.execute(f"ROLLBACK TO {name}")
                    cur.execute(f"RELEASE {name}")
            raise
        finally:
            writers.local.group = depth
    except errors as exc:
        raise _store_error(engine, exc) from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Cursor]:
    """A DBAPI cursor inside one write transaction: committed on exit, rolled back on error.

    On SQLite the thread's own connection is used and the lock is taken up
    front (``BEGIN IMMEDIATE``); inside a :func:`write_group` the transaction
    is a savepoint of the group's, committed with it. Database failures
    surface as :class:`StoreError`; Carnet's own errors raised inside the
    block pass through unchanged, after the rollback.
    """
    errors = _dbapi_errors(engine)
    sqlite = engine.dialect.name == "sqlite"
    writers = _writers.get(id(engine)) if sqlite else None
    if writers is not None and getattr(writers.local, "group", None) is not None:
        with _savepoint(engine, writers.get(), writers) as cur:
            yield cur
        return
    try:
        conn: Any = writers.get() if writers is not None else engine.raw_connection()
    except errors as exc:
        raise _store_error(engine, exc) from exc
    try:
        cur = conn.cursor()
        try:
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")
            yield cur
            if sqlite:
                cur.execute("COMMIT")
            else:
                conn.commit()
        except BaseException:
            try:
                if sqlite:
                    raw = getattr(conn, "driver_connection", conn)
                    if getattr(raw, "in_transaction", True):
                        cur.execute("ROLLBACK")
                else:
                    conn.rollback()
            except errors:
                pass  # the original error is the one worth reporting
            raise
    except errors as exc:
        raise _store_error(engine, exc) from exc
    finally:
        if writers is None:
            conn.close()
    if writers is not None:
        writers.checkpointer.after_commit()


@contextmanager
def read_cursor(engine: Engine) -> Iterator[Cursor]:
    """A DBAPI cursor for several reads that see one consistent snapshot."""
    errors = _dbapi_errors(engine)
    sqlite = engine.dialect.name == "sqlite"
    try:
        conn = engine.raw_connection()
    except errors as exc:
        raise _store_error(engine, exc) from exc
    try:
        cur = conn.cursor()
        if sqlite:
            cur.execute("BEGIN")
        try:
            yield cur
        finally:
            try:
                if sqlite:
                    cur.execute("COMMIT")
                else:
                    conn.rollback()
            except errors:
                pass
    except errors as exc:
        raise _store_error(engine, exc) from exc
    finally:
        conn.close()


def read_schema_version(engine: Engine) -> int | None:
    """The store's schema version, or None for an empty store."""
    with read_cursor(engine) as cur:
        if not table_exists(cur, engine.dialect.name, "carnet_schema"):
            return None
        cur.execute("SELECT max(version) FROM carnet_schema")
        row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None


def _too_new(found: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"this store has schema version {found}, newer than the {SCHEMA_VERSION} this Carnet "
        "understands; upgrade Carnet (pip install -U carnet) to open it."
    )


def ensure_schema(engine: Engine, *, read_only: bool = False, upgrade: bool = True) -> int:
    """Create or upgrade the schema once, safely against racing processes."""
    if read_only:
        found = read_schema_version(engine)
        if found is not None and found > SCHEMA_VERSION:
            raise _too_new(found)
        if found is not None and found < SCHEMA_VERSION:
            raise StoreError(
                f"this store has schema version {found} and needs an upgrade to "
                f"{SCHEMA_VERSION}; run 'carnet db upgrade' (or open it once for writing)."
            )
        if found is None:  # a file another process is creating, or not a Carnet store
            raise StoreError(
                f"no Carnet tables in this store yet; log a run first or point --db / "
                f"{ENV_URI} at an existing store."
            )
        return found
    found = read_schema_version(engine)
    if found == SCHEMA_VERSION:
        return found
    if found is not None and found > SCHEMA_VERSION:
        raise _too_new(found)
    dialect = engine.dialect.name
    with write_transaction(engine) as cur:
        if dialect == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_ID,))
        found = None
        if table_exists(cur, dialect, "carnet_schema"):
            cur.execute("SELECT max(version) FROM carnet_schema")
            row = cur.fetchone()
            found = int(row[0]) if row and row[0] is not None else None
        if found is not None and found > SCHEMA_VERSION:
            raise _too_new(found)
        if found == SCHEMA_VERSION:
            return found
        if found is None:
            migrations.create_all(cur, engine.dialect, metadata)
        else:
            if not upgrade:
                raise StoreError(f"store at schema {found} needs 'carnet db upgrade'")
            migrations.upgrade(cur, engine.dialect, found)
        cur.execute(
            statement_style(dialect)(
                "INSERT INTO carnet_schema (version, migrated_at) VALUES (?, ?)"
            ),
            (SCHEMA_VERSION, int(time.time() * 1000)),
        )
    return SCHEMA_VERSION
