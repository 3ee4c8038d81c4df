"""MLflow 3's logged models over the REST API: the REST store's part of the protocol.

Requests (MLflow 3's, as its ``RestStore`` sends them)::

    POST   /api/2.0/mlflow/logged-models                    create
    GET    /api/2.0/mlflow/logged-models/<id>               get (?allow_deleted=true)
    PATCH  /api/2.0/mlflow/logged-models/<id>               finalize (status)
    DELETE /api/2.0/mlflow/logged-models/<id>               delete
    PATCH  /api/2.0/mlflow/logged-models/<id>/tags          set tags
    DELETE /api/2.0/mlflow/logged-models/<id>/tags/<key>    delete a tag
    POST   /api/2.0/mlflow/logged-models/<id>/params        log params
    POST   /api/2.0/mlflow/logged-models/search             search
    POST   /api/2.0/mlflow/runs/outputs                     log a run's outputs

Metric points are linked to a model the way MLflow 3 does it: a ``runs/log-batch``
of the source run whose metrics carry the ``model_id``. A model's files go through
the server's ``mlflow-artifacts`` proxy at the model's location
(``mlflow-artifacts:/<experiment>/models/<id>/artifacts``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from carnet.entities import FileInfo, LoggedModel, LoggedModelOutput, LoggedModelStatus
from carnet.errors import ConfigurationError, InvalidInputError, LoggedModelNotFoundError
from carnet.store.logged_model_protocol import ModelMetricPoint
from carnet.store.rest import wire
from carnet.store.rest.artifacts import ServerArtifacts

#: MLflow's protobuf names of a logged model's statuses.
STATUS_NAMES = {
    LoggedModelStatus.UNSPECIFIED: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
_BY_NAME = {name: status for status, name in STATUS_NAMES.items()}
_BY_NUMBER = dict(enumerate(STATUS_NAMES))
#: Models asked for in one search request when a call wants more (or all of them).
MODEL_PAGE = 1_000


def read_status(value: Any) -> LoggedModelStatus:
    """A status as protobuf's JSON spells it (its name, or its number)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in _BY_NUMBER:
        return _BY_NUMBER[value]
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    return LoggedModelStatus.UNSPECIFIED


def read_logged_model(data: Mapping[str, Any]) -> LoggedModel:
    """A ``LoggedModel`` message, as a Carnet entity."""
    info = data.get("info") or {}
    body = data.get("data") or {}
    return LoggedModel(
        model_id=str(info.get("model_id", "")),
        experiment_id=str(info.get("experiment_id", "")),
        name=str(info.get("name", "")),
        artifact_location=str(info.get("artifact_uri", "")),
        creation_timestamp=wire.read_int(info.get("creation_timestamp_ms"), 0) or 0,
        last_updated_timestamp=wire.read_int(info.get("last_updated_timestamp_ms"), 0) or 0,
        status=read_status(info.get("status")),
        tags=wire.read_pairs(info.get("tags")),
        params=wire.read_pairs(body.get("params")),
        source_run_id=info.get("source_run_id") or None,
        model_type=info.get("model_type") or None,
        status_message=info.get("status_message") or None,
        metrics=[wire.read_metric(m) for m in body.get("metrics") or ()],
    )


def _path(model_id: str) -> str:
    return f"/logged-models/{quote(model_id, safe='')}"


