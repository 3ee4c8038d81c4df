"""What ``Client`` needs from a store for MLflow 3's logged models, as a typed protocol.

Part of :class:`carnet.store.protocol.Store`: the SQL store implements it in
``logged_models.py``, the REST store in ``rest/logged_models.py``. Model ids are
``m-<32 hex>``; an unknown or deleted id raises ``LoggedModelNotFoundError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from carnet.entities import FileInfo, LoggedModel, LoggedModelOutput, LoggedModelStatus

#: A model point as the store takes it: key, value, timestamp (ms), step, run id or None.
ModelMetricPoint = tuple[str, float, int, int, str | None]


class LoggedModelStoreProtocol(Protocol):
    """Logged models: create, finalise, tag, search, link to runs and metrics."""

    def create_logged_model(
        self,
        experiment_id: str,
        *,
        name: str,
        source_run_id: str | None = None,
        tags: Sequence[tuple[str, str]] = (),
        params: Sequence[tuple[str, str]] = (),
        model_type: str | None = None,
        status: LoggedModelStatus | str = LoggedModelStatus.PENDING,
    ) -> LoggedModel:
        """A new model of an active experiment, with its files' folder assigned
        (``<experiment location>/models/<model_id>/artifacts``)."""
        ...

    def get_logged_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        """One model with its tags, params and linked metrics."""
        ...

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a model's status: READY once its files are written, or FAILED."""
        ...

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted (its files stay until collected)."""
        ...

    def set_logged_model_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Set (or overwrite) checked tags of a model, all or none."""
        ...

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove one tag of a model; ``InvalidInputError`` when the model lacks it."""
        ...

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        """Add checked params to a model."""
        ...

    def log_logged_model_metrics(self, model_id: str, points: Sequence[ModelMetricPoint]) -> None:
        """Link metric points to a model."""
        ...

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record models as outputs of a run; ``get_run`` returns them in ``run.outputs``."""
        ...

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        """One page of the active matching models and the next page's token (None: last)."""
        ...

    def logged_model_artifact_root(self, model_id: str) -> Path:
        """The local folder of a model's files, refused with ``ArtifactLocationError``
        unless it lies inside an allowed artifact root (``ConfigurationError`` on a
        store whose files are behind a server)."""
        ...


class RemoteModelArtifacts(Protocol):
    """A store that keeps logged models' files behind its own API (the REST store).

    Paths are relative to the model's folder, with ``/`` between names.
    """

    def upload_model_artifact(
        self, model_id: str, local_path: str | Path, artifact_path: str | None
    ) -> None:
        """Copy one local file into the model's files (under ``artifact_path``)."""
        ...

    def upload_model_artifacts(
        self, model_id: str, local_dir: str | Path, artifact_path: str | None
    ) -> None:
        """Copy a local folder's tree into the model's files (under ``artifact_path``)."""
        ...

    def list_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path`` of the model's files."""
        ...

    def read_model_artifact(self, model_id: str, path: str) -> bytes:
        """The content of one file of the model."""
        ...

    def download_model_artifacts(
        self, model_id: str, path: str, dst_path: str | Path | None = None
    ) -> str:
        """Copy a file or folder of the model to ``dst_path`` (a new temporary folder if None)
        and return the local path of the copy."""
        ...
