"""Tables shared by the scenario script (run by MLflow's and Carnet's interpreters) and
the tests. Standard library only: MLflow's venv imports it too."""

from __future__ import annotations

NAN = float("nan")

#: The runs of the search scenario: name, params, metrics, tags, how the run ends.
SEARCH_RUNS = [
    ("r-a", {"model": "ridge", "alpha": "0.1"}, {"rmse": 3.0, "r2": 0.5},
     {"team": "med-ai", "stage": "dev"}, "ok"),
    ("r-b", {"model": "lasso", "alpha": "0.01"}, {"rmse": 2.5, "r2": 0.6},
     {"team": "med-ops", "stage": "prod"}, "ok"),
    ("r-c", {"model": "ridge", "alpha": "1.0"}, {"rmse": 4.0}, {"team": "fin"}, "ok"),
    ("r-d", {"model": "enet"}, {"rmse": NAN, "r2": 0.1}, {"team": "Med-AI"}, "ok"),
    ("r-e", {"model": "ridge", "alpha": "0.5"}, {"rmse": 3.5, "r2": 0.2},
     {"team": "fin", "stage": "dev"}, "fail"),
    ("r-f", {"model": "svr"}, {"r2": 0.3}, {"team": "ops"}, "kill"),
]  # fmt: skip

#: MLflow filter strings, each sorted by run name so only membership is compared.
FILTERS = {
    "metric_lt": "metrics.rmse < 3.5",
    "metric_eq_int": "metrics.rmse = 3",
    "metric_ne": "metrics.rmse != 3.0",
    "metric_ge": "metrics.r2 >= 0.3",
    "param_eq": "params.model = 'ridge'",
    "param_ne": "params.model != 'ridge'",
    "param_double_quotes": 'params.model = "lasso"',
    "param_like": "params.alpha LIKE '0.%'",
    "tag_eq": "tags.team = 'fin'",
    "tag_like": "tags.team LIKE 'med%'",
    "tag_ilike": "tags.team ILIKE 'med%'",
    "tag_ne": "tags.stage != 'dev'",
    "tag_backticks": "tags.`team` = 'fin'",
    "tag_quoted_key": "tags.\"team\" = 'fin'",
    "run_name_tag": "tags.mlflow.runName = 'r-c'",
    "note": "tags.`mlflow.note.content` = 'run r-b'",
    "status_failed": "attributes.status = 'FAILED'",
    "status_killed": "attributes.status = 'KILLED'",
    "status_ne": "attributes.status != 'FINISHED'",
    "run_name_attr": "attributes.run_name = 'r-b'",
    "run_name_like": "attributes.run_name LIKE 'r-%'",
    "run_name_ilike": "run_name ILIKE 'R-A'",
    "start_time": "attributes.start_time > 0",
    "and": "metrics.r2 > 0.2 and params.alpha != '0.1'",
    "three": "params.model = 'ridge' and tags.team = 'fin' and metrics.rmse <= 4",
    "keyword_case": "metrics.rmse < 3.5 AND params.model = 'ridge'",
}

#: Filters MLflow 3 refuses and Carnet accepts (docs/query.md, "Beyond MLflow": IN lists,
#: numeric comparison of params, OR, NOT, parentheses), with the runs Carnet must return.
FILTERS_BEYOND_MLFLOW = {
    "param_in": ("params.model IN ('ridge', 'enet')", ["r-a", "r-c", "r-d", "r-e"]),
    "param_not_in": ("params.model NOT IN ('ridge')", ["r-b", "r-d", "r-f"]),
    "status_in": ("attributes.status IN ('FAILED', 'KILLED')", ["r-e", "r-f"]),
    "param_numeric": ("params.alpha < 0.2", ["r-a", "r-b"]),
    "or": ("params.model = 'svr' OR tags.team = 'fin'", ["r-c", "r-e", "r-f"]),
    "parentheses_not": (
        "not (params.model = 'ridge') and metrics.r2 > 0.2",
        ["r-b", "r-f"],
    ),
}

#: order_by clauses; the full order of run names is compared.
ORDERS = {
    "metric_asc": ["metrics.rmse ASC"],
    "metric_desc": ["metrics.rmse DESC"],
    "metric_missing_desc": ["metrics.r2 DESC"],
    "metric_default_dir": ["metrics.r2"],
    "param_then_metric": ["params.model ASC", "metrics.rmse DESC"],
    "param_alpha": ["params.alpha ASC"],
    "tag": ["tags.team ASC", "attributes.run_name DESC"],
    "run_name": ["attributes.run_name DESC"],
    "start_time_asc": ["attributes.start_time ASC"],
    "status": ["attributes.status ASC", "attributes.run_name ASC"],
    "bare_attribute": ["start_time DESC"],
    "backticked_key": ["metrics.`rmse` DESC"],
    "run_name_tag": ["tags.`mlflow.runName` DESC"],
}

#: Names tracking scripts commonly use, as written after ``import mlflow``. Each is
#: checked two ways: attribute access (``mlflow.tracking.MlflowClient`` after only
#: ``import carnet as mlflow``) and import (``from carnet.tracking import MlflowClient``).
COMMON_NAMES = [
    "mlflow.set_tracking_uri",
    "mlflow.get_tracking_uri",
    "mlflow.set_experiment",
    "mlflow.start_run",
    "mlflow.end_run",
    "mlflow.active_run",
    "mlflow.last_active_run",
    "mlflow.log_param",
    "mlflow.log_params",
    "mlflow.log_metric",
    "mlflow.log_metrics",
    "mlflow.set_tag",
    "mlflow.set_tags",
    "mlflow.log_artifact",
    "mlflow.log_artifacts",
    "mlflow.log_text",
    "mlflow.log_dict",
    "mlflow.log_figure",
    "mlflow.get_artifact_uri",
    "mlflow.get_run",
    "mlflow.search_runs",
    "mlflow.search_experiments",
    "mlflow.get_experiment_by_name",
    "mlflow.create_experiment",
    "mlflow.MlflowClient",
    "mlflow.ActiveRun",
    "mlflow.MlflowException",
    "mlflow.autolog",
    "mlflow.log_input",
    "mlflow.log_table",
    "mlflow.log_image",
    "mlflow.register_model",
    "mlflow.set_registry_uri",
    "mlflow.enable_system_metrics_logging",
    "mlflow.delete_experiment_tag",
    "mlflow.entities.ViewType",
    "mlflow.entities.RunStatus",
    "mlflow.entities.Metric",
    "mlflow.entities.Param",
    "mlflow.entities.RunTag",
    "mlflow.entities.Run",
    "mlflow.entities.Experiment",
    "mlflow.entities.LifecycleStage",
    "mlflow.entities.FileInfo",
    "mlflow.tracking.MlflowClient",
    "mlflow.client.MlflowClient",
    "mlflow.exceptions.MlflowException",
    "mlflow.utils.mlflow_tags.MLFLOW_PARENT_RUN_ID",
    "mlflow.utils.mlflow_tags.MLFLOW_RUN_NAME",
    "mlflow.sklearn.autolog",
    "mlflow.sklearn.log_model",
    "mlflow.sklearn.load_model",
    "mlflow.pyfunc.load_model",
    "mlflow.models.infer_signature",
    "mlflow.artifacts.download_artifacts",
    "mlflow.data.from_pandas",
]
