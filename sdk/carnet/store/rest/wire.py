"""MLflow's JSON as Carnet's entities, and Carnet's values as MLflow's JSON.

Protobuf's JSON leaves unset fields out, spells non-finite doubles as
``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, and may send 64-bit integers as
text; every reader here takes both spellings, so answers from ``carnet server``
and from MLflow's own server read the same.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from carnet.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)
from carnet.errors import StoreError

_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_RUN_NAME_TAG = "mlflow.runName"


def number(value: float) -> float | str:
    """A double as protobuf's JSON spells it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def read_number(value: Any) -> float:
    """A double from protobuf's JSON (a number, or "NaN", "Infinity", "-Infinity", text)."""
    if isinstance(value, str):
        special = _SPECIAL.get(value)
        return special if special is not None else float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise StoreError(f"the tracking server sent {value!r} where a number belongs.")


def read_int(value: Any, default: int | None = None) -> int | None:
    """A 64-bit integer from protobuf's JSON (a number or its decimal text)."""
    if value is None:
        return default
    if isinstance(value, bool):
        raise StoreError(f"the tracking server sent {value!r} where an integer belongs.")
    if isinstance(value, (int, str)):
        try:
            return int(value)
        except ValueError:
            pass
    raise StoreError(f"the tracking server sent {value!r} where an integer belongs.")


def pairs(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Key-value pairs as MLflow's repeated ``{key, value}`` messages."""
    return [{"key": key, "value": value} for key, value in items]


def read_pairs(items: Any) -> dict[str, str]:
    """Repeated ``{key, value}`` messages as a dict (a later key wins, as MLflow's)."""
    out: dict[str, str] = {}
    for item in items or ():
        out[str(item["key"])] = str(item.get("value", ""))
    return out


def metric(point: Sequence[Any]) -> dict[str, Any]:
    """A (key, value, timestamp, step) point as a ``Metric`` message."""
    key, value, timestamp, step = point
    return {"key": key, "value": number(value), "timestamp": timestamp, "step": step}


def read_metric(data: Mapping[str, Any]) -> Metric:
    """A ``Metric`` message as Carnet's point."""
    return Metric(
        str(data["key"]),
        read_number(data.get("value", 0.0)),
        read_int(data.get("timestamp"), 0) or 0,
        read_int(data.get("step"), 0) or 0,
    )


def read_experiment(data: Mapping[str, Any]) -> Experiment:
    """An ``Experiment`` message."""
    return Experiment(
        experiment_id=str(data["experiment_id"]),
        name=str(data.get("name", "")),
        artifact_location=str(data.get("artifact_location", "")),
        lifecycle_stage=str(data.get("lifecycle_stage", "active")),
        tags=read_pairs(data.get("tags")),
        creation_time=read_int(data.get("creation_time")),
        last_update_time=read_int(data.get("last_update_time")),
    )


def read_run_info(data: Mapping[str, Any], tags: Mapping[str, str] | None = None) -> RunInfo:
    """A ``RunInfo`` message (the run's name from its tag when the info has none)."""
    run_id = str(data.get("run_id") or data.get("run_uuid") or "")
    if not run_id:
        raise StoreError("the tracking server sent a run without an id.")
    return RunInfo(
        run_id=run_id,
        experiment_id=str(data.get("experiment_id", "")),
        run_name=str(data.get("run_name") or (tags or {}).get(_RUN_NAME_TAG, "")),
        user_id=str(data.get("user_id", "")),
        status=str(data.get("status", "RUNNING")),
        start_time=read_int(data.get("start_time")),
        end_time=read_int(data.get("end_time")),
        artifact_uri=str(data.get("artifact_uri", "")),
        lifecycle_stage=str(data.get("lifecycle_stage", "active")),
    )


def read_run(data: Mapping[str, Any]) -> Run:
    """A ``Run`` message: its info, params, tags and each metric's latest value.

    MLflow's API carries no per-metric summary (min, max, point count), so the
    run's ``summaries`` are empty; its ``data.metrics`` hold the latest values.
    """
    body = data.get("data") or {}
    tags = read_pairs(body.get("tags"))
    metrics: dict[str, float] = {}
    latest: dict[str, tuple[int, int]] = {}
    for item in body.get("metrics") or ():
        point = read_metric(item)
        order = (point.step, point.timestamp)
        if point.key not in latest or order >= latest[point.key]:
            latest[point.key] = order
            metrics[point.key] = point.value
    return Run(
        info=read_run_info(data.get("info") or {}, tags),
        data=RunData(metrics=metrics, params=read_pairs(body.get("params")), tags=tags),
        inputs=read_run_inputs(data.get("inputs") or {}),
    )


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def read_run_inputs(data: Mapping[str, Any]) -> RunInputs:
    """A ``RunInputs`` message: the datasets a run used, with each input's tags."""
    inputs = []
    for item in data.get("dataset_inputs") or ():
        dataset = item.get("dataset") or {}
        inputs.append(
            DatasetInput(
                dataset=Dataset(
                    name=str(dataset.get("name", "")),
                    digest=str(dataset.get("digest", "")),
                    source_type=str(dataset.get("source_type", "")),
                    source=str(dataset.get("source", "")),
                    schema=_optional_text(dataset.get("schema")),
                    profile=_optional_text(dataset.get("profile")),
                ),
                tags=[InputTag(k, v) for k, v in read_pairs(item.get("tags")).items()],
            )
        )
    return RunInputs(dataset_inputs=inputs)


def read_file_info(data: Mapping[str, Any], folder: str) -> FileInfo:
    """A ``FileInfo`` of a listing of ``folder``, its path made relative to the run's root."""
    name = posixpath.basename(str(data.get("path", "")).rstrip("/"))
    is_dir = bool(data.get("is_dir", False))
    size = None if is_dir else read_int(data.get("file_size"))
    return FileInfo(posixpath.join(folder, name) if folder else name, is_dir, size)
