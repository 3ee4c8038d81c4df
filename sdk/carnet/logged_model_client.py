"""``Client``'s methods for MLflow 3's logged models: records, searches, files and run outputs.

A mixin of :class:`carnet.client.Client` (which supplies ``store`` and, on a
tracking server, ``_remote``), kept apart so each file holds one concern. The
names and arguments are ``MlflowClient``'s. Every argument is checked here
before the store sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from carnet import artifacts, s3_artifacts
from carnet.artifact_location import ArtifactsInBucket
from carnet.clock import now_ms
from carnet.entities import (
    FileInfo,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
)
from carnet.errors import InvalidValueError
from carnet.store import RemoteArtifactStore, Store
from carnet.store.logged_model_protocol import RemoteModelArtifacts
from carnet.utils.s3_uri import S3Uri
from carnet.validation import (
    param_value_text,
    run_tags,
    validate_key,
    validate_metric_value,
    validate_name,
    validate_run_id,
    validate_step,
    validate_timestamp,
)

#: The longest name a logged model may have (MLflow's limit for run names).
MAX_MODEL_NAME_LENGTH = 250
#: Most models one search page returns (MLflow's server limit).
MAX_SEARCH_LOGGED_MODELS = 50_000


def model_params(params: Mapping[Any, Any] | None) -> list[tuple[str, str]]:
    """Checked params of a model: keys as run params' keys, values as text."""
    out = []
    for key, value in (params or {}).items():
        clean = validate_key(key, "param")
        out.append((clean, param_value_text(clean, value)))
    return out


def order_clauses(order_by: Any) -> list[str] | None:
    """``order_by`` as clauses: strings (``"metrics.acc DESC"``) or MLflow's dicts
    (``{"field_name": "metrics.acc", "ascending": False}``)."""
    if order_by is None:
        return None
    items = [order_by] if isinstance(order_by, (str, Mapping)) else order_by
    if not isinstance(items, (list, tuple)):
        raise InvalidValueError(
            f"order_by must be a list of clauses such as ['metrics.acc DESC'], got {order_by!r}."
        )
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("field_name"), str):
            ascending = item.get("ascending", True)
            out.append(f"{item['field_name']} {'ASC' if ascending else 'DESC'}")
        else:
            raise InvalidValueError(
                "an order_by clause is a string such as 'metrics.acc DESC' or a dict "
                f"{{'field_name': 'metrics.acc', 'ascending': False}}, got {item!r}."
            )
    return out


