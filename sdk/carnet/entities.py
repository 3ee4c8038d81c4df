"""Public, immutable records returned by every read.

They are shaped like MLflow's entities (``run.info.run_id``,
``run.data.metrics``) so code written for MLflow reads them unchanged, and
they are plain values: no database session ever leaks through them.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple


class RunStatus(str, enum.Enum):
    """Lifecycle of a run; CRASHED is derived from a stale heartbeat."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CRASHED = "CRASHED"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def is_terminated(status: RunStatus | str) -> bool:
        """MLflow's ``RunStatus.is_terminated(status)``: finished, failed, killed or crashed."""
        return RunStatus(status) not in (RunStatus.RUNNING, RunStatus.SCHEDULED)

    @staticmethod
    def all_status() -> list[str]:
        """The statuses a store holds, as MLflow lists them (CRASHED is derived on read)."""
        return sorted(s.value for s in RunStatus if s is not RunStatus.CRASHED)

    @staticmethod
    def to_string(status: RunStatus | str) -> str:
        """MLflow's ``RunStatus.to_string``: the status's name as text."""
        return RunStatus(status).value

    @staticmethod
    def from_string(status: str) -> RunStatus:
        """MLflow's ``RunStatus.from_string``: the status named by the text
        (an unknown name raises ValueError).
        """
        return RunStatus(status)


class ViewType(enum.IntEnum):
    """Which lifecycle stages a search returns (MLflow's values)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


class LifecycleStage:
    """Whether an experiment or run is active or deleted (MLflow's two stages)."""

    ACTIVE = "active"
    DELETED = "deleted"


class Metric(NamedTuple):
    """One point of a metric's history (a tuple: cheap to make by the million)."""

    key: str
    value: float
    timestamp: int
    step: int


class Param(NamedTuple):
    """One param of a run; values are stored as text, as MLflow keeps them."""

    key: str
    value: str


class RunTag(NamedTuple):
    """One tag of a run (what ``Client.log_batch`` takes and MLflow's ``RunTag``)."""

    key: str
    value: str


class ExperimentTag(NamedTuple):
    """One tag of an experiment."""

    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    """An experiment as every read returns it (MLflow's ``Experiment`` fields).

    ``creation_time`` and ``last_update_time`` are milliseconds since the epoch;
    ``lifecycle_stage`` is ``active`` or ``deleted``.
    """

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True)
class RunInfo:
    """A run's metadata (MLflow's ``RunInfo``): ids, name, user, status and times.

    Times are milliseconds since the epoch; ``status`` may read CRASHED, which
    Carnet derives from a stale heartbeat and MLflow does not have.
    """

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``, kept for code that still uses it."""
        return self.run_id


@dataclass(frozen=True)
class RunData:
    """A run's data (MLflow's ``RunData``): each metric's last value, params and tags."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dictionary(self) -> dict[str, dict[str, Any]]:
        """Plain dicts of metrics, params and tags, as MLflow's method gives them."""
        return {"metrics": dict(self.metrics), "params": dict(self.params), "tags": dict(self.tags)}


@dataclass(frozen=True)
class MetricSummary:
    """What the store keeps per run and key so tables never scan histories."""

    key: str
    last: float
    step: int
    timestamp: int
    min: float
    max: float
    count: int


class InputTag(NamedTuple):
    """One tag of a run input (MLflow's ``InputTag``), e.g. ``mlflow.data.context``."""

    key: str
    value: str


@dataclass(frozen=True)
class EnvironmentRecord:
    """What a run needs to be run again, as :mod:`carnet.capture` recorded it: the record
    (JSON bytes) and the working tree's uncommitted patch, if any, under their digest."""

    digest: str
    record: bytes
    patch: bytes | None = None


@dataclass(frozen=True)
class Dataset:
    """A dataset as the store keeps it (MLflow's ``Dataset`` entity).

    ``source`` is JSON text whose shape ``source_type`` names; ``schema`` and
    ``profile`` are JSON text too, or None, exactly as MLflow stores them.
    """

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used, with the input's tags (MLflow's ``DatasetInput``)."""

    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)


@dataclass(frozen=True)
class RunInputs:
    """A run's inputs (MLflow's ``RunInputs``); Carnet records datasets, not model inputs."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[Any] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        """Plain dicts in the shape of MLflow's ``RunInputs.to_dictionary()``."""
        return {
            "model_inputs": list(self.model_inputs),
            "dataset_inputs": [
                {"dataset": asdict(item.dataset), "tags": {t.key: t.value for t in item.tags}}
                for item in self.dataset_inputs
            ],
        }


