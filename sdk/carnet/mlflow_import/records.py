"""What an MLflow source yields, whichever layout it was read from.

A source (sql_source.py, file_source.py) turns MLflow's rows or files into
these plain records; the importer maps them into Carnet and never looks at
MLflow's storage itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from carnet.mlflow_import.artifacts import FoundArtifacts

#: One point of a metric history: key, value, timestamp (ms), step.
MetricPoint = tuple[str, float, int, int]


@dataclass(frozen=True)
class SourceExperiment:
    """An MLflow experiment: its id in the source, name, lifecycle stage and tags."""

    experiment_id: str
    name: str
    lifecycle_stage: str
    tags: dict[str, str]


@dataclass(frozen=True)
class SourceRun:
    """An MLflow run with its params and tags (its history is read separately, streamed)."""

    run_id: str
    experiment_id: str
    name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]


class Source(Protocol):
    """An MLflow store opened for reading."""

    #: What the report calls the source (a URL without its password, or a folder).
    description: str

    def experiments(self) -> list[SourceExperiment]:
        """Every experiment, deleted ones included."""
        ...

    def runs(self) -> list[SourceRun]:
        """Every run, deleted ones included, oldest first."""
        ...

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]:
        """The run's points, key by key, each key in (step, timestamp) order."""
        ...

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts:
        """The run's artifact folder inside the source's own folders, if there is one."""
        ...

    def close(self) -> None:
        """Release what reading held (connections)."""
        ...


def optional_int(value: Any) -> int | None:
    """A time as MLflow stored it (a number, its text, empty or null), or None if not one."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None
