"""The Models page's tables and texts, built from registry entities (pure: no Streamlit).

Everything a user named (models, aliases, tags, descriptions) stays a value in
a DataFrame cell or a plain string that the page shows as text, never markup.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import pandas as pd

from carnet.entities import ModelVersion, RegisteredModel
from carnet.model_signature import ColSpec, Schema

#: Metrics of the source runs shown as columns next to the versions, at most.
METRIC_COLUMNS = 12
SERVE_COMMAND = "carnet models serve -m {uri}"
REGISTER_EXAMPLE = (
    "import carnet\n"
    "# a model logged in a run (carnet.sklearn.log_model(model, name='model'))\n"
    'carnet.register_model("runs:/<run_id>/model", "diabetes")\n'
    "# or in one step when logging it\n"
    'carnet.sklearn.log_model(model, name="model", registered_model_name="diabetes")\n'
    "# then point an alias at the version to serve\n"
    'carnet.Client().set_registered_model_alias("diabetes", "champion", 1)'
)


def model_link(name: str) -> str:
    """A link (relative, like the runs table's run links) that opens a model on this page."""
    return f"models?model={quote(name, safe='')}"


def run_link(run_id: str | None) -> str | None:
    """The runs table's link to a run's page (``run?run=<id>``), or None without a run."""
    return f"run?run={run_id}" if run_id else None


def alias_text(aliases: Mapping[str, str]) -> str:
    """``champion → v3, challenger → v4`` (alias order), or empty text."""
    return ", ".join(f"{alias} → v{version}" for alias, version in sorted(aliases.items()))


def tags_text(tags: Mapping[str, str]) -> str:
    """``key=value`` pairs, comma-separated, in key order (for one table cell)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def millis(stamp: int | None) -> pd.Timestamp | None:
    """A registry timestamp (ms since the epoch) as a time the tables format."""
    return pd.Timestamp(stamp, unit="ms", tz="UTC") if stamp else None


def models_frame(models: Sequence[RegisteredModel]) -> pd.DataFrame:
    """One row per registered model: name, latest version, aliases, description, last
    update, tags and a link that opens it."""
    rows = [
        {
            "name": m.name,
            "latest": int(m.latest_versions[0].version) if m.latest_versions else None,
            "aliases": alias_text(m.aliases),
            "description": m.description or "",
            "updated": millis(m.last_updated_timestamp or m.creation_timestamp),
            "tags": tags_text(m.tags),
            "open": model_link(m.name),
        }
        for m in models
    ]
    columns = ["name", "latest", "aliases", "description", "updated", "tags", "open"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["latest"] = frame["latest"].astype("Int64")
    return frame


def metric_keys(metrics: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The metrics worth a column: those most source runs logged, then by name."""
    seen: dict[str, int] = {}
    for values in metrics.values():
        for key in values:
            seen[key] = seen.get(key, 0) + 1
    return sorted(seen, key=lambda k: (-seen[k], k))[:METRIC_COLUMNS]


def versions_frame(
    versions: Sequence[ModelVersion], metrics: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """One row per version: number, aliases, status, creation time, the source run (a
    link) and its metrics (``metrics.<key>`` columns), description and tags."""
    keys = metric_keys(metrics)
    rows = []
    for mv in versions:
        values = metrics.get(mv.run_id or "", {})
        rows.append(
            {
                "version": int(mv.version),
                "aliases": ", ".join(sorted(mv.aliases)),
                "status": mv.status,
                "created": millis(mv.creation_timestamp),
                "run": run_link(mv.run_id),
                **{"metrics." + k: values.get(k) for k in keys},
                "description": mv.description or "",
                "tags": tags_text(mv.tags),
            }
        )
    columns = ["version", "aliases", "status", "created", "run"]
    columns += ["metrics." + k for k in keys] + ["description", "tags"]
    return pd.DataFrame(rows, columns=columns)


def schema_frame(schema: Schema | None) -> pd.DataFrame:
    """A signature's inputs or outputs as rows of name, type and whether it is required."""
    rows = []
    for spec in schema.inputs if schema is not None else ():
        if isinstance(spec, ColSpec):
            rows.append({"name": spec.name or "", "type": spec.type, "required": spec.required})
        else:
            shape = "×".join("any" if n == -1 else str(n) for n in spec.shape)
            rows.append(
                {
                    "name": spec.name or "",
                    "type": f"tensor {spec.dtype} ({shape})",
                    "required": True,
                }
            )
    return pd.DataFrame(rows, columns=["name", "type", "required"])


def model_uris(name: str, version: str, aliases: Sequence[str]) -> list[str]:
    """The URIs that load this version: ``models:/name/N`` and one per alias pointing here."""
    return [f"models:/{name}/{version}", *(f"models:/{name}@{a}" for a in sorted(aliases))]


def serve_command(name: str, version: str, aliases: Sequence[str]) -> str:
    """How to serve this version: by its first alias (so a new champion is picked up on
    restart), else by its number; the URI is quoted for a shell when it needs to be."""
    uri = f"models:/{name}@{sorted(aliases)[0]}" if aliases else f"models:/{name}/{version}"
    return SERVE_COMMAND.format(uri=shlex.quote(uri))


def metric_label(column: str) -> str:
    """The header of a metric column: the metric's key."""
    return column.removeprefix("metrics.")
