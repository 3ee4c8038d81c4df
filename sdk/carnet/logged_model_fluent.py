"""MLflow 3's fluent functions for logged models: ``carnet.get_logged_model``,
``search_logged_models``, ``set_logged_model_tags``, ``last_logged_model`` and friends.

They act on the store of the current tracking URI, in the active experiment
unless told otherwise. Reads and the calls that return a new model are strict;
tag and param writes are tracking calls and follow safe mode, as the run's do.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from carnet import fluent, run_context, settings
from carnet.entities import LoggedModel, LoggedModelStatus
from carnet.errors import InvalidValueError
from carnet.safe_mode import safe

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "create_external_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "initialize_logged_model",
    "last_logged_model",
    "log_model_params",
    "search_logged_models",
    "set_logged_model_tags",
]

#: The tag MLflow 3 puts on a model whose files are kept outside the store.
EXTERNAL_TAG = "mlflow.model.isExternal"
#: Functions of ``__all__`` that record tracking data, so safe mode covers them.
SAFE_LOGGED_MODEL_FUNCTIONS = ("delete_logged_model_tag", "log_model_params",
                               "set_logged_model_tags")  # fmt: skip

_last = threading.local()
_last_any: list[str] = []


def _experiment_id() -> str:
    """The experiment a fluent call without an id means, as for runs."""
    active = run_context.active_experiment_id()
    if active is not None:
        return active
    env_id = settings.EXPERIMENT_ID.get() or settings.MLFLOW_EXPERIMENT_ID.get()
    if env_id:
        return env_id
    name = settings.EXPERIMENT_NAME.get() or settings.MLFLOW_EXPERIMENT_NAME.get()
    return fluent.set_experiment(name or fluent.DEFAULT_EXPERIMENT_NAME).experiment_id


def set_last_logged_model_id(model_id: str) -> None:
    """Remember the model this thread (and the process) logged last."""
    _last.model_id = model_id
    _last_any[:] = [model_id]


def last_logged_model() -> LoggedModel | None:
    """The model logged last by this thread (else by this process), or None."""
    model_id = getattr(_last, "model_id", None) or (_last_any[0] if _last_any else None)
    return None if model_id is None else run_context.client().get_logged_model(model_id)


def get_logged_model(model_id: str) -> LoggedModel:
    """The logged model with this id (``ModelInfo.model_id``)."""
    return run_context.client().get_logged_model(model_id)


def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """A new PENDING model in the active run's experiment (or ``experiment_id``), linked
    to the active run unless ``source_run_id`` names another; finalise it once its files
    are logged (``Client.log_model_artifacts``)."""
    active = run_context.active_run()
    if source_run_id is None and active is not None:
        source_run_id = active.info.run_id
    if experiment_id is None:
        if active is not None:
            experiment_id = active.info.experiment_id
        elif source_run_id is not None:
            experiment_id = run_context.client().get_run(source_run_id).info.experiment_id
        else:
            experiment_id = _experiment_id()
    model = run_context.client().create_logged_model(
        experiment_id, name, source_run_id, tags, params, model_type
    )
    set_last_logged_model_id(model.model_id)
    return model


def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """A READY model whose files live outside the store (tagged ``mlflow.model.isExternal``):
    a record to hang params, tags and metrics on, as MLflow 3's ``create_external_model``."""
    model = initialize_logged_model(
        name, source_run_id, {**(tags or {}), EXTERNAL_TAG: "true"}, params, model_type,
        experiment_id,
    )  # fmt: skip
    return run_context.client().finalize_logged_model(model.model_id, LoggedModelStatus.READY)


def finalize_logged_model(model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
    """Set a model's final status (READY or FAILED)."""
    return run_context.client().finalize_logged_model(model_id, status)


@safe()
def set_logged_model_tags(model_id: str, tags: Mapping[str, Any]) -> None:
    """Set (or overwrite) tags of a logged model."""
    run_context.client().set_logged_model_tags(model_id, tags)


@safe()
def delete_logged_model_tag(model_id: str, key: str) -> None:
    """Remove one tag of a logged model."""
    run_context.client().delete_logged_model_tag(model_id, key)


@safe()
def log_model_params(params: Mapping[str, Any], model_id: str | None = None) -> None:
    """Add params to a logged model (default: the one logged last)."""
    if model_id is None:
        last = last_logged_model()
        if last is None:
            raise InvalidValueError("no model was logged yet; pass model_id=.")
        model_id = last.model_id
    run_context.client().log_model_params(model_id, params)


def search_logged_models(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    datasets: Sequence[Mapping[str, Any]] | None = None,
    max_results: int | None = None,
    order_by: Sequence[str | Mapping[str, Any]] | None = None,
    output_format: str = "pandas",
) -> pd.DataFrame | list[LoggedModel]:
    """Logged models matching a filter, newest first, as a DataFrame (default) or a list.

    Args:
        experiment_ids: the experiments to search; default the active one.
        filter_string: MLflow 3's logged-model filter, e.g. ``name = 'model' AND
            metrics.acc > 0.9 AND tags.stage = 'prod'`` (also ``model_id``,
            ``status``, ``source_run_id``, ``model_type``, ``creation_timestamp``,
            ``params.<k>``), with Carnet's ``OR``, ``NOT`` and parentheses.
        datasets: MLflow's; must be empty (Carnet links no metric to a dataset).
        max_results: at most this many models (default: all).
        order_by: clauses such as ``"metrics.acc DESC"`` or MLflow's dicts.
        output_format: ``"pandas"`` or ``"list"``.

    The DataFrame has a row per model with MLflow's columns (``model_id``, ``name``,
    ``experiment_id``, ``status``, ``source_run_id``, ``artifact_location``,
    ``creation_timestamp``, ``last_updated_timestamp``, ``model_type``, ``tags``,
    ``params``, ``metrics``).
    """
    if output_format not in ("pandas", "list"):
        raise InvalidValueError(f"output_format must be 'pandas' or 'list', got {output_format!r}.")
    ids = [str(e) for e in experiment_ids] if experiment_ids else [
        _experiment_id()
    ]  # fmt: skip
    client = run_context.client()
    found: list[LoggedModel] = []
    token = None
    while True:
        want = None if max_results is None else max_results - len(found)
        page = client.search_logged_models(ids, filter_string, datasets, want, order_by, token)
        found.extend(page)
        token = page.token
        if token is None or (max_results is not None and len(found) >= max_results):
            break
    if output_format == "list":
        return found
    import pandas as pd

    columns = ["model_id", "name", "experiment_id", "status", "source_run_id",
               "artifact_location", "creation_timestamp", "last_updated_timestamp",
               "model_type", "status_message", "tags", "params", "metrics"]  # fmt: skip
    rows = [{**m.to_dictionary(), "metrics": list(m.metrics)} for m in found]
    return pd.DataFrame(rows, columns=columns)
