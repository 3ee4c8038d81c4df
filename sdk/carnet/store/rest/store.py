"""``RestStore``: the ``Store`` protocol over MLflow's REST API, spoken to a tracking server.

Each method is one or a few requests to ``/api/2.0/mlflow/...`` (a
``carnet server``, or MLflow's own server for everything MLflow's API has),
and the answers are read back into Carnet's entities. The server checks and
writes; this store only carries the calls, so a refusal raises the Carnet
error the server's store raised (:mod:`carnet.store.rest.errors`).

Where the protocol asks for what MLflow's API does not have, the store
assembles it from what it has:

- ``count_runs``, ``search_run_columns`` and ``list_keys`` page through
  ``runs/search`` and count or assemble the runs (so they read every matching
  run's data; a direct store does it in the database);
- ``search_run_columns(summaries=True)`` reads each metric's history to give its
  min, max and point count; ``Run.summaries`` is empty (runs/get has no summary);
- ``get_metric_history_sampled`` asks ``metrics/get-history-bulk-interval``,
  which samples steps evenly (at most 2,500 a history) rather than keeping
  each bucket's lowest and highest value;
- ``get_metric_histories`` reads one history per run and key;
- the model registry (:class:`~carnet.store.rest.registry.RestRegistry`) is MLflow's
  registry API, one request a call;
- ``data_version`` cannot see the server's commits: it changes every
  :data:`DATA_VERSION_SECONDS` seconds, so a cache keyed on it lives that long;
- logged models (MLflow 3's endpoints) are in :mod:`carnet.store.rest.logged_models`;
- ``run_artifact_root`` has no local folder to give: ``Client`` sends artifact
  calls to this store's :class:`~carnet.store.protocol.RemoteArtifactStore`
  methods instead, which go through the server's ``mlflow-artifacts`` proxy.

Operations the API spreads over several requests (``set_experiment_tags``,
``resume_run`` with tags, a ``log_batch`` past MLflow's per-request limits) are
not one transaction here: a failure part-way leaves the earlier requests
written.

Heartbeats: runs created here are announced with ``X-Carnet-Heartbeat: client``
(this process beats for them) and :meth:`RestStore.heartbeat` posts to
``carnet server``'s ``/api/2.0/carnet/runs/heartbeat``; against a server that
does not have it (MLflow's), heartbeats stop quietly: such a server shows no
CRASHED runs.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from carnet.entities import (
    DatasetInput,
    EnvironmentRecord,
    Experiment,
    FileInfo,
    Metric,
    Run,
    RunInputs,
    ViewType,
)
from carnet.errors import (
    CarnetError,
    ConfigurationError,
    DeletedError,
    ExperimentNotFoundError,
    InvalidInputError,
    NotFoundError,
    ReadOnlyError,
    RunNotFoundError,
)
from carnet.record_digest import check_record
from carnet.store.protocol import RUN_ATTRIBUTE_COLUMNS, MetricPoint
from carnet.store.rest import batches, wire
from carnet.store.rest.artifacts import ServerArtifacts
from carnet.store.rest.logged_models import RestLoggedModels
from carnet.store.rest.registry import RestRegistry
from carnet.store.rest.session import HttpSession, Retry, read_json

#: MLflow's tracking API on the server.
API = "/api/2.0/mlflow"
#: ``carnet server``'s heartbeat endpoint (not part of MLflow's API).
HEARTBEAT_PATH = "/api/2.0/carnet/runs/heartbeat"
#: ``carnet server``'s environment-record endpoints (see :mod:`carnet.capture`).
ENVIRONMENTS_PATH = "/api/2.0/carnet/environments"
#: Sent when creating a run: this process beats for it (the server need not keep it alive).
HEARTBEAT_HEADER = "X-Carnet-Heartbeat"
#: Runs asked for in one search request when a call wants more (or all of them).
RUN_PAGE = 10_000
EXPERIMENT_PAGE = 1_000
#: Points asked for in one metric-history request (MLflow's client asks the same).
HISTORY_PAGE = 25_000
#: Most steps get-history-bulk-interval samples a history to.
MAX_SAMPLED_POINTS = 2_500
#: How long a ``data_version`` token stands for the server's data (see the module's doc).
DATA_VERSION_SECONDS = 2.0
_PARENT_TAG = "mlflow.parentRunId"
_JSON = {"Content-Type": "application/json"}
#: Error codes that mean the server has no heartbeat endpoint.
_NO_ENDPOINT = {"ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "BAD_REQUEST"}


def _body(data: dict[str, Any]) -> bytes:
    return json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")


def _envelope(values: list[float]) -> tuple[float, float]:
    """Lowest and highest value, NaN ignored (NaN when every value is NaN)."""
    finite = [v for v in values if not math.isnan(v)]
    return (min(finite), max(finite)) if finite else (math.nan, math.nan)


class RestStore(RestRegistry, RestLoggedModels):
    """A tracking store reached over HTTP: ``http(s)://host:port`` of a ``carnet server``."""

    def __init__(self, uri: str, *, read_only: bool = False) -> None:
        #: The normalised tracking URI this store was opened on.
        self.uri = uri
        #: True when every write is refused with ``ReadOnlyError``.
        self.read_only = read_only
        self._session = HttpSession(uri)
        self._artifacts = ServerArtifacts(self._session, self._artifact_uri)
        self._model_artifacts = ServerArtifacts(
            self._session, lambda model_id: self.get_logged_model(model_id).artifact_location
        )
        self._unfinished = batches.Unfinished()
        self._heartbeats_served = True

    def __repr__(self) -> str:
        return f"RestStore({self._session.public_uri!r})"

    def _call(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
        retry: Retry = Retry.SAFE,
        not_found: type[NotFoundError] = NotFoundError,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request to MLflow's API and its JSON answer."""
        content = None if body is None else _body(body)
        sent = {**(_JSON if body is not None else {}), **(headers or {})}
        return self._session.send(
            method,
            API + endpoint,
            read_json,
            params=params,
            content=content,
            headers=sent,
            retry=retry,
            not_found=not_found,
        )

    def _pages(
        self,
        endpoint: str,
        body: dict[str, Any],
        items: str,
        max_results: int | None,
        page_token: str | None,
        page: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``max_results`` items (all when None) of a paged search, and the token
        that continues after them (None: there are no more)."""
        out: list[dict[str, Any]] = []
        token = page_token
        while True:
            want = page if max_results is None else min(page, max_results - len(out))
            if want <= 0:
                return out, None if max_results == 0 else token
            request = {**body, "max_results": want}
            if token:
                request["page_token"] = token
            data = self._call("POST", endpoint, request)
            out.extend(data.get(items) or ())
            token = data.get("next_page_token") or None
            if token is None or (max_results is not None and len(out) >= max_results):
                return out, token

    # -- the store itself -----------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``ReadOnlyError`` on a read-only store, before anything is queued or written."""
        if self.read_only:
            raise ReadOnlyError(
                f"this client opened {self._session.public_uri} read-only; open a writable "
                "Client to change it."
            )

    def data_version(self) -> tuple[Any, ...]:
        """A token that changes every few seconds: the server's commits cannot be seen from
        here, so caches keyed on it hold for :data:`DATA_VERSION_SECONDS`."""
        return ("http", self.uri, int(time.monotonic() // DATA_VERSION_SECONDS))

    def reconnect(self) -> None:
        """Drop the pooled connections and check that the server answers ``/health``."""
        self._session.close()
        self._session.send("GET", "/health", lambda response: response.read())

    # -- experiments ----------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        experiment_id: int | None = None,
    ) -> str:
        """A new experiment's id, as the server numbers it (``experiment_id`` is the
        server's to choose: its "Default" experiment is made by the server itself)."""
        self.check_writable()
        body: dict[str, Any] = {"name": name, "tags": wire.pairs((tags or {}).items())}
        if artifact_location is not None:
            body["artifact_location"] = artifact_location
        data = self._call("POST", "/experiments/create", body, retry=Retry.UNSENT)
        return str(data["experiment_id"])

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        """The experiment with this id, deleted or not; ``ExperimentNotFoundError`` otherwise."""
        data = self._call(
            "GET",
            "/experiments/get",
            params={"experiment_id": str(experiment_id)},
            not_found=ExperimentNotFoundError,
        )
        return wire.read_experiment(data["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this exact name, or None."""
        try:
            data = self._call(
                "GET",
                "/experiments/get-by-name",
                params={"experiment_name": name},
                not_found=ExperimentNotFoundError,
            )
        except ExperimentNotFoundError:
            return None
        return wire.read_experiment(data["experiment"])

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        """One page of matching experiments and the token of the next page (None: last page).

        ``max_results=None`` returns every match on one page.
        """
        body: dict[str, Any] = {"view_type": ViewType(view_type).name}
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = list(order_by)
        found, token = self._pages(
            "/experiments/search", body, "experiments", max_results, page_token, EXPERIMENT_PAGE
        )
        return [wire.read_experiment(e) for e in found], token

    def delete_experiment(self, experiment_id: str | int) -> None:
        """Mark an experiment and its runs deleted (restorable until purged)."""
        self.check_writable()
        self._call(
            "POST",
            "/experiments/delete",
            {"experiment_id": str(experiment_id)},
            not_found=ExperimentNotFoundError,
        )

    def restore_experiment(self, experiment_id: str | int) -> None:
        """Make a deleted experiment and its runs active again."""
        self.check_writable()
        self._call(
            "POST",
            "/experiments/restore",
            {"experiment_id": str(experiment_id)},
            not_found=ExperimentNotFoundError,
        )

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        """Rename an experiment; ``ExperimentExistsError`` when another one has the name."""
        self.check_writable()
        self._call(
            "POST",
            "/experiments/update",
            {"experiment_id": str(experiment_id), "new_name": new_name},
            not_found=ExperimentNotFoundError,
        )

    def set_experiment_tags(self, experiment_id: str | int, tags: dict[str, str]) -> None:
        """Set (or overwrite) experiment tags, one request each (MLflow's API has no batch
        of them): a failure part-way leaves the tags before it set."""
        self.check_writable()
        for key, value in tags.items():
            self._call(
                "POST",
                "/experiments/set-experiment-tag",
                {"experiment_id": str(experiment_id), "key": key, "value": value},
                not_found=ExperimentNotFoundError,
            )

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        """Remove one experiment tag; ``InvalidInputError`` when the experiment lacks it."""
        self.check_writable()
        self._call(
            "POST",
            "/experiments/delete-experiment-tag",
            {"experiment_id": str(experiment_id), "key": key},
            not_found=ExperimentNotFoundError,
        )

    # -- runs -----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str,
        user_id: str,
        start_time: int,
        tags: Sequence[tuple[str, str]] = (),
        parent_run_id: str | None = None,
    ) -> Run:
        """A new RUNNING run with checked tags; the parent, if any, must exist and be active.

        The server is told that this process beats for the run, so the run reads as
        CRASHED when the process stops beating, as with a direct store.
        """
        self.check_writable()
        pairs = dict(tags)
        if parent_run_id is not None:
            pairs.setdefault(_PARENT_TAG, parent_run_id)
        body = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "run_name": run_name,
            "start_time": start_time,
            "tags": wire.pairs(pairs.items()),
        }
        data = self._call(
            "POST",
            "/runs/create",
            body,
            retry=Retry.UNSENT,
            not_found=ExperimentNotFoundError,
            headers={HEARTBEAT_HEADER: "client"},
        )
        return wire.read_run(data["run"])

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags and last metrics (no summaries: see the module)."""
        data = self._call("GET", "/runs/get", params={"run_id": run_id}, not_found=RunNotFoundError)
        return wire.read_run(data["run"])

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, RunInputs]:
        """Each run's dataset inputs, one ``runs/get`` per run (MLflow's API has no bulk read;
        callers bound the count). Unknown runs are left out."""
        found: dict[str, RunInputs] = {}
        for run_id in dict.fromkeys(run_ids):
            try:
                inputs = self.get_run(run_id).inputs
            except RunNotFoundError:
                continue
            if inputs.dataset_inputs:
                found[run_id] = inputs
        return found

    def update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> None:
        """Change a run's status (with its end time) and/or its name."""
        self.check_writable()
        body: dict[str, Any] = {"run_id": run_id}
        if status is not None:
            body["status"] = status
            if end_time is not None:
                body["end_time"] = end_time
        if run_name is not None:
            body["run_name"] = run_name
        self._call("POST", "/runs/update", body, not_found=RunNotFoundError)

    def set_terminated(self, run_id: str, status: str, end_time: int) -> None:
        """End a run with a terminal status at ``end_time``."""
        self.update_run(run_id, status=status, end_time=end_time)

    def resume_run(self, run_id: str, tags: Sequence[tuple[str, str]] = ()) -> None:
        """Make a run RUNNING again (no end time), add checked tags and beat for it.

        A deleted run is refused with ``DeletedError`` before anything changes;
        the status and the tags are two requests.
        """
        self.check_writable()
        if self.get_run(run_id).info.lifecycle_stage == "deleted":
            raise DeletedError(f"run {run_id} is deleted; restore it with restore_run first.")
        self.update_run(run_id, status="RUNNING")
        if tags:
            self.log_batch(run_id, tags=tags)
        self.heartbeat([run_id])

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (restorable until purged)."""
        self.check_writable()
        self._call("POST", "/runs/delete", {"run_id": run_id}, not_found=RunNotFoundError)

    def restore_run(self, run_id: str) -> None:
        """Make a deleted run active again."""
        self.check_writable()
        self._call("POST", "/runs/restore", {"run_id": run_id}, not_found=RunNotFoundError)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one tag of an active run; ``InvalidInputError`` when the run lacks it."""
        self.check_writable()
        self._call(
            "POST", "/runs/delete-tag", {"run_id": run_id, "key": key}, not_found=RunNotFoundError
        )

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        """Record datasets as inputs of a run through MLflow's ``runs/log-inputs``."""
        self.check_writable()
        if not datasets:
            return
        body = {
            "run_id": run_id,
            "datasets": [
                {
                    "tags": [{"key": t.key, "value": t.value} for t in item.tags],
                    "dataset": {k: v for k, v in asdict(item.dataset).items() if v is not None},
                }
                for item in datasets
            ],
        }
        self._call("POST", "/runs/log-inputs", body, not_found=RunNotFoundError)

    def put_environment_record(self, record: EnvironmentRecord) -> None:
        """Keep an environment record on the server (checked here first, so a record the
        server would refuse is not sent); putting it again writes nothing, so it is
        retried like any idempotent request."""
        self.check_writable()
        check_record(record.digest, record.record, record.patch)
        body: dict[str, Any] = {
            "digest": record.digest,
            "record": base64.b64encode(record.record).decode(),
        }
        if record.patch is not None:
            body["patch"] = base64.b64encode(record.patch).decode()
        self._session.send(
            "POST",
            f"{ENVIRONMENTS_PATH}/put",
            read_json,
            content=_body(body),
            headers=_JSON,
            retry=Retry.SAFE,
        )

    def get_environment_record(self, digest: str) -> EnvironmentRecord:
        """The environment record kept under ``digest`` on the server."""
        data = self._session.send(
            "GET", f"{ENVIRONMENTS_PATH}/get", read_json, params={"digest": digest}
        )
        patch = data.get("patch")
        return EnvironmentRecord(
            digest,
            base64.b64decode(data["record"]),
            None if patch is None else base64.b64decode(patch),
        )

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Mark these RUNNING runs alive on the server.

        Quietly does nothing on a read-only store, and from then on against a server
        without Carnet's heartbeat endpoint.
        """
        if not run_ids or self.read_only or not self._heartbeats_served:
            return
        try:
            self._session.send(
                "POST",
                HEARTBEAT_PATH,
                read_json,
                content=_body({"run_ids": list(run_ids)}),
                headers=_JSON,
            )
        except NotFoundError:
            self._heartbeats_served = False
        except CarnetError as exc:
            if exc.error_code not in _NO_ENDPOINT:
                raise
            self._heartbeats_served = False

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Log metrics, params and tags: one request when they fit MLflow's limits, else
        several, each committed on its own (see :mod:`carnet.store.rest.batches`).

        A call that failed, made again with the same content, writes only what the
        first try did not.
        """
        self.check_writable()
        if not (metrics or params or tags):
            return
        bodies = batches.split(run_id, metrics, params, tags)
        key = batches.fingerprint(run_id, bodies) if self._unfinished else None
        attempt = self._unfinished.take(key) if key is not None else None
        if attempt is None or len(attempt.ids) != len(bodies):
            attempt = batches.Attempt.fresh(len(bodies))

        def send(i: int) -> None:
            headers = {**_JSON, batches.BATCH_ID_HEADER: attempt.ids[i]}
            if attempt.retried:
                headers[batches.RETRY_HEADER] = "1"
            self._session.send(
                "POST",
                API + "/runs/log-batch",
                read_json,
                content=bodies[i],
                headers=headers,
                not_found=RunNotFoundError,
                when_repeated={batches.RETRY_HEADER: "1"},
            )

        todo = [i for i in range(len(bodies)) if i not in attempt.done]
        # Params and tags first, one request after the other (a param that may not change
        # is refused before any point is written); then the points, side by side.
        lead = 0
        while lead < len(todo) and not batches.points_only(bodies[todo[lead]]):
            lead += 1
        steps: list[list[int]] = [[i] for i in todo[:lead]] + [todo[lead:]]
        for step in steps:
            errors = self._session.run_together([functools.partial(send, i) for i in step])
            attempt.done.update(i for i, e in zip(step, errors, strict=True) if e is None)
            failed = next((e for e in errors if e is not None), None)
            if failed is not None:
                attempt.retried = True
                self._unfinished.keep(key or batches.fingerprint(run_id, bodies), attempt)
                raise failed

    # -- reads ----------------------------------------------------------------------------

    def _search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        view_type: ViewType,
        max_results: int | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not experiment_ids:
            return [], None
        body: dict[str, Any] = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "run_view_type": ViewType(view_type).name,
        }
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = list(order_by)
        return self._pages("/runs/search", body, "runs", max_results, page_token, RUN_PAGE)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """One page of matching runs and the token of the next page (None: last page)."""
        found, token = self._search(
            experiment_ids, filter_string, view_type, max_results, order_by, page_token
        )
        return [wire.read_run(r) for r in found], token

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs match (counted by reading them: MLflow's API has no count)."""
        found, _ = self._search(experiment_ids, filter_string, view_type, None, None, None)
        return len(found)

    def search_run_columns(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        *,
        summaries: bool = False,
    ) -> dict[str, list[Any]]:
        """Matching runs as columns, in search order, assembled from the searched runs.

        With ``summaries`` each metric's ``.min``, ``.max`` and ``.count`` are read
        from its history, one request per run and metric.
        """
        wanted = None if max_results is None else offset + max_results
        found, _ = self._search(experiment_ids, filter_string, view_type, wanted, order_by, None)
        runs = [wire.read_run(r) for r in found[offset:]]
        n = len(runs)
        cols: dict[str, list[Any]] = {name: [None] * n for name in RUN_ATTRIBUTE_COLUMNS}
        dynamic: dict[str, list[Any]] = {}

        def put(name: str, i: int, value: Any) -> None:
            column = dynamic.get(name)
            if column is None:
                column = dynamic[name] = [None] * n
            column[i] = value

        for i, run in enumerate(runs):
            info = run.info
            attributes = (
                info.run_id, info.experiment_id, info.status, info.artifact_uri,
                info.start_time, info.end_time, info.run_name, info.user_id,
                info.lifecycle_stage, run.data.tags.get(_PARENT_TAG),
            )  # fmt: skip
            for name, value in zip(RUN_ATTRIBUTE_COLUMNS, attributes, strict=True):
                cols[name][i] = value
            for key, last in run.data.metrics.items():
                put("metrics." + key, i, last)
                if summaries:
                    values = [m.value for m in self.get_metric_history(info.run_id, key)]
                    low, high = _envelope(values)
                    put(f"metrics.{key}.min", i, low)
                    put(f"metrics.{key}.max", i, high)
                    put(f"metrics.{key}.count", i, len(values))
            for key, text in run.data.params.items():
                put("params." + key, i, text)
            for key, text in run.data.tags.items():
                put("tags." + key, i, text)
        for name in sorted(dynamic):
            cols[name] = dynamic[name]
        return cols

    def list_keys(self, experiment_ids: Sequence[str]) -> dict[str, list[str]]:
        """Sorted metric, param and tag keys of the active runs of these experiments
        (assembled from a search of them all)."""
        found, _ = self._search(experiment_ids, None, ViewType.ACTIVE_ONLY, None, None, None)
        keys: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
        for data in found:
            run = wire.read_run(data)
            keys["metrics"].update(run.data.metrics)
            keys["params"].update(run.data.params)
            keys["tags"].update(run.data.tags)
        return {kind: sorted(found_keys) for kind, found_keys in keys.items()}

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of one metric of a run, by step, then timestamp."""
        points: list[Metric] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "run_id": run_id,
                "metric_key": key,
                "max_results": HISTORY_PAGE,
            }
            if token:
                params["page_token"] = token
            data = self._call(
                "GET", "/metrics/get-history", params=params, not_found=RunNotFoundError
            )
            points.extend(wire.read_metric(m) for m in data.get("metrics") or ())
            token = data.get("next_page_token") or None
            if token is None:
                break
        points.sort(key=lambda m: (m.step, m.timestamp))
        return points

    def get_metric_history_page(
        self, run_id: str, key: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[int], list[int], list[float], int]:
        """A slice of the whole history (the server's pages are not this store's pages)."""
        points = self.get_metric_history(run_id, key)
        served = points[offset:] if limit is None else points[offset : offset + limit]
        return (
            [m.step for m in served],
            [m.timestamp for m in served],
            [m.value for m in served],
            len(points),
        )

    def get_metric_history_sampled(self, run_id: str, key: str, max_points: int) -> list[Metric]:
        """About ``max_points`` points of a history (at most 2,500), sampled evenly by step
        by the server's get-history-bulk-interval; ``max_points`` below 2 is refused."""
        if max_points < 2:
            raise InvalidInputError(f"max_points must be at least 2, got {max_points}.")
        data = self._call(
            "GET",
            "/metrics/get-history-bulk-interval",
            params={
                "run_ids": [run_id],
                "metric_key": key,
                "max_results": min(max_points, MAX_SAMPLED_POINTS),
            },
            not_found=RunNotFoundError,
        )
        points = [wire.read_metric(m) for m in data.get("metrics") or ()]
        points.sort(key=lambda m: (m.step, m.timestamp))
        return points

    def get_metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, list[Any]]:
        """Histories of several runs (of these keys, or all) as columns, one request per
        run and key; runs the server does not know are left out."""
        cols: dict[str, list[Any]] = {
            k: [] for k in ("run_id", "key", "step", "timestamp", "value")
        }
        for run_id in run_ids:
            try:
                names = sorted(self.get_run(run_id).data.metrics) if keys is None else keys
                for key in names:
                    for point in self.get_metric_history(run_id, key):
                        cols["run_id"].append(run_id)
                        cols["key"].append(key)
                        cols["step"].append(point.step)
                        cols["timestamp"].append(point.timestamp)
                        cols["value"].append(point.value)
            except RunNotFoundError:
                continue
        return cols

    # -- artifacts ------------------------------------------------------------------------

    def _artifact_uri(self, run_id: str) -> str:
        return self.get_run(run_id).info.artifact_uri

    def run_artifact_root(self, run_id: str) -> Path:
        """Refused: a tracking server keeps run artifacts; ``Client`` reaches them through
        this store's artifact methods (``list_artifacts``, ``download_artifacts``...)."""
        raise ConfigurationError(
            f"run {run_id}'s artifacts are kept by the tracking server at "
            f"{self._session.public_uri}, not in a local folder; read them with "
            "Client.list_artifacts, read_artifact or download_artifacts, or open the server's "
            "store directly (sqlite:/// or postgresql+psycopg://) on the server's machine."
        )

    def upload_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None
    ) -> None:
        """Copy one local file into the run's artifacts (under ``artifact_path``)."""
        self.check_writable()
        self._artifacts.upload_file(run_id, local_path, artifact_path)

    def upload_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None
    ) -> None:
        """Copy a local folder's tree into the run's artifacts (under ``artifact_path``)."""
        self.check_writable()
        self._artifacts.upload_dir(run_id, local_dir, artifact_path)

    def write_artifact(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Store ``data`` as the artifact file ``artifact_file``."""
        self.check_writable()
        self._artifacts.write(run_id, artifact_file, data)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly in ``path`` (paths relative to the run's root)."""
        return self._artifacts.list(run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | Path | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)
        and return the local path of the copy."""
        return self._artifacts.download(run_id, path, dst_path)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The content of one artifact file."""
        return self._artifacts.read(run_id, path)
