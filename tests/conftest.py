"""Shared fixtures: a real store per test (a SQLite file, or a PostgreSQL schema).

Tests that need a system service skip with a reason on a laptop that lacks
it; under ``CI=true`` such a skip is turned into a failure, because ``.ci/run``
provides every service.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import carnet
from carnet import fluent
from carnet.store.engine import dispose_engines

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")


def require_service(available: bool, reason: str) -> None:
    """Skip without the service on a laptop; fail under CI, where it must exist."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this service: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in (
        "CARNET_TRACKING_URI",
        "CARNET_ASYNC_LOGGING",
        "MLFLOW_EXPERIMENT_NAME",
        "CARNET_EXPERIMENT_NAME",
        "CARNET_EXPERIMENT_ID",
        "CARNET_ARTIFACT_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    fluent._reset_for_tests()
    dispose_engines()


def sqlite_uri(tmp_path: Path, name: str = "carnet.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A fresh PostgreSQL schema on the CI server, dropped after the test."""
    require_service(PG_URL is not None, "CARNET_TEST_POSTGRES_URL is not set (no PostgreSQL)")
    assert PG_URL is not None
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    dispose_engines()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def any_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_uri(tmp_path)
    return str(request.getfixturevalue("pg_uri"))


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """A SQLite store file in the test's own folder."""
    return sqlite_uri(tmp_path)


@pytest.fixture
def tracking(any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fluent API pointed at a fresh store (both backends)."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    carnet.set_tracking_uri(any_uri)
    return any_uri


@pytest.fixture
def client(tracking: str) -> carnet.Client:
    return carnet.Client(tracking)
