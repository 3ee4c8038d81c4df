"""Run by MLflow's own interpreter against a Carnet server (MLFLOW_TRACKING_URI): MLflow 3's
logged models, as its users write them. Prints what it saw as one JSON line; the test
checks it, and reads the same store through Carnet's SDK.
"""

from __future__ import annotations

import json
import warnings

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV

warnings.filterwarnings("ignore")
out: dict[str, object] = {}
rng = np.random.default_rng(0)
x = pd.DataFrame(rng.normal(size=(40, 3)), columns=["age", "bmi", "bp"])
y = x["age"] * 2 + x["bmi"] - x["bp"] + 1

mlflow.set_experiment("logged-models")
with mlflow.start_run() as run:
    mlflow.log_param("fit_intercept", True)
    mlflow.log_metric("r2", 0.75)
    model = LinearRegression().fit(x, y)
    info = mlflow.sklearn.log_model(model, name="model", input_example=x.head(3))
out["run_id"] = run.info.run_id
out["model_id"] = info.model_id
out["model_uri"] = info.model_uri

expected = model.predict(x).tolist()
out["sklearn_ok"] = np.allclose(mlflow.sklearn.load_model(info.model_uri).predict(x), expected)
pyfunc = mlflow.pyfunc.load_model(info.model_uri)
out["pyfunc_ok"] = np.allclose(pyfunc.predict(x), expected)
out["signature_inputs"] = [c["name"] for c in pyfunc.metadata.get_input_schema().to_dict()]
by_run = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
out["runs_uri_ok"] = np.allclose(by_run.predict(x), expected)

got = mlflow.get_logged_model(info.model_id)
out["got"] = {
    "name": got.name,
    "status": str(got.status),
    "source_run_id": got.source_run_id,
    "params": got.params,
    "metrics": {m.key: m.value for m in got.metrics or []},
    "artifact_location": got.artifact_location,
}
mlflow.set_logged_model_tags(info.model_id, {"stage": "candidate", "team": "ml"})
mlflow.delete_logged_model_tag(info.model_id, "team")
out["tags"] = mlflow.get_logged_model(info.model_id).tags

with mlflow.start_run():
    second = mlflow.sklearn.log_model(LinearRegression().fit(x, y * 2), name="double")
    mlflow.set_logged_model_tags(second.model_id, {"stage": "archived"})
found = mlflow.search_logged_models(filter_string="tags.stage = 'candidate'", output_format="list")
out["search_candidate"] = [m.model_id for m in found]
frame = mlflow.search_logged_models(order_by=[{"field_name": "name", "ascending": True}])
out["search_frame_names"] = frame["name"].tolist()
out["search_metric"] = [
    m.name
    for m in mlflow.search_logged_models(
        filter_string="metrics.r2 > 0.5 AND name = 'model'", output_format="list"
    )
]
out["run_outputs"] = [o.model_id for o in mlflow.get_run(run.info.run_id).outputs.model_outputs]
try:
    mlflow.get_logged_model("m-" + "0" * 32)
except MlflowException as exc:
    out["missing_error"] = exc.error_code
try:
    mlflow.search_logged_models(filter_string="nonsense ===", output_format="list")
except MlflowException as exc:
    out["bad_filter_error"] = exc.error_code

# MLflow's scikit-learn autolog with log_models=True, grid search child runs and all.
mlflow.set_experiment("autolog")
mlflow.sklearn.autolog(log_models=True, log_input_examples=True)
with mlflow.start_run() as auto:
    search = GridSearchCV(LinearRegression(), {"fit_intercept": [True, False]}, cv=2)
    search.fit(x, y)
mlflow.sklearn.autolog(disable=True)
auto_models = mlflow.search_logged_models(
    filter_string=f"source_run_id = '{auto.info.run_id}'", output_format="list"
)
out["autolog_models"] = sorted(m.name for m in auto_models)
out["autolog_status"] = sorted(str(m.status) for m in auto_models)
best = mlflow.pyfunc.load_model(auto_models[0].model_uri)
out["autolog_predict_ok"] = np.allclose(best.predict(x), search.predict(x))
out["autolog_run_metrics"] = sorted(mlflow.get_run(auto.info.run_id).data.metrics)
print(json.dumps(out))
