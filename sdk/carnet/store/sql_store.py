"""``SqlStore``: the Store on SQLite or PostgreSQL, assembled from its parts.

Each part is one concern over the shared base (base.py): experiments
(experiments.py), reads of runs (run_reads.py), writes of runs (run_writes.py),
logged models (logged_models.py), the model registry (model_registry.py) and
environment records (environment_records.py).
``SqlStore`` only joins them; it is what ``open_store`` returns for a ``sqlite:///``
or ``postgresql+psycopg://`` URI.
"""

from __future__ import annotations

from carnet.store.bulk_import import RunImports
from carnet.store.environment_records import EnvironmentRecordStore
from carnet.store.experiments import ExperimentStore
from carnet.store.inputs import RunInputStore
from carnet.store.logged_models import LoggedModelStore
from carnet.store.model_registry import ModelRegistryStore
from carnet.store.run_reads import RunReads
from carnet.store.run_writes import RunWrites

__all__ = ["SqlStore"]


class SqlStore(
    ModelRegistryStore,
    LoggedModelStore,
    RunInputStore,
    EnvironmentRecordStore,
    ExperimentStore,
    RunReads,
    RunWrites,
    RunImports,
):
    """Reads and writes for one tracking URI (an engine per URI is shared per process)."""

    def __init__(self, uri: str, *, read_only: bool = False) -> None:
        """Open the store; a writable open of a store without experiments adds ``Default``."""
        super().__init__(uri, read_only=read_only)
        if not read_only:
            self.ensure_default_experiment()
