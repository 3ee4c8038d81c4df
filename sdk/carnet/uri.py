"""Which store to use: one resolution rule for the SDK, the CLI and the dashboard."""

from __future__ import annotations

from pathlib import Path

from carnet import settings
from carnet.errors import ConfigurationError

DEFAULT_URI = "sqlite:///carnet.db"
ENV_URI = settings.TRACKING_URI.name
_tracking_uri: str | None = None


def normalize_uri(uri: str) -> str:
    """Turn what a user typed into a SQLAlchemy URL; a bare path is a SQLite file."""
    uri = uri.strip()
    if not uri:
        raise ConfigurationError("the tracking URI is empty; pass e.g. 'sqlite:///carnet.db'.")
    if uri.startswith("file:"):
        uri = uri[len("file:") :].lstrip("/")
        uri = "/" + uri if not uri.startswith(".") else uri
    if "://" not in uri:
        return "sqlite:///" + str(Path(uri).expanduser().resolve())
    scheme = uri.split("://", 1)[0]
    if scheme.lower() in ("http", "https"):  # a tracking server: the REST store
        return scheme.lower() + "://" + uri.split("://", 1)[1].rstrip("/")
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if scheme in ("sqlite", "postgresql+psycopg"):
        if scheme == "sqlite":
            path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
            if not path or path == ":memory:":
                raise ConfigurationError(
                    f"{uri!r} names no file; Carnet's SQLite store is a file shared by "
                    "processes, e.g. 'sqlite:///carnet.db' or 'sqlite:////tmp/runs.db'."
                )
            if not path.startswith("/"):
                return "sqlite:///" + str(Path(path).expanduser().resolve())
        return uri
    raise ConfigurationError(
        f"unsupported tracking URI scheme {scheme!r} in {uri!r}; use a file path, "
        "'sqlite:///path/to/carnet.db', 'postgresql+psycopg://user:pass@host/db' or a "
        "tracking server's 'http://host:port'."
    )


def set_tracking_uri(uri: str | Path | None) -> None:
    """Use this store from now on (for the fluent API and ``Client()`` without a URI)."""
    global _tracking_uri
    _tracking_uri = None if uri is None else normalize_uri(str(uri))


def explicit_uri() -> str | None:
    """The URI given to ``set_tracking_uri`` (normalised), or None when none was given.

    Callers that cache per store use it to tell an explicit setting from the
    environment's, which they must re-read on every call.
    """
    return _tracking_uri


#: The schemes of MLFLOW_TRACKING_URI that name a store Carnet opens.
_MLFLOW_SCHEMES = ("http", "https", "sqlite", "postgresql", "postgres", "postgresql+psycopg")


def resolve_uri(uri: str | Path | None = None) -> str:
    """The store in use: the argument, else set_tracking_uri's, else $CARNET_TRACKING_URI,
    else $MLFLOW_TRACKING_URI (so MLflow code run with a team's settings logs where they
    say), else ./carnet.db."""
    chosen = uri or _tracking_uri or settings.TRACKING_URI.get() or _mlflow_uri() or DEFAULT_URI
    return normalize_uri(str(chosen))


def _mlflow_uri() -> str | None:
    """$MLFLOW_TRACKING_URI when it names a store Carnet opens; a ConfigurationError when
    it names one of MLflow's others (a folder of mlruns, Databricks): silently logging to
    ./carnet.db instead would lose the runs where the user looks for them."""
    value = (settings.MLFLOW_TRACKING_URI.get() or "").strip()
    if not value:
        return None
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in _MLFLOW_SCHEMES:
        raise ConfigurationError(
            f"MLFLOW_TRACKING_URI is {value[:200]!r}, an MLflow store Carnet cannot open. "
            "Point it at a carnet server (http://host:5000), a SQLite file "
            "(sqlite:///path/to/carnet.db) or PostgreSQL, or set CARNET_TRACKING_URI, "
            "which Carnet reads first."
        )
    return value