class RestLoggedModels:
    """The logged-model methods of ``RestStore`` (a mixin over its ``_call``)."""

    _model_artifacts: ServerArtifacts
    check_writable: Callable[[], None]
    _call: Callable[..., dict[str, Any]]

    def _model_call(self, method: str, model_id: str, suffix: str = "", **kw: Any) -> Any:
        return self._call(
            method, _path(model_id) + suffix, not_found=LoggedModelNotFoundError, **kw
        )

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
        """A new model, made by the server (PENDING), then finalised if asked."""
        self.check_writable()
        body: dict[str, Any] = {"experiment_id": str(experiment_id), "name": name}
        if source_run_id is not None:
            body["source_run_id"] = source_run_id
        if model_type is not None:
            body["model_type"] = model_type
        if tags:
            body["tags"] = wire.pairs(tags)
        if params:
            body["params"] = wire.pairs(params)
        model = read_logged_model(self._call("POST", "/logged-models", body)["model"])
        if LoggedModelStatus(status) is not LoggedModelStatus.PENDING:
            model = self.finalize_logged_model(model.model_id, status)
        return model

    def get_logged_model(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        """One model with its tags, params and linked metrics."""
        query = {"allow_deleted": "true"} if allow_deleted else None
        return read_logged_model(self._model_call("GET", model_id, params=query)["model"])

    def finalize_logged_model(
        self, model_id: str, status: LoggedModelStatus | str, status_message: str | None = None
    ) -> LoggedModel:
        """Set a model's status (the message is not part of MLflow's request: dropped)."""
        self.check_writable()
        body = {"model_id": model_id, "status": STATUS_NAMES[LoggedModelStatus(status)]}
        return read_logged_model(self._model_call("PATCH", model_id, body=body)["model"])

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted."""
        self.check_writable()
        self._model_call("DELETE", model_id, body={"model_id": model_id})

    def set_logged_model_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Set (or overwrite) tags of a model."""
        self.check_writable()
        self._model_call("PATCH", model_id, "/tags", body={"tags": wire.pairs(tags)})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove one tag of a model."""
        self.check_writable()
        self._model_call("DELETE", model_id, f"/tags/{quote(key, safe='')}")

    def log_logged_model_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        """Add params to a model, 100 a request (MLflow's batch size)."""
        self.check_writable()
        items = list(params)
        for start in range(0, len(items), 100):
            body = {"model_id": model_id, "params": wire.pairs(items[start : start + 100])}
            self._model_call("POST", model_id, "/params", body=body)

    def log_logged_model_metrics(self, model_id: str, points: Sequence[ModelMetricPoint]) -> None:
        """Link points to a model: a log-batch of each point's run, with the model's id."""
        self.check_writable()
        by_run: dict[str, list[dict[str, Any]]] = {}
        for key, value, timestamp, step, run_id in points:
            if run_id is None:
                raise InvalidInputError(
                    "a tracking server links metrics to a model through the run that logged "
                    "them; pass run_id= to log_model_metrics."
                )
            point = {**wire.metric((key, value, timestamp, step)), "model_id": model_id}
            by_run.setdefault(run_id, []).append(point)
        for run_id, metrics in by_run.items():
            for start in range(0, len(metrics), 1000):
                body = {"run_id": run_id, "metrics": metrics[start : start + 1000]}
                self._call("POST", "/runs/log-batch", body)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record models as outputs of a run."""
        self.check_writable()
        if models:
            body = {"run_id": run_id, "models": [{"model_id": m.model_id, "step": m.step}
                                                 for m in models]}  # fmt: skip
            self._call("POST", "/runs/outputs", body)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        """Up to ``max_results`` models (all when None) and the token after them."""
        body: dict[str, Any] = {"experiment_ids": [str(e) for e in experiment_ids]}
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = [_order_field(clause) for clause in order_by]
        out: list[LoggedModel] = []
        token = page_token
        while True:
            want = MODEL_PAGE if max_results is None else min(MODEL_PAGE, max_results - len(out))
            if want <= 0:
                return out, token
            request = {**body, "max_results": want}
            if token:
                request["page_token"] = token
            data = self._call("POST", "/logged-models/search", request)
            out.extend(read_logged_model(m) for m in data.get("models") or ())
            token = data.get("next_page_token") or None
            if token is None or (max_results is not None and len(out) >= max_results):
                return out, token

    def logged_model_artifact_root(self, model_id: str) -> Path:
        """Refused: the server keeps the model's files; ``Client`` reaches them through
        this store's model artifact methods."""
        raise ConfigurationError(
            f"logged model {model_id}'s files are kept by the tracking server, not in a local "
            "folder; read them with Client.list_logged_model_artifacts or "
            "download_logged_model_artifacts."
        )

    # -- files, through the server's artifact proxy ---------------------------------------

    def upload_model_artifact(
        self, model_id: str, local_path: str | Path, artifact_path: str | None
    ) -> None:
        """Copy one local file into the model's files."""
        self.check_writable()
        self._model_artifacts.upload_file(model_id, local_path, artifact_path)

    def upload_model_artifacts(
        self, model_id: str, local_dir: str | Path, artifact_path: str | None
    ) -> None:
        """Copy a local folder's tree into the model's files."""
        self.check_writable()
        self._model_artifacts.upload_dir(model_id, local_dir, artifact_path)

    def list_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path`` of the model's files."""
        return self._model_artifacts.list(model_id, path)

    def read_model_artifact(self, model_id: str, path: str) -> bytes:
        """The content of one file of the model."""
        return self._model_artifacts.read(model_id, path)

    def download_model_artifacts(
        self, model_id: str, path: str, dst_path: str | Path | None = None
    ) -> str:
        """Copy a file or folder of the model to ``dst_path`` (a temporary folder if None)."""
        return self._model_artifacts.download(model_id, path, dst_path)


def _order_field(clause: str) -> dict[str, Any]:
    """``"metrics.acc DESC"`` as MLflow's ``OrderBy`` message."""
    from carnet.query import parse_order_by

    key = parse_order_by([clause], entity="logged_model")[0]
    written = clause.strip()
    upper = written.upper()
    for suffix in (" ASC", " DESC"):
        if upper.endswith(suffix):
            written = written[: -len(suffix)].strip()
    return {"field_name": written, "ascending": not key.descending}
