"""Where a dataset came from, as MLflow's dataset sources serialise it.

A URL gives an ``http`` source; a URI of a blob store MLflow knows
(``s3://``, ``gs://``, ...) a source of that scheme; any other text a
``local`` one; and no source at all a ``code`` source that names the script
that built the data (its ``mlflow.*`` source tags).
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

#: URI schemes whose datasets MLflow types by the scheme itself.
BLOB_SCHEMES = frozenset(
    {"abfss", "b2", "ftp", "gs", "hdfs", "r2", "s3", "sftp", "viewfs", "wasbs"}
)


def resolve_source(source: str | None) -> tuple[str, str]:
    """``(source_type, source JSON)`` for a source given as text, or None for code."""
    if source is None:
        from carnet.sysinfo import system_tags

        tags = {k: v for k, v in system_tags() if k.startswith("mlflow.")}
        return "code", json.dumps({"tags": tags})
    text = str(source)
    if text.startswith(("http://", "https://")):
        return "http", json.dumps({"url": text})
    scheme = urlparse(text).scheme
    return (scheme if scheme in BLOB_SCHEMES else "local"), json.dumps({"uri": text})
