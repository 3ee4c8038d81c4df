"""MLflow's tracking endpoints (``/api/2.0/mlflow/...``): experiments, runs, metrics.

Each handler reads and checks its fields (:mod:`carnet.server.parsing`),
makes the public ``Client`` calls that do the work, and returns the JSON
object MLflow's server returns (:mod:`carnet.server.wire`). The ``Client``
checks keys, values and names, so a bad value gets Carnet's message, and a
failed call writes nothing.

``log-inputs`` records datasets (MLflow's ``mlflow.log_input``); model inputs
are accepted and dropped. A log-batch metric with a ``model_id`` is linked to
that logged model (:func:`carnet.server.logged_models.split_model_points`); a
``dataset_name`` link is dropped. The logged-model endpoints are in
:mod:`carnet.server.logged_models`.

Two additions for Carnet's own REST store, which MLflow's client never sends:
a log-batch with an ``X-Carnet-Batch-Id`` is written once however often it is
repeated (:mod:`carnet.server.batch_ids`), and a run created with
``X-Carnet-Heartbeat: client`` is beaten for by its client through
``/api/2.0/carnet/runs/heartbeat``; other runs are kept alive by the server
(:mod:`carnet.server.keepalive`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from carnet.entities import Dataset, DatasetInput, InputTag, Metric, Run, ViewType
from carnet.server import wire
from carnet.server.batch_ids import BATCH_ID, BATCH_ID_HEADER, RETRY_HEADER, already_written
from carnet.server.endpoints import Context, Endpoint, json_endpoint, json_response
from carnet.server.errors import invalid, not_found
from carnet.server.keepalive import CLIENT_BEATS_HEADER, KEEPALIVE_TAG, KEEPALIVE_VALUE
from carnet.server.logged_models import split_model_points
from carnet.server.parsing import (
    DEFAULT_SEARCH_RESULTS,
    MAX_BULK_RESULTS,
    MAX_BULK_RUNS,
    MAX_ENTITIES_PER_BATCH,
    MAX_HISTORY_PAGE,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_SEARCH_RESULTS,
    Fields,
    checked_path,
    read_fields,
)
from carnet.server.points import metric_points

#: Protobuf numbers of MLflow's ViewType and RunStatus enums.
VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_TERMINAL = {"FINISHED", "FAILED", "KILLED"}
_PARENT_TAG = "mlflow.parentRunId"
_USER_TAG = "mlflow.user"
_MAX_OFFSET = 2**62
#: Most runs one heartbeat request may name.
MAX_HEARTBEAT_RUNS = 1000


def _tags(fields: Fields, name: str) -> dict[str, str]:
    """A repeated ``{key, value}`` field as a dict (a later key wins, as in MLflow)."""
    out: dict[str, str] = {}
    for tag in fields.objects(name):
        out[tag.required_string("key")] = tag.string("value") or ""
    return out


def _page_size(fields: Fields, name: str, default: int, limit: int) -> int:
    value = fields.integer(name, low=0, high=limit)
    return default if value is None or value == 0 else value


# -- experiments ----------------------------------------------------------------------------


async def create_experiment(f: Fields, ctx: Context) -> dict[str, Any]:
    """Create an experiment; its artifacts live under the server's artifact folder."""
    name = f.required_string("name")
    location = f.string("artifact_location") or None
    if location is not None and location.startswith(wire.ARTIFACTS_SCHEME):
        location = None  # the server's own scheme: the default place
    tags = _tags(f, "tags")
    experiment_id = await ctx.write(lambda: ctx.client.create_experiment(name, location, tags))
    return {"experiment_id": experiment_id}


async def get_experiment(f: Fields, ctx: Context) -> dict[str, Any]:
    """One experiment by id."""
    experiment_id = f.required_string("experiment_id")
    exp = await ctx.read(lambda: ctx.client.get_experiment(experiment_id))
    return {"experiment": wire.experiment(exp)}


async def get_experiment_by_name(f: Fields, ctx: Context) -> dict[str, Any]:
    """One experiment by name; 404 when there is none (MLflow's client reads that as None)."""
    name = f.required_string("experiment_name")
    exp = await ctx.read(lambda: ctx.client.get_experiment_by_name(name))
    if exp is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": wire.experiment(exp)}


