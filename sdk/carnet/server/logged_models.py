"""MLflow 3's logged-model endpoints (``/api/2.0/mlflow/logged-models/...``, ``runs/outputs``).

What MLflow 3's client sends around ``mlflow.<flavor>.log_model``: create a
PENDING model, record it as an output of the run, link the run's metrics to it
(a log-batch whose metrics carry its ``model_id``: see :func:`split_model_points`),
upload its files through the artifact proxy at the model's location
(``mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts``, served by
:mod:`carnet.server.artifacts`), then finalise it READY. ``models:/<model_id>``
is loaded by getting the model and downloading from that location.

Each handler reads and bounds its fields and calls the public ``Client``;
statuses go out as MLflow's enum names (``LOGGED_MODEL_READY``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from carnet.client import Client
from carnet.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus, Metric
from carnet.server import wire
from carnet.server.endpoints import Context, Endpoint, json_endpoint, json_response
from carnet.server.errors import invalid
from carnet.server.parsing import (
    DEFAULT_SEARCH_RESULTS,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_SEARCH_RESULTS,
    Fields,
    checked_path,
    read_fields,
)

#: Protobuf numbers of MLflow's LoggedModelStatus enum, and their names.
STATUSES = {
    0: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}
_TO_CARNET = dict(zip(STATUSES.values(), LoggedModelStatus, strict=True))
_TO_WIRE = {status: name for name, status in _TO_CARNET.items()}
#: Most models one runs/outputs request may name.
MAX_OUTPUTS = 100


def model_location(experiment_id: str, model_id: str) -> str:
    """Where a model's files are, as MLflow's client should address them."""
    return f"{wire.experiment_location(experiment_id)}/models/{model_id}/artifacts"


def logged_model(m: LoggedModel) -> dict[str, Any]:
    """A ``LoggedModel`` message."""
    info: dict[str, Any] = {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "creation_timestamp_ms": m.creation_timestamp,
        "last_updated_timestamp_ms": m.last_updated_timestamp,
        "artifact_uri": model_location(m.experiment_id, m.model_id),
        "status": _TO_WIRE[m.status],
    }
    for name in ("source_run_id", "model_type", "status_message"):
        if getattr(m, name):
            info[name] = getattr(m, name)
    if m.tags:
        info["tags"] = [{"key": k, "value": v} for k, v in m.tags.items()]
    data: dict[str, Any] = {}
    if m.params:
        data["params"] = [{"key": k, "value": v} for k, v in m.params.items()]
    if m.metrics:
        data["metrics"] = [{**wire.metric(p), "model_id": m.model_id} for p in m.metrics]
    return {"info": info, "data": data}


def _pairs(f: Fields, name: str) -> dict[str, str]:
    items = f.objects(name)
    if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
        raise invalid(
            f"A request can set at most {MAX_PARAMS_TAGS_PER_BATCH} {name}; got {len(items)}. "
            "Send the rest in further requests."
        )
    return {i.required_string("key"): i.string("value") or "" for i in items}


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


async def create_logged_model(f: Fields, ctx: Context) -> dict[str, Any]:
    """A new PENDING model of an experiment."""
    experiment_id = f.required_string("experiment_id")
    name, source, kind = f.string("name"), f.string("source_run_id"), f.string("model_type")
    params, tags = _pairs(f, "params"), _pairs(f, "tags")
    model = await ctx.write(
        lambda: ctx.client.create_logged_model(
            experiment_id, name or None, source or None, tags, params, kind or None
        )
    )
    return {"model": logged_model(model)}


async def get_logged_model(request: Request, ctx: Context) -> Response:
    """One model (``?allow_deleted=true`` finds a deleted one too)."""
    model_id = _model_id(request)
    deleted = request.query_params.get("allow_deleted", "false").lower() == "true"
    model = await ctx.read(lambda: ctx.client.get_logged_model(model_id, deleted))
    return json_response({"model": logged_model(model)})


async def finalize_logged_model(request: Request, ctx: Context) -> Response:
    """Set a model's status (READY once its files are uploaded, or FAILED)."""
    model_id = _model_id(request)
    f = await read_fields(request)
    if not f.has("status"):
        raise invalid("Missing value for required parameter 'status'.")
    status = _TO_CARNET[f.enum("status", STATUSES, STATUSES[0])]
    model = await ctx.write(lambda: ctx.client.finalize_logged_model(model_id, status))
    return json_response({"model": logged_model(model)})


async def delete_logged_model(request: Request, ctx: Context) -> Response:
    """Mark a model deleted."""
    model_id = _model_id(request)
    await ctx.write(lambda: ctx.client.delete_logged_model(model_id))
    return json_response({})


async def set_logged_model_tags(request: Request, ctx: Context) -> Response:
    """Set (or overwrite) tags of a model."""
    model_id = _model_id(request)
    tags = _pairs(await read_fields(request), "tags")
    await ctx.write(lambda: ctx.client.set_logged_model_tags(model_id, tags))
    return json_response({})


async def delete_logged_model_tag(request: Request, ctx: Context) -> Response:
    """Remove one tag of a model."""
    model_id, key = _model_id(request), str(request.path_params["tag_key"])
    await ctx.write(lambda: ctx.client.delete_logged_model_tag(model_id, key))
    return json_response({})