class LoggedModelOperations:
    """MLflow 3's logged-model methods of ``Client``."""

    store: Store
    _remote: RemoteArtifactStore | None

    def _remote_models(self) -> RemoteModelArtifacts | None:
        return cast(RemoteModelArtifacts, self._remote) if self._remote is not None else None

    # -- records --------------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A new PENDING model of the experiment (MLflow 3's ``create_logged_model``);
        log its files with :meth:`log_model_artifacts`, then :meth:`finalize_logged_model`."""
        text = validate_name(name if name is not None else "model", "model name",
                             MAX_MODEL_NAME_LENGTH)  # fmt: skip
        if source_run_id is not None:
            validate_run_id(source_run_id, "source_run_id")
        if model_type is not None and not isinstance(model_type, str):
            raise InvalidValueError(f"model_type must be a string, got {model_type!r}.")
        return self.store.create_logged_model(
            str(experiment_id),
            name=text,
            source_run_id=source_run_id,
            tags=run_tags(tags),
            params=model_params(params),
            model_type=model_type,
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The model with this id (``ModelInfo.model_id``), with its tags, params and metrics."""
        return self.store.get_logged_model(model_id, allow_deleted=allow_deleted)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        """Set the model's final status: READY once its files are written, or FAILED."""
        return self.store.finalize_logged_model(model_id, status)

    def delete_logged_model(self, model_id: str) -> None:
        """Delete a model: searches and ``models:/`` stop finding it."""
        self.store.delete_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        """Set (or overwrite) tags of a model."""
        self.store.set_logged_model_tags(model_id, run_tags(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove one tag of a model."""
        self.store.delete_logged_model_tag(model_id, validate_key(key, "tag"))

    def log_model_params(self, model_id: str, params: Mapping[str, Any]) -> None:
        """Add params to a model (MLflow 3's ``log_model_params``)."""
        self.store.log_logged_model_params(model_id, model_params(params))

    def log_model_metrics(
        self, model_id: str, metrics: Sequence[Metric], run_id: str | None = None
    ) -> None:
        """Link metric points to a model (e.g. a run's metrics at the step it was logged)."""
        points = []
        for m in metrics:
            key = validate_key(m.key, "metric")
            points.append((key, validate_metric_value(key, m.value),
                           validate_timestamp(key, m.timestamp if m.timestamp else now_ms()),
                           validate_step(key, m.step), run_id))  # fmt: skip
        self.store.log_logged_model_metrics(model_id, points)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record models as outputs of a run (``run.outputs.model_outputs``)."""
        outputs = []
        for item in models:
            if not isinstance(item, LoggedModelOutput):
                item = LoggedModelOutput(str(item.model_id), int(item.step))
            outputs.append(item)
        self.store.log_outputs(validate_run_id(run_id), outputs)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[str | Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of the active models of these experiments that match ``filter_string``
        (``name``, ``model_id``, ``status``, ``source_run_id``, ``model_type``,
        ``creation_timestamp``, ``tags.<k>``, ``params.<k>``, ``metrics.<k>``), newest
        first unless ``order_by`` says otherwise. ``datasets`` is MLflow's; Carnet
        does not link model metrics to datasets, so it must be empty."""
        if isinstance(experiment_ids, str) or not isinstance(experiment_ids, (list, tuple)):
            raise InvalidValueError(
                f"experiment_ids must be a list of ids such as ['1'], got {experiment_ids!r}."
            )
        if datasets:
            raise InvalidValueError(
                "Carnet does not link model metrics to datasets; search without datasets=."
            )
        if max_results is not None and (
            isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0
        ):
            raise InvalidValueError(f"max_results must be a non-negative integer, got "
                                    f"{max_results!r}.")  # fmt: skip
        found, token = self.store.search_logged_models(
            [str(e) for e in experiment_ids],
            filter_string,
            max_results,
            order_clauses(order_by),
            page_token,
        )
        return PagedList(list(found), token)

    # -- files ----------------------------------------------------------------------------

    def _model_root(self, model_id: str) -> Path | S3Uri:
        """The model's folder, or its place in the allowed S3 bucket."""
        try:
            return self.store.logged_model_artifact_root(model_id)
        except ArtifactsInBucket as in_bucket:
            return in_bucket.location

    def log_model_artifacts(
        self, model_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's tree into the model's files (under ``artifact_path``)."""
        remote = self._remote_models()
        self.store.check_writable()
        if remote is not None:
            remote.upload_model_artifacts(model_id, local_dir, artifact_path)
            return
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            s3_artifacts.log_dir(root, local_dir, artifact_path)
        else:
            artifacts.log_dir(root, local_dir, artifact_path)

    def log_model_artifact(
        self, model_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        """Copy one local file into the model's files (under ``artifact_path``)."""
        remote = self._remote_models()
        self.store.check_writable()
        if remote is not None:
            remote.upload_model_artifact(model_id, local_path, artifact_path)
            return
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            s3_artifacts.log_file(root, local_path, artifact_path)
        else:
            artifacts.log_file(root, local_path, artifact_path)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path`` of the model's files."""
        remote = self._remote_models()
        if remote is not None:
            return remote.list_model_artifacts(model_id, path)
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.list_files(root, path)
        return artifacts.list_files(root, path)

    def read_logged_model_artifact(self, model_id: str, path: str) -> bytes:
        """The content of one file of the model."""
        remote = self._remote_models()
        if remote is not None:
            return remote.read_model_artifact(model_id, path)
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.read_bytes(root, path)
        return artifacts.read_bytes(root, path)

    def download_logged_model_artifacts(
        self, model_id: str, path: str = "", dst_path: str | None = None
    ) -> str:
        """Copy a file or folder of the model to ``dst_path`` (a new temporary folder if None)."""
        remote = self._remote_models()
        if remote is not None:
            return remote.download_model_artifacts(model_id, path, dst_path)
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            return s3_artifacts.download(root, path, dst_path)
        return artifacts.download(root, path, dst_path)

    def logged_model_folder(self, model_id: str) -> Path:
        """The local folder of the model's files (for loading in place); on a tracking
        server or in a bucket, a copy downloaded to a new temporary folder."""
        remote = self._remote_models()
        if remote is not None:
            return Path(remote.download_model_artifacts(model_id, "", None))
        root = self._model_root(model_id)
        if isinstance(root, S3Uri):
            return Path(s3_artifacts.download(root, "", None))
        return artifacts.resolve(root, "")
