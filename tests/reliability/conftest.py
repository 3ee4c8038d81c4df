"""Fixtures for the reliability suite: table dumps, worker subprocesses, shared stores.

The suite runs real processes (``workers.py``) against real stores, so the
helpers here start them with a clean environment, wait with timeouts, and
show a worker's stderr when it fails.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, inspect, text

IN_CI = os.environ.get("CI", "").lower() == "true"
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
    """The server URL; skip without one on a laptop, fail under CI (as tests/conftest.py)."""
    if PG_URL is None:
        if IN_CI:
            pytest.fail("CI must provide this service: CARNET_TEST_POSTGRES_URL is not set")
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
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'carnet.db'}"
        return
    uri, schema = new_pg_schema()
    yield uri
    drop_pg_schema(schema)


# -- dumps -------------------------------------------------------------------------------


def _sortable(value: Any) -> tuple[int, str]:
    """Rows hold None, NaN and mixed types; order them by a total, stable key."""
    if value is None:
        return (0, "")
    if isinstance(value, float) and math.isnan(value):
        return (1, "nan")
    return (2, repr(value))


def dump_store(uri: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a fixed order: equal dumps mean equal content.

    A separate engine (not the SDK's) so the dump sees committed data only and
    cannot be fooled by the SDK's own caches.
    """
    engine = create_engine(uri)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            out: dict[str, list[tuple[Any, ...]]] = {}
            for name in names:
                rows = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"'))]
                out[name] = sorted(rows, key=lambda row: tuple(_sortable(v) for v in row))
            return out
    finally:
        engine.dispose()


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
