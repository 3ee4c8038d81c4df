"""Where a dataset came from, as MLflow's dataset sources serialise it.

A URL gives an ``http`` source, any other text a ``local`` one (a path or a
URI such as ``s3://...``), and no source at all a ``code`` source that names
the script that built the data (its ``mlflow.*`` source tags).
"""

from __future__ import annotations

import json


def resolve_source(source: str | None) -> tuple[str, str]:
    """``(source_type, source JSON)`` for a source given as text, or None for code."""
    if source is None:
        from carnet.sysinfo import system_tags

        tags = {k: v for k, v in system_tags() if k.startswith("mlflow.")}
        return "code", json.dumps({"tags": tags})
    text = str(source)
    if text.startswith(("http://", "https://")):
        return "http", json.dumps({"url": text})
    return "local", json.dumps({"uri": text})
