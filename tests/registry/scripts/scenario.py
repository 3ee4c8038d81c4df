"""One registry scenario, run by MLflow's interpreter (``mlflow``) or Carnet's (``carnet``)
on a fresh SQLite store in the current folder; prints what it saw as one JSON line.

Both sides run the same calls, so the test compares MLflow's answers with Carnet's:
searches (filters, orders, pages), entity fields, and the error codes of refusals.
"""

from __future__ import annotations

import json
import sys
import time

IMPL = sys.argv[1]
if IMPL == "mlflow":
    import mlflow as impl
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException as Refused
else:
    import carnet as impl
    from carnet import CarnetError as Refused
    from carnet import MlflowClient

URI = "sqlite:///registry.db"
impl.set_tracking_uri(URI)
client = MlflowClient(URI)
out: dict[str, object] = {}


def versions(found: object) -> list[list[str]]:
    return [[v.name, str(v.version)] for v in found]  # type: ignore[attr-defined]


def code(call: object) -> str | None:
    try:
        call()  # type: ignore[operator]
    except Refused as exc:
        return str(exc.error_code)
    return None


for i, name in enumerate(["fraud", "forecast", "churn", "Fraud-B"]):
    client.create_registered_model(name, tags={"team": "risk" if i % 2 == 0 else "ops"})
    for v in range(i + 1):
        client.create_model_version(
            name, f"s3://bucket/{name}/{v}", run_id=f"run{i}{v}", tags={"v": str(v)}
        )
        time.sleep(0.002)  # distinct update times, so default orders are well defined
client.set_registered_model_alias("churn", "champion", "2")
client.update_model_version("forecast", "1", description="touched")

for label, text in {
    "all": None,
    "eq": "name = 'churn'",
    "like": "name LIKE 'f%'",
    "ilike": "name ILIKE 'f%'",
    "ne": "name != 'churn'",
    "tag": "tags.team = 'risk'",
    "tag_like": "tags.team LIKE 'o%'",
}.items():
    out[f"models_{label}"] = [m.name for m in client.search_registered_models(text)]
for label, order in {
    "name_desc": ["name DESC"],
    "updated": ["timestamp DESC"],
    "updated_asc": ["timestamp ASC", "name DESC"],
}.items():
    out[f"models_order_{label}"] = [m.name for m in client.search_registered_models(order_by=order)]
page = client.search_registered_models(max_results=2)
out["models_page"] = [[m.name for m in page], bool(page.token)]
rest = client.search_registered_models(max_results=2, page_token=page.token)
out["models_page2"] = [[m.name for m in rest], bool(rest.token)]

for label, text in {
    "all": None,
    "name": "name = 'churn'",
    "name_in": "name IN ('churn', 'fraud')",
    "version": "version_number >= 2",
    "version_eq": "name = 'Fraud-B' AND version_number = 3",
    "run": "run_id = 'run32'",
    "run_in": "run_id IN ('run00', 'run21')",
    "source": "source_path LIKE 's3://bucket/churn/%'",
    "tag": "tags.v = '1'",
}.items():
    out[f"versions_{label}"] = versions(client.search_model_versions(text))
for label, order in {
    "name_version": ["name ASC", "version_number ASC"],
    "version_desc": ["version_number DESC", "name ASC"],
    "created": ["creation_timestamp ASC"],
    "updated": ["last_updated_timestamp DESC"],
}.items():
    out[f"versions_order_{label}"] = versions(client.search_model_versions(order_by=order))

model = client.get_registered_model("churn")
out["model"] = {
    "name": model.name,
    "description": model.description,
    "tags": dict(model.tags),
    "aliases": {k: str(v) for k, v in model.aliases.items()},
    "latest": [str(v.version) for v in model.latest_versions],
}
mv = client.get_model_version("churn", "2")
out["version"] = {
    "name": mv.name,
    "version": str(mv.version),
    "source": mv.source,
    "run_id": mv.run_id,
    "status": mv.status,
    "current_stage": mv.current_stage,
    "tags": dict(mv.tags),
    "aliases": list(mv.aliases),
    "description": mv.description,
}
out["by_alias"] = str(client.get_model_version_by_alias("churn", "champion").version)
out["latest"] = [str(v.version) for v in client.get_latest_versions("Fraud-B")]
out["download_uri"] = client.get_model_version_download_uri("fraud", "1")
out["touched"] = client.get_model_version("forecast", "1").description

out["errors"] = {
    "exists": code(lambda: client.create_registered_model("churn")),
    "missing_model": code(lambda: client.get_registered_model("nope")),
    "missing_version": code(lambda: client.get_model_version("churn", "9")),
    "missing_alias": code(lambda: client.get_model_version_by_alias("churn", "ghost")),
    "bad_filter": code(lambda: client.search_model_versions("colour = 'red'")),
    "version_model_missing": code(lambda: client.create_model_version("nope", "s3://x")),
    "rename_taken": code(lambda: client.rename_registered_model("fraud", "churn")),
}
client.rename_registered_model("churn", "churn-2")
out["renamed"] = versions(client.search_model_versions("name = 'churn-2'"))
out["renamed_alias"] = str(client.get_model_version_by_alias("churn-2", "champion").version)
client.delete_model_version("churn-2", "2")
out["alias_after_delete"] = dict(client.get_registered_model("churn-2").aliases)
out["next_version"] = str(client.create_model_version("churn-2", "s3://x/again").version)
client.delete_registered_model("churn-2")
out["after_delete"] = [m.name for m in client.search_registered_models()]
print(json.dumps(out))
