"""Which MLflow store a ``source`` argument names, opened for reading."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from carnet.errors import ConfigurationError, NotFoundError
from carnet.mlflow_import.file_source import FileSource
from carnet.mlflow_import.records import Source
from carnet.mlflow_import.sql_source import SqlSource, sqlite_file


def open_source(source: str | Path, *, artifacts_dir: str | Path | None = None) -> Source:
    """An MLflow store from a SQLite file, a SQLAlchemy URL or an ``mlruns`` folder.

    A SQLite file's artifacts are looked for beside it, a database server's in
    the working directory; ``artifacts_dir`` names one more folder to copy from.
    """
    text = str(source)
    art = Path(artifacts_dir).expanduser().resolve() if artifacts_dir else None
    if "://" in text:
        scheme = text.split("://", 1)[0]
        if scheme == "file":
            return open_source(unquote(urlparse(text).path), artifacts_dir=art)
        if scheme.startswith(("sqlite", "postgresql", "mysql", "mssql")):
            path = sqlite_file(text)
            base = path.resolve().parent if path is not None else Path.cwd()
            return SqlSource(text, base, art)
        raise ConfigurationError(
            f"cannot import from {text!r}; pass an MLflow SQLite file (sqlite:///mlflow.db or "
            "mlflow.db), a database URL, or an mlruns folder."
        )
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        if (path / "mlruns").is_dir() and not (path / "0").is_dir():
            path = path / "mlruns"
        return FileSource(path, art)
    if path.is_file():
        return SqlSource(f"sqlite:///{path}", path.parent, art)
    raise NotFoundError(f"no MLflow store at {path}; pass an mlruns folder or a .db file.")