async def log_logged_model_params(request: Request, ctx: Context) -> Response:
    """Add params to a model (MLflow's client sends those past the first 100 here)."""
    model_id = _model_id(request)
    params = _pairs(await read_fields(request), "params")
    await ctx.write(lambda: ctx.client.log_model_params(model_id, params))
    return json_response({})


def _order_by(f: Fields) -> list[str]:
    out = []
    for item in f.objects("order_by"):
        if item.string("dataset_name") or item.string("dataset_digest"):
            raise invalid("Carnet does not link model metrics to datasets; order without them.")
        ascending = item.boolean("ascending")
        direction = "ASC" if ascending is None or ascending else "DESC"
        out.append(f"{item.required_string('field_name')} {direction}")
    return out


async def search_logged_models(f: Fields, ctx: Context) -> dict[str, Any]:
    """One page of the active models of some experiments that match a filter."""
    experiment_ids = f.strings("experiment_ids", required=True)
    if f.objects("datasets"):
        raise invalid("Carnet does not link model metrics to datasets; search without them.")
    limit = f.integer("max_results", low=1, high=MAX_SEARCH_RESULTS) or DEFAULT_SEARCH_RESULTS
    filter_string, order_by = f.string("filter") or None, _order_by(f)
    token = f.string("page_token") or None
    found = await ctx.read(
        lambda: ctx.client.search_logged_models(
            experiment_ids, filter_string, None, limit, order_by, token
        )
    )
    out: dict[str, Any] = {"models": [logged_model(m) for m in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


async def log_outputs(f: Fields, ctx: Context) -> dict[str, Any]:
    """Record models as outputs of a run (``run.outputs.model_outputs``)."""
    run_id = f.run_id()
    items = f.objects("models")
    if len(items) > MAX_OUTPUTS:
        raise invalid(f"A request can log at most {MAX_OUTPUTS} model outputs; got {len(items)}.")
    models = [
        LoggedModelOutput(m.required_string("model_id"), m.integer("step") or 0) for m in items
    ]
    await ctx.write(lambda: ctx.client.log_outputs(run_id, models))
    return {}


async def list_model_artifacts(request: Request, ctx: Context) -> Response:
    """The files directly in a folder of a model (MLflow's UI asks this)."""
    model_id = _model_id(request)
    path = checked_path(request.query_params.get("artifact_directory_path", ""))
    files = await ctx.files(lambda: ctx.client.list_logged_model_artifacts(model_id, path or None))
    model = await ctx.read(lambda: ctx.client.get_logged_model(model_id))
    out: dict[str, Any] = {"root_uri": model_location(model.experiment_id, model_id)}
    if files:
        out["files"] = [wire.file_info(i, i.path) for i in files]
    return json_response(out)


def _point(m: Metric) -> tuple[str, int, int, float | str]:
    return m.key, m.step, m.timestamp, "NaN" if math.isnan(m.value) else m.value


def split_model_points(
    client: Client, run_id: str, points: list[tuple[Metric, str | None]]
) -> tuple[list[Metric], dict[str, list[Metric]]]:
    """A log-batch's metrics for the run, and those linked to each model.

    MLflow 3 links a run's metrics to a model it logs by sending them again with
    the model's id; a point with a ``model_id`` is linked to the model, and added
    to the run's history only when the run does not hold it already (so the run
    gets post-training metrics logged with a model id, and no duplicates).
    """
    plain = [m for m, model_id in points if model_id is None]
    linked: dict[str, list[Metric]] = {}
    for m, model_id in points:
        if model_id is not None:
            linked.setdefault(model_id, []).append(m)
    if not linked:
        return plain, linked
    have: Counter[tuple[str, int, int, float | str]] = Counter()
    keys = {m.key for ms in linked.values() for m in ms}
    for key in keys:
        have.update(_point(p) for p in client.get_metric_history(run_id, key))
    for m in (m for ms in linked.values() for m in ms):
        point = _point(m)
        if have[point] > 0:
            have[point] -= 1
        else:
            plain.append(m)
    return plain, linked


_V2 = "/2.0/mlflow"
_ONE = _V2 + "/logged-models/{model_id}"

ENDPOINTS = [
    Endpoint("POST", f"{_V2}/logged-models/search", json_endpoint(search_logged_models)),
    Endpoint("POST", f"{_V2}/logged-models", json_endpoint(create_logged_model), write=True),
    Endpoint("GET", _ONE, get_logged_model),
    Endpoint("PATCH", _ONE, finalize_logged_model, write=True),
    Endpoint("DELETE", _ONE, delete_logged_model, write=True),
    Endpoint("PATCH", _ONE + "/tags", set_logged_model_tags, write=True),
    Endpoint("DELETE", _ONE + "/tags/{tag_key:path}", delete_logged_model_tag, write=True),
    Endpoint("POST", _ONE + "/params", log_logged_model_params, write=True),
    Endpoint("GET", _ONE + "/artifacts/directories", list_model_artifacts),
    Endpoint("POST", f"{_V2}/runs/outputs", json_endpoint(log_outputs), write=True),
]