class LoggedModelStatus(str, enum.Enum):
    """Where a logged model is in its life (MLflow 3's ``LoggedModelStatus``): PENDING
    while its files are written, then READY, or FAILED if writing them failed."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def is_finalized(status: LoggedModelStatus | str) -> bool:
        """MLflow's test: READY and FAILED models change status no more."""
        return LoggedModelStatus(status) in (LoggedModelStatus.READY, LoggedModelStatus.FAILED)


@dataclass(frozen=True)
class LoggedModel:
    """A model logged to an experiment (MLflow 3's ``LoggedModel``), with its own id.

    ``model_uri`` (``models:/<model_id>``) loads it anywhere a model URI is taken;
    ``source_run_id`` is the run that produced it, if any; ``metrics`` are the points
    linked to the model (MLflow 3 links the run's metrics of the step it was logged at).
    Times are milliseconds since the epoch.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.READY
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    source_run_id: str | None = None
    model_type: str | None = None
    status_message: str | None = None
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        """``models:/<model_id>``: what loads this model, as in MLflow 3."""
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict[str, Any]:
        """Plain values (the status as text, metrics as dicts), e.g. for json.dumps."""
        out = asdict(self)
        out["status"] = self.status.value
        out["metrics"] = [m._asdict() for m in self.metrics]
        return out


class LoggedModelOutput(NamedTuple):
    """A model a run produced, and the step it was logged at (MLflow 3's ``LoggedModelOutput``)."""

    model_id: str
    step: int


@dataclass(frozen=True)
class RunOutputs:
    """A run's outputs (MLflow 3's ``RunOutputs``): the models it logged."""

    model_outputs: list[LoggedModelOutput] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        """Plain dicts in the shape of MLflow's ``RunOutputs.to_dictionary()``."""
        return {"model_outputs": [{"model_id": m, "step": s} for m, s in self.model_outputs]}


@dataclass(frozen=True)
class Run:
    """A run as every read returns it: ``info`` and ``data``, as in MLflow.

    ``summaries`` is Carnet's own: each metric's last value, step, time, min, max
    and count, read from the per-run summary without scanning the history.
    """

    info: RunInfo
    data: RunData
    summaries: dict[str, MetricSummary] = field(default_factory=dict)
    #: The datasets the run used (``Client.log_inputs``); filled by ``get_run``.
    inputs: RunInputs = field(default_factory=RunInputs)
    #: The models the run logged (MLflow 3's ``run.outputs``); filled by ``get_run``.
    outputs: RunOutputs = field(default_factory=RunOutputs)

    @property
    def _info(self) -> RunInfo:
        """MLflow's ``Run._info``, which MLflow's own examples read; the same as ``info``."""
        return self.info

    @property
    def _data(self) -> RunData:
        """MLflow's ``Run._data``; the same as ``data``."""
        return self.data

    def to_dictionary(self) -> dict[str, Any]:
        """Plain dicts, as MLflow's ``Run.to_dictionary()`` gives (e.g. for json.dumps)."""
        return {
            "info": asdict(self.info),
            "data": self.data.to_dictionary(),
            "inputs": self.inputs.to_dictionary(),
            "outputs": self.outputs.to_dictionary(),
        }


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing; ``file_size`` is None for a folder."""

    path: str
    is_dir: bool
    file_size: int | None


class PagedList(list):  # type: ignore[type-arg]
    """A list with the token of the next page, as MLflow's client returns."""

    def __init__(self, items: list[object], token: str | None) -> None:
        super().__init__(items)
        self.token = token


class ModelVersionStatus(str, enum.Enum):
    """MLflow's model version statuses; a version Carnet registers is READY at once."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model (MLflow's ``ModelVersion`` fields).

    ``version`` is the number as text (``"1"``), as MLflow's entity and REST API
    give it; ``source`` is where the model was registered from (``runs:/...``,
    ``models:/m-...``); ``aliases`` are the model's aliases that point here.
    ``current_stage`` is always ``"None"``: stages are MLflow's deprecated scheme,
    aliases replace them.
    """

    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int | None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY.value
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    model_id: str | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model (MLflow's ``RegisteredModel`` fields).

    ``latest_versions`` holds the newest version (one entry, or none before the
    first version); ``aliases`` maps each alias to its version number as text.
    """

    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
