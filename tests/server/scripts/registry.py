"""Run by MLflow's own interpreter against a Carnet server: MLflow's documented model
registry snippets, then loading a model Carnet's SDK logged, by alias. Prints what it saw
as one JSON line. Argument: the run id of a Carnet run with a sklearn model at ``model``.
"""

from __future__ import annotations

import json
import sys

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

run_id = sys.argv[1]
out: dict[str, object] = {}
client = MlflowClient()


def error_code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except MlflowException as exc:
        return str(exc.error_code)
    return None


# mlflow.register_model, as the registry docs show it
version = mlflow.register_model(f"runs:/{run_id}/model", "diabetes")
out["registered"] = [version.name, str(version.version), version.source, version.run_id]
again = mlflow.register_model(f"runs:/{run_id}/model", "diabetes")
out["second_version"] = str(again.version)

# MlflowClient: create, tag, describe, alias
client.create_registered_model("demo", tags={"team": "risk"}, description="first")
out["create_again"] = error_code(lambda: client.create_registered_model("demo"))
client.create_model_version("demo", f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"})
client.set_registered_model_alias("diabetes", "champion", 1)
champion = client.get_model_version_by_alias("diabetes", "champion")
out["champion"] = [champion.name, str(champion.version), list(champion.aliases)]
model = client.get_registered_model("diabetes")
out["aliases"] = dict(model.aliases)
out["latest"] = [str(v.version) for v in model.latest_versions]
client.set_registered_model_tag("demo", "stage", "dev")
client.set_model_version_tag("demo", "1", "checked", "yes")
client.update_registered_model("demo", description="second")
client.update_model_version("demo", "1", description="v1")
demo = client.get_registered_model("demo")
out["demo"] = [demo.description, dict(demo.tags)]
demo_v1 = client.get_model_version("demo", "1")
out["demo_v1"] = [demo_v1.description, dict(demo_v1.tags), demo_v1.status, demo_v1.current_stage]
out["download_uri"] = client.get_model_version_download_uri("diabetes", "1")

# searches
out["search_models"] = [
    m.name for m in client.search_registered_models(filter_string="name LIKE 'd%'")
]
out["search_models_fluent"] = sorted(m.name for m in mlflow.search_registered_models())
out["search_versions"] = sorted(
    str(v.version) for v in client.search_model_versions("name='diabetes'")
)
out["search_run"] = sorted(
    (v.name, str(v.version))
    for v in mlflow.search_model_versions(filter_string=f"run_id='{run_id}'")
)
out["bad_filter"] = error_code(lambda: client.search_model_versions("colour = 'red'"))

# load by alias: the model Carnet's SDK logged
loaded = mlflow.pyfunc.load_model("models:/diabetes@champion")
out["prediction"] = [float(x) for x in loaded.predict([[1.0], [2.0]])]

# rename and delete
client.rename_registered_model("demo", "demo-renamed")
renamed = client.get_model_version("demo-renamed", "1")
out["renamed"] = [renamed.name, dict(renamed.tags)]
out["old_name"] = error_code(lambda: client.get_registered_model("demo"))
client.delete_registered_model_alias("diabetes", "champion")
out["alias_gone"] = error_code(lambda: client.get_model_version_by_alias("diabetes", "champion"))
client.delete_model_version("diabetes", "2")
out["deleted_version"] = error_code(lambda: client.get_model_version("diabetes", "2"))
client.delete_model_version_tag("demo-renamed", "1", "checked")
client.delete_registered_model_tag("demo-renamed", "stage")
out["tags_after_delete"] = [
    dict(client.get_registered_model("demo-renamed").tags),
    dict(client.get_model_version("demo-renamed", "1").tags),
]
client.delete_registered_model("demo-renamed")
out["deleted_model"] = error_code(lambda: client.get_registered_model("demo-renamed"))
out["remaining"] = sorted(m.name for m in client.search_registered_models())
print(json.dumps(out))
