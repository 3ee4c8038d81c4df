"""Fixtures for the reliability suite: table dumps, worker subprocesses, shared stores.

The suite runs real processes (``workers.py``) against real stores, so the
helpers here start them with a clean environment, wait with timeouts, and
show a worker's stderr when it fails.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

PG_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
WORKERS = Path(__file__).with_name("workers.py")
REPO = Path(__file__).resolve().parents[2]

#: Environment variables that would change what a worker does if inherited.
_CARNET_ENV = (
    "CARNET_TRACKING_URI",
    "CARNET_ASYNC_LOGGING",
    "CARNET_EXPERIMENT_NAME",
    "CARNET_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "CARNET_SAFE_MODE",
    "CARNET_HEARTBEAT_INTERVAL",
    "CARNET_HEARTBEAT_TIMEOUT",
    "CARNET_FLUSH_INTERVAL",
)


def need_postgres() -> str:
    """The server URL; skip without one (under CI the skip fails: see tests/conftest.py)."""
    if PG_URL is None:
        pytest.skip("CARNET_TEST_POSTGRES_URL is not set (no PostgreSQL)")
    return PG_URL


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def new_pg_schema() -> tuple[str, str]:
    """Create a private schema on the test server; (URI whose search_path is it, schema)."""
    import psycopg

    url = need_postgres()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}", schema


def drop_pg_schema(schema: str) -> None:
    import psycopg

    from carnet.store.engine import dispose_engines

    dispose_engines()
    assert PG_URL is not None
    with psycopg.connect(_plain(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_uri(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One store per module and backend, for suites that only read or must not change it."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'carnet.db'}"
    else:
        uri, schema = new_pg_schema()
    _long_lived.add(uri)
    yield uri
    _long_lived.discard(uri)
    engine = _dump_engines.pop(uri, None)
    if engine is not None:
        engine.dispose()
    if request.param == "postgres":
        drop_pg_schema(schema)


# -- dumps -------------------------------------------------------------------------------


def _sortable(value: Any) -> tuple[int, str]:
    """Rows hold None, NaN and mixed types; order them by a total, stable key."""
    if value is None:
        return (0, "")
    if isinstance(value, float) and math.isnan(value):
        return (1, "nan")
    return (2, repr(value))


_dump_engines: dict[str, Engine] = {}


#: Stores that outlive a test (module fixtures) keep their dump engine until the module ends.
_long_lived: set[str] = set()


@pytest.fixture(autouse=True)
def _dispose_dump_engines() -> Iterator[None]:
    """Close dump connections after each test, so PostgreSQL does not collect idle ones."""
    yield
    for uri in [u for u in _dump_engines if u not in _long_lived]:
        _dump_engines.pop(uri).dispose()


def dump_store(uri: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a fixed order: equal dumps mean equal content.

    Through its own engine (not the SDK's), so it sees committed data only and
    cannot be fooled by the SDK's caches; each dump is one fresh transaction.
    """
    engine = _dump_engines.get(uri)
    if engine is None:
        engine = _dump_engines[uri] = create_engine(uri)
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        out: dict[str, list[tuple[Any, ...]]] = {}
        for name in names:
            rows = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"'))]
            out[name] = sorted(rows, key=lambda row: tuple(_sortable(v) for v in row))
        return out


def files_under_root(root: Path) -> list[tuple[str, int]]:
    """Every file below ``root`` but the store's own, with its size: artifacts written or not."""
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file() and ".db" not in p.name
    )


def nan_safe(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """NaN != NaN; replace it by a marker so two dumps compare equal when they are."""
    return {
        t: [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]
        for t, rows in dump.items()
    }


# -- worker processes ---------------------------------------------------------------------


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CARNET_ENV}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "sdk"), str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.update(extra)
    return env


def start_worker(role: str, args: dict[str, Any], **env: str) -> subprocess.Popen[str]:
    """``python workers.py ROLE JSON``, as its own process with its own stderr."""
    return subprocess.Popen(
        [sys.executable, str(WORKERS), role, json.dumps(args)],
        env=worker_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    """Wait for a worker; kill it (and say so) if it hangs."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"worker hung for {timeout} s; stderr:\n{err}")
    return proc.returncode, out, err


def wait_for_file(
    path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 30
) -> None:
    """Wait until a worker writes its marker; fail with its stderr if it died first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"worker exited {proc.returncode} before {path.name}:\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {path.name} after {timeout} s")
        time.sleep(0.01)


def release(go: Path, ready: Sequence[Path], procs: Sequence[subprocess.Popen[str]]) -> None:
    """Start the workers at the same instant: wait until all are ready, then create ``go``."""
    for path, proc in zip(ready, procs, strict=True):
        wait_for_file(path, proc, timeout=60)
    go.touch()


# -- statement tracer ---------------------------------------------------------------------


class _TracingCursor(sqlite3.Cursor):
    statements: list[str]

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self.statements.append(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> Self:
        self.statements.append(sql)
        return super().executemany(sql, seq)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        self.statements.append(script)
        return super().executescript(script)


@pytest.fixture
def sql_trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL text the SDK sends to SQLite or PostgreSQL while the test runs.

    SQLite: connections are made with a Connection subclass whose cursors record
    ``execute``; PostgreSQL: psycopg's Cursor methods are wrapped. Both see the
    SDK's raw DBAPI statements and SQLAlchemy's compiled ones alike. Engines are
    dropped first so every connection is a traced one.
    """
    import psycopg

    from carnet.store.engine import dispose_engines

    statements: list[str] = []
    cursor_class = type("TracingCursor", (_TracingCursor,), {"statements": statements})

    class TracingConnection(sqlite3.Connection):
        def cursor(self, factory: Any = cursor_class) -> Any:
            return super().cursor(factory)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            cursor: sqlite3.Cursor = self.cursor()
            return cursor.execute(sql, parameters)

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        factory = kwargs.get("factory", sqlite3.Connection)
        # Carnet's own connection subclasses (per-thread writers) are traced too.
        kwargs["factory"] = (
            TracingConnection
            if factory is sqlite3.Connection
            else type("Traced" + factory.__name__, (TracingConnection, factory), {})
        )
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        return conn

    def wrap(method: Any) -> Any:
        def traced(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            statements.append(query if isinstance(query, str) else repr(query))
            return method(self, query, *args, **kwargs)

        return traced

    monkeypatch.setattr(sqlite3, "connect", connect)
    monkeypatch.setattr(psycopg.Cursor, "execute", wrap(psycopg.Cursor.execute))
    monkeypatch.setattr(psycopg.Cursor, "executemany", wrap(psycopg.Cursor.executemany))
    dispose_engines()
    yield statements
    dispose_engines()
