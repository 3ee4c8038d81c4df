"""Carnet: experiment tracking with MLflow's API over a fast SQL store.

``import carnet as mlflow`` runs ordinary MLflow tracking code. Heavy
dependencies (SQLAlchemy, pandas, scikit-learn) load on first use, so
importing Carnet in a training script costs next to nothing.
"""

from carnet import exceptions as exceptions
from carnet import tracking as tracking
from carnet import utils as utils
from carnet.client import Client, MlflowClient
from carnet.entities import (
    Experiment,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from carnet.errors import (
    CarnetError,
    ExperimentExistsError,
    FilterError,
    InvalidInputError,
    NotFoundError,
    ParamOverwriteError,
    RunNotActiveError,
)
from carnet.fluent import (
    ActiveRun,
    active_run,
    autolog,
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_tag,
    end_run,
    flush_async_logging,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from carnet.safe_mode import disable_safe_mode, enable_safe_mode, is_safe_mode_enabled
from carnet.system_metrics import disable_system_metrics_logging, enable_system_metrics_logging

MlflowException = exceptions.MlflowException

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("sklearn", "models", "data", "pyfunc")


def __getattr__(name: str) -> object:
    """``carnet.sklearn`` and ``carnet.models`` load on first touch, as ``mlflow.sklearn`` does."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"carnet.{name}")
    raise AttributeError(f"module 'carnet' has no attribute {name!r}")


__all__ = [
    "ActiveRun",
    "CarnetError",
    "Client",
    "Experiment",
    "ExperimentExistsError",
    "FilterError",
    "InvalidInputError",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "NotFoundError",
    "Param",
    "ParamOverwriteError",
    "Run",
    "RunData",
    "RunInfo",
    "RunNotActiveError",
    "RunStatus",
    "RunTag",
    "ViewType",
    "__version__",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "disable_safe_mode",
    "disable_system_metrics_logging",
    "enable_safe_mode",
    "enable_system_metrics_logging",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_safe_mode_enabled",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
