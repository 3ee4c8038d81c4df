"""Tracking stores: the ``Store`` protocol ``Client`` talks to, and ``open_store``.

The SQL store (SQLite, PostgreSQL) is the backend behind ``sqlite:///`` and
``postgresql+psycopg://`` URIs: tables (schema.py), engines and transactions
(engine.py), migrations, packed metric histories (history.py), and
``SqlStore`` (sql_store.py) joined from experiments.py, run_reads.py and
run_writes.py over base.py, with the helpers they share in sql_helpers.py.
The model registry (``ModelRegistry``, registry_protocol.py) is model_registry.py
over registry_rows.py and ``sql_search.registry_filter``.

The REST store (the ``rest`` package) is the backend behind ``http://`` and
``https://`` URIs: it speaks MLflow's REST API to a ``carnet server`` and keeps
run artifacts on the server (``RemoteArtifactStore``).
"""

from carnet.store.protocol import RemoteArtifactStore, Store
from carnet.store.registry import open_store
from carnet.store.registry_protocol import ModelRegistry

__all__ = ["ModelRegistry", "RemoteArtifactStore", "Store", "open_store"]
