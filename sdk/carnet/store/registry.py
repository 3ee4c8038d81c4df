"""From a tracking URI to the store that serves it."""

from __future__ import annotations

from carnet.store.protocol import Store
from carnet.uri import normalize_uri


def open_store(uri: str, *, read_only: bool = False) -> Store:
    """The store for ``uri``, picked by its scheme.

    A bare path or ``sqlite:///`` URI is a SQLite file and ``postgresql://``
    a PostgreSQL database: both open the SQL store. ``http://`` and
    ``https://`` name a tracking server (``carnet server``): they open the REST
    store, which speaks MLflow's REST API to it. ``read_only`` makes every
    write raise ``ReadOnlyError``.
    """
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in ("http", "https"):
        from carnet.store.rest import RestStore

        return RestStore(normalize_uri(uri), read_only=read_only)
    from carnet.store.sql_store import SqlStore

    return SqlStore(normalize_uri(uri), read_only=read_only)
