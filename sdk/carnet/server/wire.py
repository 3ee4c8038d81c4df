"""Carnet's entities as MLflow's JSON (what ``message_to_json`` of MLflow's protos gives).

Protobuf's JSON leaves out unset fields and spells non-finite doubles as the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``; 64-bit integers are
plain numbers, as MLflow's server sends them.

Artifacts are served by this server, so locations are handed out as MLflow's
server hands them out with ``--serve-artifacts``: an experiment's as
``mlflow-artifacts:/<experiment_id>`` and a run's as
``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``. MLflow's client
turns those into URLs under ``/api/2.0/mlflow-artifacts/artifacts/`` on the
tracking server, which :mod:`carnet.server.artifacts` maps back to the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from carnet.entities import Experiment, FileInfo, Metric, Run, RunInfo, RunStatus

ARTIFACTS_SCHEME = "mlflow-artifacts:"


def number(value: float) -> float | str:
    """A double as protobuf's JSON spells it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def experiment_location(experiment_id: str) -> str:
    """Where an experiment's artifacts are, as MLflow's client should address them."""
    return f"{ARTIFACTS_SCHEME}/{experiment_id}"


def run_location(experiment_id: str, run_id: str) -> str:
    """Where a run's artifacts are, as MLflow's client should address them."""
    return f"{ARTIFACTS_SCHEME}/{experiment_id}/{run_id}/artifacts"


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags.items()]


def experiment(exp: Experiment) -> dict[str, Any]:
    """An ``Experiment`` message."""
    out: dict[str, Any] = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": experiment_location(exp.experiment_id),
        "lifecycle_stage": exp.lifecycle_stage,
    }
    if exp.last_update_time is not None:
        out["last_update_time"] = exp.last_update_time
    if exp.creation_time is not None:
        out["creation_time"] = exp.creation_time
    if exp.tags:
        out["tags"] = _tags(exp.tags)
    return out


def status(value: str) -> str:
    """A run status MLflow knows: Carnet's CRASHED (a RUNNING run whose process stopped
    beating) is RUNNING on the wire, which is what the store holds."""
    return RunStatus.RUNNING.value if value == RunStatus.CRASHED.value else value


def run_info(info: RunInfo) -> dict[str, Any]:
    """A ``RunInfo`` message."""
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": status(str(info.status)),
        "artifact_uri": run_location(info.experiment_id, info.run_id),
        "lifecycle_stage": info.lifecycle_stage,
    }
    if info.start_time is not None:
        out["start_time"] = info.start_time
    if info.end_time is not None:
        out["end_time"] = info.end_time
    return out


def run(r: Run) -> dict[str, Any]:
    """A ``Run`` message: its info, and its data with each metric's latest point."""
    metrics = []
    for key, value in r.data.metrics.items():
        summary = r.summaries.get(key)
        metrics.append(
            {
                "key": key,
                "value": number(value),
                "timestamp": summary.timestamp if summary is not None else 0,
                "step": summary.step if summary is not None else 0,
            }
        )
    data: dict[str, Any] = {}
    if metrics:
        data["metrics"] = metrics
    if r.data.params:
        data["params"] = _tags(r.data.params)
    if r.data.tags:
        data["tags"] = _tags(r.data.tags)
    out = {"info": run_info(r.info), "data": data}
    if r.inputs.dataset_inputs:
        out["inputs"] = {
            "dataset_inputs": [
                {
                    "tags": [{"key": t.key, "value": t.value} for t in item.tags],
                    "dataset": {k: v for k, v in asdict(item.dataset).items() if v is not None},
                }
                for item in r.inputs.dataset_inputs
            ]
        }
    if r.outputs.model_outputs:
        out["outputs"] = {
            "model_outputs": [
                {"model_id": o.model_id, "step": o.step} for o in r.outputs.model_outputs
            ]
        }
    return out


def metric(m: Metric, run_id: str | None = None) -> dict[str, Any]:
    """A ``Metric`` message (``MetricWithRunId`` when ``run_id`` is given)."""
    out: dict[str, Any] = {
        "key": m.key,
        "value": number(m.value),
        "timestamp": m.timestamp,
        "step": m.step,
    }
    if run_id is not None:
        out["run_id"] = run_id
    return out


def _number_text(value: float) -> str:
    """A double as protobuf's JSON text spells it."""
    if value != value:
        return '"NaN"'
    if value in (math.inf, -math.inf):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    return float.__repr__(value)


def _literal(text: str) -> str:
    """``text`` as a part of a ``str.format`` template that stands for itself."""
    return text.replace("{", "{{").replace("}", "}}")


def metrics_json(
    key: str,
    steps: Sequence[int],
    stamps: Sequence[int],
    values: Sequence[float],
    run_id: str | None = None,
) -> str:
    """``Metric`` messages of one key as JSON array text, the same text ``json.dumps``
    gives for :func:`metric` dicts, without a dict a point.

    Histories are served 25,000 points a page; the key (and run id) part of each
    point is formatted once, and each point costs one ``str.format``.
    """
    head = _literal('{"key":' + json.dumps(key))
    tail = "" if run_id is None else _literal(',"run_id":' + json.dumps(run_id))
    template = head + ',"value":{},"timestamp":{},"step":{}' + tail + "}}"
    finite = all(math.isfinite(v) for v in values)
    texts = map(float.__repr__ if finite else _number_text, values)
    return "[" + ",".join(map(template.format, texts, stamps, steps)) + "]"


def file_info(info: FileInfo, path: str) -> dict[str, Any]:
    """A ``FileInfo`` message under the name ``path``; folders have no size."""
    out: dict[str, Any] = {"path": path, "is_dir": info.is_dir}
    if not info.is_dir and info.file_size is not None:
        out["file_size"] = info.file_size
    return out