async def search_experiments(f: Fields, ctx: Context) -> dict[str, Any]:
    """A page of experiments matching a filter, in the order asked."""
    view = f.enum("view_type", VIEW_TYPES, "ACTIVE_ONLY")
    limit = _page_size(f, "max_results", DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    filter_string = f.string("filter") or None
    order_by = f.strings("order_by") or None
    token = f.string("page_token") or None
    found = await ctx.read(
        lambda: ctx.client.search_experiments(ViewType[view], limit, filter_string, order_by, token)
    )
    out: dict[str, Any] = {}
    if found:
        out["experiments"] = [wire.experiment(e) for e in found]
    if found.token:
        out["next_page_token"] = found.token
    return out


async def update_experiment(f: Fields, ctx: Context) -> dict[str, Any]:
    """Rename an experiment."""
    experiment_id = f.required_string("experiment_id")
    new_name = f.required_string("new_name")
    await ctx.write(lambda: ctx.client.rename_experiment(experiment_id, new_name))
    return {}


async def delete_experiment(f: Fields, ctx: Context) -> dict[str, Any]:
    """Mark an experiment deleted (restorable)."""
    experiment_id = f.required_string("experiment_id")
    await ctx.write(lambda: ctx.client.delete_experiment(experiment_id))
    return {}


async def restore_experiment(f: Fields, ctx: Context) -> dict[str, Any]:
    """Bring a deleted experiment back."""
    experiment_id = f.required_string("experiment_id")
    await ctx.write(lambda: ctx.client.restore_experiment(experiment_id))
    return {}


async def set_experiment_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set one tag of an experiment."""
    experiment_id = f.required_string("experiment_id")
    key = f.required_string("key")
    value = f.string("value") or ""
    await ctx.write(lambda: ctx.client.set_experiment_tag(experiment_id, key, value))
    return {}


async def delete_experiment_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Remove one tag of an experiment."""
    experiment_id = f.required_string("experiment_id")
    key = f.required_string("key")
    await ctx.write(lambda: ctx.client.delete_experiment_tag(experiment_id, key))
    return {}


# -- runs -----------------------------------------------------------------------------------


async def create_run(f: Fields, ctx: Context, *, client_beats: bool = False) -> dict[str, Any]:
    """Start a run; ``mlflow.parentRunId`` among its tags makes it a child run.

    Unless the client beats for it (``client_beats``), the run is tagged for the
    server to keep alive (:mod:`carnet.server.keepalive`).
    """
    experiment_id = f.string("experiment_id") or "0"
    start_time = f.integer("start_time")
    run_name = f.string("run_name") or None
    tags = _tags(f, "tags")
    user = f.string("user_id")
    if user and _USER_TAG not in tags:
        tags[_USER_TAG] = user
    if not client_beats:
        tags[KEEPALIVE_TAG] = KEEPALIVE_VALUE
    parent = tags.get(_PARENT_TAG) or None
    run = await ctx.write(
        lambda: ctx.client.create_run(
            experiment_id,
            start_time=start_time or None,
            tags=tags,
            run_name=run_name,
            parent_run_id=parent,
        )
    )
    return {"run": wire.run(run)}


async def create_run_request(request: Request, ctx: Context) -> Response:
    """runs/create, told by ``X-Carnet-Heartbeat: client`` whether the client beats."""
    client_beats = request.headers.get(CLIENT_BEATS_HEADER, "").strip().lower() == "client"
    fields = await read_fields(request)
    return json_response(await create_run(fields, ctx, client_beats=client_beats))


async def heartbeat(f: Fields, ctx: Context) -> dict[str, Any]:
    """Carnet's own endpoint: mark the named RUNNING runs alive (for Carnet's SDK, which
    beats for the runs it started); unknown and ended runs are passed over."""
    run_ids = f.strings("run_ids", required=True)
    if len(run_ids) > MAX_HEARTBEAT_RUNS:
        raise invalid(
            f"A heartbeat may name at most {MAX_HEARTBEAT_RUNS} runs; got {len(run_ids)}."
        )
    await ctx.write(lambda: ctx.client.store.heartbeat(run_ids))
    return {}


async def update_run(f: Fields, ctx: Context) -> dict[str, Any]:
    """End a run, set it running again, or rename it; returns its new info.

    An ``end_time`` is recorded when the run ends (FINISHED, FAILED or KILLED)
    and otherwise ignored: Carnet's runs have an end time only once ended.
    """
    run_id = f.run_id()
    status = f.enum("status", RUN_STATUSES, "") or None
    end_time = f.integer("end_time")
    name = f.string("run_name") or None

    def update() -> Run:
        client = ctx.client
        if name is not None:
            client.update_run(run_id, name=name)
        if status in _TERMINAL:
            client.set_terminated(run_id, status, end_time)
        elif status is not None:
            client.update_run(run_id, status=status)
        return client.get_run(run_id)  # read in the same job: one hop off the event loop

    if name is None and status is None:
        run = await ctx.read(lambda: ctx.client.get_run(run_id))  # still 404 for an unknown run
    else:
        run = await ctx.write(update)
    return {"run_info": wire.run_info(run.info)}


async def delete_run(f: Fields, ctx: Context) -> dict[str, Any]:
    """Mark a run deleted (restorable)."""
    run_id = f.run_id()
    await ctx.write(lambda: ctx.client.delete_run(run_id))
    return {}


async def restore_run(f: Fields, ctx: Context) -> dict[str, Any]:
    """Bring a deleted run back."""
    run_id = f.run_id()
    await ctx.write(lambda: ctx.client.restore_run(run_id))
    return {}


async def get_run(f: Fields, ctx: Context) -> dict[str, Any]:
    """One run: info, params, tags and each metric's latest point."""
    run_id = f.run_id()
    run = await ctx.read(lambda: ctx.client.get_run(run_id))
    return {"run": wire.run(run)}


async def search_runs(f: Fields, ctx: Context) -> dict[str, Any]:
    """A page of runs of some experiments matching a filter, in the order asked."""
    experiment_ids = f.strings("experiment_ids")
    filter_string = f.string("filter") or ""
    view = f.enum("run_view_type", VIEW_TYPES, "ACTIVE_ONLY")
    limit = _page_size(f, "max_results", DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    order_by = f.strings("order_by") or None
    token = f.string("page_token") or None
    if not experiment_ids:
        return {}
    found = await ctx.read(
        lambda: ctx.client.search_runs(
            experiment_ids, filter_string, ViewType[view], limit, order_by, token
        )
    )
    out: dict[str, Any] = {}
    if found:
        out["runs"] = [wire.run(r) for r in found]
    if found.token:
        out["next_page_token"] = found.token
    return out


# -- logging --------------------------------------------------------------------------------


def _batch_limit(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise invalid(
            f"A batch logging request can contain at most {limit} {what}. Got {count} {what}. "
            f"Please split up {what} across multiple requests and try again."
        )


async def log_batch(
    f: Fields, ctx: Context, batch_id: str | None = None, repeated: bool = False
) -> dict[str, Any]:
    """Metrics, params and tags of one run in one transaction: all of them or none.

    With a ``batch_id`` the batch is written once however often it comes; a
    ``repeated`` one this process does not remember counts as written when its
    points are already in the run (:mod:`carnet.server.batch_ids`).
    """
    run_id = f.run_id()
    metric_items = f.raw("metrics")
    param_fields = f.objects("params")
    tag_fields = f.objects("tags")
    metric_count = len(metric_items) if isinstance(metric_items, list) else 0
    _batch_limit(metric_count, MAX_METRICS_PER_BATCH, "metrics")
    _batch_limit(len(param_fields), MAX_PARAMS_TAGS_PER_BATCH, "params")
    _batch_limit(len(tag_fields), MAX_PARAMS_TAGS_PER_BATCH, "tags")
    _batch_limit(
        metric_count + len(param_fields) + len(tag_fields),
        MAX_ENTITIES_PER_BATCH,
        "metrics, params, and tags",
    )
    metrics = metric_points(f)
    # MLflow 3 links points to a logged model by a model_id on the point (rare: the plain
    # list stays on the fast path when no point names one).
    model_ids = [
        item.get("model_id") or None if isinstance(item, dict) else None
        for item in (metric_items if isinstance(metric_items, list) else ())
    ]
    if any(model_ids):
        for model_id in model_ids:
            if model_id is not None and not isinstance(model_id, str):
                raise invalid(f"a metric's model_id must be text; got {model_id!r}.")
    params = [(p.required_string("key"), p.string("value") or "") for p in param_fields]
    tags = [(t.required_string("key"), t.string("value") or "") for t in tag_fields]
    client = ctx.client

    def write() -> None:
        if not any(model_ids):
            client.log_batch(run_id, metrics, params, tags, synchronous=True)
            return
        points = [(Metric(*m), mid) for m, mid in zip(metrics, model_ids, strict=True)]
        plain, linked = split_model_points(client, run_id, points)
        for model_id in linked:  # an unknown model refuses the batch before anything is written
            client.get_logged_model(model_id)
        client.log_batch(run_id, plain, params, tags, synchronous=True)
        for model_id, linked_points in linked.items():
            client.log_model_metrics(model_id, linked_points, run_id)

    if batch_id is None:
        await ctx.write(write, groupable=True)
        return {}

    def written() -> bool:
        return already_written(client, run_id, [Metric(*m) for m in metrics])

    def undo(wrote: bool) -> None:
        if wrote:
            ids.forget(run_id, batch_id)

    ids = ctx.state.batch_ids
    await ctx.write(
        lambda: ids.write_once(run_id, batch_id, write, written if repeated else None),
        groupable=True,
        undo=undo,
    )
    return {}


async def log_batch_request(request: Request, ctx: Context) -> Response:
    """runs/log-batch, with the batch id and the repeat mark of Carnet's REST store."""
    batch_id = request.headers.get(BATCH_ID_HEADER)
    if batch_id is not None and not BATCH_ID.fullmatch(batch_id):
        raise invalid(
            "X-Carnet-Batch-Id must be 8 to 128 letters, digits, '-' or '_' (a uuid4's hex); "
            f"got {batch_id[:40]!r}."
        )
    repeated = request.headers.get(RETRY_HEADER, "").strip() == "1"
    fields = await read_fields(request)
    return json_response(await log_batch(fields, ctx, batch_id, repeated))


def _value(m: Fields) -> float:
    value = m.number("value", required=True)
    assert value is not None
    return value


def _required_int(m: Fields, name: str) -> int:
    value = m.integer(name, required=True)
    assert value is not None
    return value


async def log_metric(f: Fields, ctx: Context) -> dict[str, Any]:
    """One point of a metric (any model or dataset link is dropped)."""
    run_id = f.run_id()
    point = Metric(
        f.required_string("key"), _value(f), _required_int(f, "timestamp"), f.integer("step") or 0
    )
    await ctx.write(lambda: ctx.client.log_batch(run_id, [point], synchronous=True), groupable=True)
    return {}


async def log_param(f: Fields, ctx: Context) -> dict[str, Any]:
    """One param; the same value again is a no-op, a different one is refused."""
    run_id = f.run_id()
    key = f.required_string("key")
    value = f.string("value") or ""
    await ctx.write(lambda: ctx.client.log_param(run_id, key, value), groupable=True)
    return {}


async def set_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Set one tag of a run."""
    run_id = f.run_id()
    key = f.required_string("key")
    value = f.string("value") or ""
    await ctx.write(lambda: ctx.client.set_tag(run_id, key, value), groupable=True)
    return {}


async def delete_tag(f: Fields, ctx: Context) -> dict[str, Any]:
    """Remove one tag of a run."""
    run_id = f.run_id()
    key = f.required_string("key")
    await ctx.write(lambda: ctx.client.delete_tag(run_id, key), groupable=True)
    return {}


def _dataset_input(entry: Fields) -> DatasetInput:
    """One ``DatasetInput`` message: the dataset's fields and the input's tags."""
    d = entry.object("dataset")
    dataset = Dataset(
        name=d.required_string("name"),
        digest=d.required_string("digest"),
        source_type=d.required_string("source_type"),
        source=d.required_string("source"),
        schema=d.string("schema"),
        profile=d.string("profile"),
    )
    tags = [
        InputTag(t.required_string("key"), t.string("value") or "") for t in entry.objects("tags")
    ]
    return DatasetInput(dataset=dataset, tags=tags)


async def log_inputs(f: Fields, ctx: Context) -> dict[str, Any]:
    """Record the datasets a run used (MLflow's ``log_input``); model inputs are dropped."""
    run_id = f.run_id()
    items = [_dataset_input(entry) for entry in f.objects("datasets")]
    f.objects("models")
    await ctx.write(lambda: ctx.client.log_inputs(run_id, items))
    return {}


# -- metric histories -----------------------------------------------------------------------


def _history_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"history_offset": offset}).encode()).decode()


def _history_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = data["history_offset"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise invalid("page_token is not a token this server gave out.") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < _MAX_OFFSET:
        raise invalid("page_token is not a token this server gave out.")
    return offset


async def get_metric_history(request: Request, ctx: Context) -> Response:
    """Every point of one metric of one run, in step order, a page at a time when asked.

    Only the served page is read into Python, and the answer's text is built from its
    columns (:func:`wire.metrics_json`), without a Metric or a dict a point.
    """
    f = await read_fields(request)
    run_id = f.run_id()
    key = f.required_string("metric_key")
    page = f.integer("max_results", low=1) if f.has("max_results") else None
    offset = _history_offset(f.string("page_token"))
    if page is not None:
        page = min(page, MAX_HISTORY_PAGE)
    steps, stamps, values, total = await ctx.read(
        lambda: ctx.client.get_metric_history_page(run_id, key, offset, page)
    )
    parts = []
    if page is not None and offset + page < total:
        parts.append('"next_page_token":' + json.dumps(_history_token(offset + page)))
    if steps:
        parts.append('"metrics":' + wire.metrics_json(key, steps, stamps, values))
    return Response("{" + ",".join(parts) + "}", media_type="application/json")


def _sampled_steps(histories: list[list[Metric]], limit: int, start: int, end: int) -> set[int]:
    """The steps to return: at most ``limit`` of them spread over the range, plus each
    run's first and last step in it (as MLflow samples them)."""
    ends = {s for h in histories if h for s in (h[0].step, h[-1].step) if start <= s <= end}
    steps = sorted({m.step for h in histories for m in h})
    lo, hi = bisect.bisect_left(steps, start), bisect.bisect_right(steps, end)
    if hi - lo <= limit:
        chosen = set(steps[lo:hi])
    else:
        interval = (hi - lo) / limit
        chosen = {steps[lo + int(i * interval)] for i in range(limit)}
        chosen.add(steps[hi - 1])
    return chosen | ends


async def get_metric_history_bulk_interval(f: Fields, ctx: Context) -> dict[str, Any]:
    """One metric of several runs, sampled to a number of steps per run (for charts)."""
    run_ids = f.strings("run_ids", required=True)
    if len(run_ids) > MAX_BULK_RUNS:
        raise invalid(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} "
            f"run_ids. Received {len(run_ids)} run_ids."
        )
    key = f.required_string("metric_key")
    limit = f.integer("max_results", low=1, high=MAX_BULK_RESULTS) or MAX_BULK_RESULTS
    start, end = f.integer("start_step"), f.integer("end_step")
    if (start is None) != (end is None):
        raise invalid("If either start step or end step are specified, both must be specified.")
    if start is not None and end is not None and start > end:
        raise invalid(
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )

    def read() -> list[list[Metric]]:
        return [ctx.client.get_metric_history(run_id, key) for run_id in run_ids]

    histories = await ctx.read(read)
    all_steps = [m.step for h in histories for m in h]
    low = 0 if start is None else start
    high = (max(all_steps) if all_steps else 0) if end is None else end
    chosen = _sampled_steps(histories, limit, low, high)
    per_run = max(limit, len(chosen))
    out: list[dict[str, Any]] = []
    for run_id, history in zip(run_ids, histories, strict=True):
        points = sorted(
            (m for m in history if m.step in chosen), key=lambda m: (m.step, m.timestamp)
        )
        out.extend(wire.metric(m, run_id) for m in points[:per_run])
    return {"metrics": out} if out else {}


# -- the tracking API's own artifact listing ------------------------------------------------


async def list_artifacts(f: Fields, ctx: Context) -> dict[str, Any]:
    """The files and folders directly in ``path`` of a run's artifacts."""
    run_id = f.run_id()
    path = checked_path(f.string("path") or "")
    run = await ctx.read(lambda: ctx.client.get_run(run_id))
    files = await ctx.files(lambda: ctx.client.list_artifacts(run_id, path or None))
    out: dict[str, Any] = {"root_uri": wire.run_location(run.info.experiment_id, run_id)}
    if files:
        out["files"] = [wire.file_info(info, info.path) for info in files]
    return out


# -- server information ---------------------------------------------------------------------


async def server_info(f: Fields, ctx: Context) -> dict[str, Any]:
    """What MLflow's client asks a server before using optional features (none here)."""
    return {
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    }


_V2 = "/2.0/mlflow"

ENDPOINTS = [
    Endpoint("POST", f"{_V2}/experiments/create", json_endpoint(create_experiment), write=True),
    Endpoint("GET", f"{_V2}/experiments/get", json_endpoint(get_experiment)),
    Endpoint("GET", f"{_V2}/experiments/get-by-name", json_endpoint(get_experiment_by_name)),
    Endpoint("POST", f"{_V2}/experiments/search", json_endpoint(search_experiments)),
    Endpoint("POST", f"{_V2}/experiments/update", json_endpoint(update_experiment), write=True),
    Endpoint("POST", f"{_V2}/experiments/delete", json_endpoint(delete_experiment), write=True),
    Endpoint("POST", f"{_V2}/experiments/restore", json_endpoint(restore_experiment), write=True),
    Endpoint(
        "POST",
        f"{_V2}/experiments/set-experiment-tag",
        json_endpoint(set_experiment_tag),
        write=True,
    ),
    Endpoint(
        "POST",
        f"{_V2}/experiments/delete-experiment-tag",
        json_endpoint(delete_experiment_tag),
        write=True,
    ),
    Endpoint("POST", f"{_V2}/runs/create", create_run_request, write=True),
    Endpoint("POST", f"{_V2}/runs/update", json_endpoint(update_run), write=True),
    Endpoint("POST", f"{_V2}/runs/delete", json_endpoint(delete_run), write=True),
    Endpoint("POST", f"{_V2}/runs/restore", json_endpoint(restore_run), write=True),
    Endpoint("GET", f"{_V2}/runs/get", json_endpoint(get_run)),
    Endpoint("POST", f"{_V2}/runs/search", json_endpoint(search_runs)),
    Endpoint("POST", f"{_V2}/runs/log-batch", log_batch_request, write=True),
    Endpoint("POST", f"{_V2}/runs/log-metric", json_endpoint(log_metric), write=True),
    Endpoint("POST", f"{_V2}/runs/log-parameter", json_endpoint(log_param), write=True),
    Endpoint("POST", f"{_V2}/runs/set-tag", json_endpoint(set_tag), write=True),
    Endpoint("POST", f"{_V2}/runs/delete-tag", json_endpoint(delete_tag), write=True),
    Endpoint("POST", f"{_V2}/runs/log-inputs", json_endpoint(log_inputs), write=True),
    Endpoint("GET", f"{_V2}/metrics/get-history", get_metric_history),
    Endpoint(
        "GET",
        f"{_V2}/metrics/get-history-bulk-interval",
        json_endpoint(get_metric_history_bulk_interval),
    ),
    Endpoint("GET", f"{_V2}/artifacts/list", json_endpoint(list_artifacts)),
    Endpoint("GET", "/3.0/mlflow/server-info", json_endpoint(server_info), public=True),
    Endpoint("POST", "/2.0/carnet/runs/heartbeat", json_endpoint(heartbeat), write=True),
]
