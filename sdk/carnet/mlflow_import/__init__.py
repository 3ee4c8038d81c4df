"""Copy an MLflow tracking store into Carnet: experiments, runs, full metric histories,
params, tags, statuses, times and artifacts.

MLflow need not be installed: its SQL store is read with SQLAlchemy (a SQLite
file, or any SQLAlchemy URL of a server MLflow wrote to; sql_source.py) and its
file store (``mlruns/``) is read as files (file_source.py). The import
(importer.py) is idempotent: every imported run carries the source run id in
the tag ``carnet.imported_from``, and runs already present are skipped, so
running it again imports only what is new. A run is marked imported only once
all of its data and artifacts are in; a run left half-copied by an interrupted
import is deleted and copied again on the next try. Artifacts are copied only
from the source's own artifact folders, never through a symbolic link
(artifacts.py).

What changes on the way: runs get new Carnet run ids (the MLflow id stays in
``carnet.imported_from``); experiments are matched by name; MLflow's SQL store
saves infinity as ±1.797e308, which comes back as ±inf.
"""

from carnet.mlflow_import.importer import IMPORTED_FROM, ImportReport, import_mlflow
from carnet.mlflow_import.sources import open_source

__all__ = ["IMPORTED_FROM", "ImportReport", "import_mlflow", "open_source"]
