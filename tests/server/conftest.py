"""Servers shared by a test module: starting one (Streamlit and all) takes seconds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.conftest import PG_URL, require_service
from tests.server.served import Server, carnet_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on a fresh SQLite store, started with MLflow's flag names
    (``--backend-store-uri``, ``--artifacts-destination``)."""
    folder = tmp_path_factory.mktemp("server")
    with carnet_server(folder, mlflow_flags=True) as running:
        yield running


@pytest.fixture(scope="module")
def module_pg_uri() -> Iterator[str]:
    """A fresh PostgreSQL schema for a whole module's server, dropped at its end."""
    require_service(PG_URL is not None, "CARNET_TEST_POSTGRES_URL is not set (no PostgreSQL)")
    assert PG_URL is not None
    import psycopg

    from carnet.store.engine import dispose_engines

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    dispose_engines()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def any_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on a fresh store, once on a SQLite file and once on PostgreSQL."""
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    uri = None if request.param == "sqlite" else str(request.getfixturevalue("module_pg_uri"))
    with carnet_server(folder, uri=uri) as running:
        yield running
