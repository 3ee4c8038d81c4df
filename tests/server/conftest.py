"""Servers shared by a test module: starting one (Streamlit and all) takes seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.served import Server, carnet_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on a fresh SQLite store, started with MLflow's flag names
    (``--backend-store-uri``, ``--artifacts-destination``)."""
    folder = tmp_path_factory.mktemp("server")
    with carnet_server(folder, mlflow_flags=True) as running:
        yield running
