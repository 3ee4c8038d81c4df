"""Every read the dashboard makes, through ``carnet.Client`` opened read-only.

Reads are wrapped in ``st.cache_data`` keyed on ``Client.data_version()`` (a
cheap token that changes with every commit), so a rerun that changes nothing in
the store costs no query, and a new run appears as soon as it is committed.
Metric histories are keyed on the run's own summary (point count and last
timestamp) instead, so a busy store does not evict a finished run's curves.
No SQL here: the dashboard uses the same public API as users do.

A SQLite store is followed by its file: the client's pooled connections keep
reading the file they opened, so every rerun compares the file at the store's
path with the one they opened (one ``stat``) and, when it was deleted,
replaced, truncated or rewritten, drops the pool and checks the new file as a
freshly opened store (:func:`store_problem`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError

import carnet
from carnet.artifacts import resolve as resolve_artifact
from carnet.entities import FileInfo, LoggedModel, ModelVersion, RegisteredModel, RunInputs
from carnet.errors import ArtifactLocationError, ArtifactNotFoundError, ModelError
from carnet.model_ids import logged_model_id
from carnet.model_signature import ModelSignature
from carnet.models import DESCRIPTOR, read_descriptor, read_signature, run_model_folder
from carnet.query import quote_string
from carnet.registry_client import source_run_id
from carnet.store.engine import sqlite_path
from dashboard import frames, series

Version = tuple[Any, ...]
FULL_HISTORY_LIMIT = 50_000  # longer histories are downsampled by the store first
SAMPLED_POINTS = 8_000  # what the store returns for those, before the chart's own cut
COMPARE_LIMIT = 5_000  # runs charted at most (Altair's default row limit)
_TTL = 3600


@st.cache_resource(show_spinner=False)
def client(uri: str) -> carnet.Client:
    """One read-only client per store for the whole server (it holds the engine)."""
    return carnet.Client(uri, read_only=True)


def version(uri: str) -> Version:
    """The store's change token; part of every cache key below.

    When the store's file changed under the pool since the last check (see
    :func:`store_problem`), the whole app reruns, so a fragment that refreshes
    on its own never reads a replaced store through stale state.
    """
    path = sqlite_path(uri)
    if path is not None and _follow_file(uri, path)[1]:
        st.rerun(scope="app")
    return client(uri).data_version()


@dataclass(frozen=True)
class ExperimentRow:
    """An experiment as the sidebar lists it: name, run count and when it was last used."""

    experiment_id: str
    name: str
    runs: int
    last_run: int  # ms since the epoch of the newest run's start, 0 when empty


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=32)
def experiments(uri: str, v: Version) -> list[ExperimentRow]:
    """Active experiments with run counts, the most recently used first."""
    c = client(uri)
    rows = []
    for exp in c.search_experiments(max_results=None):
        n = c.count_runs([exp.experiment_id])
        last = 0
        if n:
            newest = c.search_runs_frame([exp.experiment_id], max_results=1)
            stamp = newest["start_time"].iloc[0] if len(newest) else None
            last = int(stamp.timestamp() * 1000) if stamp is not None and pd.notna(stamp) else 0
        rows.append(ExperimentRow(exp.experiment_id, exp.name, n, last or exp.creation_time or 0))
    return sorted(rows, key=lambda r: (r.last_run, r.experiment_id), reverse=True)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def count(uri: str, v: Version, exp_ids: tuple[str, ...], query: str) -> int:
    """How many runs match ``query``, counted in the database (no rows read)."""
    return client(uri).count_runs(list(exp_ids), query)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def page(
    uri: str,
    v: Version,
    exp_ids: tuple[str, ...],
    query: str,
    order_by: tuple[str, ...],
    offset: int,
    limit: int,
) -> pd.DataFrame:
    """One page of matching runs, sorted in the database."""
    frame = client(uri).search_runs_frame(
        list(exp_ids), query, max_results=limit, order_by=list(order_by) or None, offset=offset
    )
    return frames.with_duration(frame)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def matching(
    uri: str,
    v: Version,
    exp_ids: tuple[str, ...],
    query: str,
    order_by: tuple[str, ...],
    limit: int | None = COMPARE_LIMIT,
) -> pd.DataFrame:
    """All matching runs (up to ``limit``), for charts and the CSV export."""
    frame = client(uri).search_runs_frame(
        list(exp_ids), query, max_results=limit, order_by=list(order_by) or None
    )
    return frames.with_duration(frame)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def runs_by_id(
    uri: str, v: Version, exp_ids: tuple[str, ...], run_ids: tuple[str, ...]
) -> pd.DataFrame:
    """The given runs (those still in the chosen experiments), in the order given."""
    if not run_ids:
        return pd.DataFrame()
    ids = ", ".join(frames.quote_text(r) for r in run_ids)
    frame = client(uri).search_runs_frame(list(exp_ids), f"attributes.run_id IN ({ids})")
    order = {r: i for i, r in enumerate(run_ids)}
    frame = frame.sort_values("run_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return frames.with_duration(frame)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def inputs(uri: str, v: Version, run_ids: tuple[str, ...]) -> dict[str, RunInputs]:
    """The dataset inputs of the runs that have some (for grouping runs by dataset)."""
    return client(uri).inputs_of(run_ids)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def best(
    uri: str, v: Version, exp_ids: tuple[str, ...], query: str, metric: str, lower: bool
) -> pd.DataFrame:
    """The matching run with the lowest (or highest) value of ``metric``: 0 or 1 rows."""
    frame = client(uri).search_runs_frame(
        list(exp_ids),
        query,
        max_results=1,
        order_by=[frames.order_clause("metrics." + metric, lower)],
    )
    if len(frame) and pd.isna(frame.get("metrics." + metric, pd.Series([np.nan])).iloc[0]):
        return frame.iloc[0:0]
    return frames.with_duration(frame)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def keys(uri: str, v: Version, exp_ids: tuple[str, ...]) -> frames.Keys:
    """Metric, param and tag keys of the chosen experiments' active runs."""
    if not exp_ids:
        return frames.Keys()
    found = client(uri).list_keys(list(exp_ids))
    return frames.Keys(tuple(found["metrics"]), tuple(found["params"]), tuple(found["tags"]))


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def run(uri: str, v: Version, run_id: str) -> carnet.Run:
    """One run, cached on the store version so reruns of the run page cost no query."""
    return client(uri).get_run(run_id)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def children(uri: str, v: Version, experiment_id: str, run_id: str) -> pd.DataFrame:
    """Runs whose parent is ``run_id`` (nested runs: a search's trials, CV folds)."""
    flt = f"{frames.column_ref('tags.mlflow.parentRunId')} = {frames.quote_text(run_id)}"
    return frames.with_duration(
        client(uri).search_runs_frame([experiment_id], flt, order_by=["start_time ASC"])
    )


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=32)
def history(
    uri: str, run_id: str, key: str, n_points: int, last_timestamp: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A run's full history of one metric as (steps, timestamps, values) arrays.

    ``n_points`` and ``last_timestamp`` come from the run's metric summary: they
    change exactly when the history does, so the cache stays valid otherwise.
    """
    # A huge history is first thinned by the store (each bucket's extremes, computed on
    # its packed arrays), so a million points never become Python objects.
    limit = None if n_points <= FULL_HISTORY_LIMIT else SAMPLED_POINTS
    points = client(uri).get_metric_history(run_id, key, max_points=limit)
    # One C-level conversion of the Metric tuples (key, value, timestamp, step).
    table = np.array(points, dtype=[("key", "O"), ("value", "f8"), ("ts", "i8"), ("step", "i8")])
    return table["step"].copy(), table["ts"].copy(), table["value"].copy()


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def curve(
    uri: str,
    run_id: str,
    key: str,
    n_points: int,
    last_timestamp: int,
    smoothing: float,
    max_points: int = series.DEFAULT_POINTS,
) -> pd.DataFrame:
    """One run's history of ``key``, smoothed and downsampled to about ``max_points``."""
    steps, stamps, values = history(uri, run_id, key, n_points, last_timestamp)
    return series.prepare_curve(steps, stamps, values, smoothing=smoothing, max_points=max_points)


def curves(
    uri: str, runs: pd.DataFrame, key: str, smoothing: float, summaries: dict[str, tuple[int, int]]
) -> pd.DataFrame:
    """Downsampled curves of several runs as one long frame with ``run`` and ``run_id``.

    ``summaries`` maps run id to (point count, last timestamp) of ``key``.
    """
    labels = dict(zip(runs["run_id"], frames.run_labels(runs), strict=True))
    parts = []
    for run_id, (n, last) in summaries.items():
        part = curve(uri, run_id, key, n, last, smoothing)
        if part.empty:
            continue
        part = part.copy()
        part["run_id"], part["run"] = run_id, labels.get(run_id, run_id[:8])
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["run_id", "run", "step", "time", "relative", "value", "raw"])
    return pd.concat(parts, ignore_index=True)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def summaries(
    uri: str, v: Version, run_ids: tuple[str, ...], key: str
) -> dict[str, tuple[int, int]]:
    """(point count, last timestamp) of ``key`` for each run that logged it."""
    out = {}
    for run_id in run_ids:
        s = run(uri, v, run_id).summaries.get(key)
        if s is not None:
            out[run_id] = (s.count, s.timestamp)
    return out


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def stepped_metrics(uri: str, v: Version, run_ids: tuple[str, ...]) -> list[str]:
    """Metrics logged more than once in some of these runs (the ones worth a curve),
    longest histories first."""
    longest: dict[str, int] = {}
    for run_id in run_ids:
        for key, s in run(uri, v, run_id).summaries.items():
            longest[key] = max(longest.get(key, 0), s.count)
    return sorted((k for k, n in longest.items() if n > 1), key=lambda k: (-longest[k], k))


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def artifacts(uri: str, v: Version, run_id: str) -> list[FileInfo]:
    """Every artifact file of a run (folders walked), in path order."""
    c = client(uri)
    out: list[FileInfo] = []
    pending: list[str | None] = [None]
    while pending and len(out) < 5_000:
        folder = pending.pop()
        try:
            listing = c.list_artifacts(run_id, folder)
        except carnet.CarnetError:
            continue
        for info in listing:
            (pending.append(info.path) if info.is_dir else out.append(info))
    return sorted(out, key=lambda f: f.path)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def run_models(uri: str, v: Version, experiment_id: str, run_id: str) -> list[LoggedModel]:
    """The logged models a run produced, newest first (at most 1,000)."""
    found = client(uri).search_logged_models(
        [experiment_id], f"source_run_id = {quote_string(run_id)}", max_results=1_000
    )
    return list(found)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=256)
def model_descriptor(uri: str, model_id: str) -> dict[str, Any] | None:
    """A logged model's ``MLmodel`` descriptor (flavours, signature), or None when its
    files cannot be read; a model's files never change, so the id alone keys it."""
    import yaml

    try:
        text = client(uri).read_logged_model_artifact(model_id, "MLmodel")
        descriptor = yaml.safe_load(text)
    except (carnet.CarnetError, yaml.YAMLError, UnicodeDecodeError):
        return None
    return descriptor if isinstance(descriptor, dict) else None


def artifact_path(uri: str, run_id: str, path: str) -> Any:
    """The local file behind an artifact (for previews and downloads)."""
    return client(uri).get_artifact_path(run_id, path)


def export_csv(
    uri: str,
    exp_ids: Sequence[str],
    query: str,
    order_by: Sequence[str],
    columns: Sequence[str],
) -> bytes:
    """Every matching run (not just the page shown) as CSV with the chosen columns.

    Uncached and Streamlit-free: a download button calls it in a worker thread.
    """
    frame = frames.with_duration(
        carnet.Client(uri, read_only=True).search_runs_frame(
            list(exp_ids), query, order_by=list(order_by) or None
        )
    )
    wanted = ["run_id"] + [c for c in columns if c in frame.columns and c != "run_id"]
    return frames.to_csv(frame[wanted])


#: What reading a vanished or damaged store raises: Carnet's errors and the driver's.
READ_ERRORS: tuple[type[Exception], ...] = (carnet.CarnetError, DBAPIError, sqlite3.Error)


def read_error_text(exc: Exception) -> str:
    """A one-line account of a failed read, fit to show (no SQL, no traceback)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def store_problem(uri: str) -> str | None:
    """Why the store cannot be shown (missing file, not a Carnet store, newer schema ...), or None.

    Called before every full rerun reads anything. For a SQLite store this is
    also where a file that changed under the pooled connections is noticed:
    they are dropped, so the next read opens what is at the path now, and that
    file is checked as a freshly opened store would be.
    """
    path = sqlite_path(uri)
    if path is not None:
        return _follow_file(uri, path)[0]
    try:
        client(uri)
    except carnet.CarnetError as exc:
        return str(exc)
    return None


FileSignature = tuple[int, ...]


def file_signature(path: Path) -> FileSignature:
    """(device, inode, size, mtime, ctime) of the store file; ``()`` when it is missing.

    Commits go to the ``-wal`` file; the main file changes only when a
    checkpoint copies them back (every few tens of megabytes, or when the last
    writer closes), on a VACUUM, or when something replaces, truncates or
    rewrites it. A changed signature is therefore rare and worth a reopen.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ()
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass
class _OpenedFile:
    """The store file as the pool last saw it, and what was wrong with it (if anything)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    signature: FileSignature | None = None  # None: not checked yet
    problem: str | None = None


@st.cache_resource(show_spinner=False)
def _opened_file(uri: str) -> _OpenedFile:
    return _OpenedFile()


def _follow_file(uri: str, path: Path) -> tuple[str | None, bool]:
    """(problem or None, whether the pool was just reopened) for a SQLite store."""
    opened = _opened_file(uri)
    signature = file_signature(path)
    with opened.lock:
        if signature == opened.signature:
            return opened.problem, False
        was_open = bool(opened.signature)
        opened.problem = _reopen(uri, path, signature, was_open)
        opened.signature = signature
        return opened.problem, True


def _reopen(uri: str, path: Path, signature: FileSignature, was_open: bool) -> str | None:
    """Drop the pooled connections and check the file now at ``path``."""
    if not signature:
        try:
            client(uri).store.reconnect()  # lets go of the deleted file
        except carnet.CarnetError:
            pass  # never opened, or nothing there now: either way nothing is held
        if was_open:
            return (
                "the store file no longer exists (it was deleted or moved away); put it "
                "back, or log a run to start a new store there, then reload."
            )
    try:
        client(uri).store.reconnect()
    except carnet.CarnetError as exc:
        if not was_open:
            return str(exc)
        return f"the store file was replaced or rewritten and cannot be shown: {exc}"
    return None


# -- the model registry (the Models page) --------------------------------------------------

MODELS_LIMIT = 1000  # registered models listed at most (MLflow's largest page)
VERSIONS_LIMIT = 1000  # versions of one model listed at most, newest first
EXAMPLE_BYTES = 200_000  # an input example larger than this is offered as a size, not shown
DESCRIPTOR_BYTES = 1_000_000  # an MLmodel file larger than this is not parsed
MODEL_LOCATION_REFUSED = (
    "The model's files are not shown: its run's artifact location is outside the folders "
    "this dashboard reads artifacts from (CARNET_ARTIFACT_ROOTS)."
)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=64)
def registered_models(
    uri: str, v: Version, filter_string: str
) -> tuple[list[RegisteredModel], bool]:
    """Registered models matching MLflow's registry filter (``name LIKE 'dia%'``), by name;
    and whether more than :data:`MODELS_LIMIT` matched. A bad filter raises FilterError."""
    found = client(uri).search_registered_models(filter_string or None, max_results=MODELS_LIMIT)
    return list(found), found.token is not None


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=128)
def registered_model(uri: str, v: Version, name: str) -> RegisteredModel:
    """One registered model with its tags and aliases (RegisteredModelNotFoundError if gone)."""
    return client(uri).get_registered_model(name)


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=128)
def model_versions(uri: str, v: Version, name: str) -> list[ModelVersion]:
    """The versions of one registered model, newest first (up to :data:`VERSIONS_LIMIT`)."""
    return list(
        client(uri).search_model_versions(
            f"name = {frames.quote_text(name)}",
            max_results=VERSIONS_LIMIT,
            order_by=["version_number DESC"],
        )
    )


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=128)
def source_metrics(uri: str, v: Version, run_ids: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """The last value of every metric of each source run that still exists, by run id."""
    out: dict[str, dict[str, float]] = {}
    for run_id in dict.fromkeys(run_ids):
        try:
            out[run_id] = dict(run(uri, v, run_id).data.metrics)
        except carnet.CarnetError:  # the run was deleted for good, or the id is not a run's
            continue
    return out


@dataclass(frozen=True)
class ModelFiles:
    """What the dashboard shows of a version's ``MLmodel``: flavours, signature, example.

    ``problem`` says, in a sentence fit to show, why the files could not be read
    (the other fields are then empty); ``signature`` is None for a model saved
    without one. Schemas are rows of (name, type, required).
    """

    problem: str | None = None
    flavors: tuple[str, ...] = ()
    signature: ModelSignature | None = None
    example: str | None = None  # the input example's JSON text, when saved and small enough
    example_bytes: int = 0


@st.cache_data(show_spinner=False, ttl=_TTL, max_entries=128)
def model_files(uri: str, v: Version, source: str) -> ModelFiles:
    """The ``MLmodel`` of a version registered from ``runs:/<run_id>/<path>`` or from a
    logged model (``models:/<model_id>``).

    Read through the read-only client, so the files must lie in an allowed artifact
    root; other sources (a local folder, a registered name) are not opened by the
    dashboard: a registered path is not trusted to be readable here.
    """
    run_id = source_run_id(source)
    path = source.split(run_id, 1)[1].strip("/") if run_id else ""
    logged = logged_model_id(source)
    if logged is None and (not run_id or not path):
        return ModelFiles(
            problem="The dashboard reads signatures of versions registered from a run "
            "(runs:/<run_id>/<path>) or a logged model (models:/<model_id>) only."
        )
    # What a viewer reads of a failure is a plain sentence: never a server path.
    try:
        if logged is not None:
            folder = client(uri).logged_model_folder(logged)
        else:
            folder = run_model_folder(client(uri), run_id or "", path)
        if (folder / DESCRIPTOR).stat().st_size > DESCRIPTOR_BYTES:
            return ModelFiles(problem=f"The model's {DESCRIPTOR} file is too large to show.")
        descriptor = read_descriptor(folder)
        signature = read_signature(descriptor)
    except ArtifactLocationError:
        return ModelFiles(problem=MODEL_LOCATION_REFUSED)
    except (ArtifactNotFoundError, FileNotFoundError, ModelError):
        return ModelFiles(
            problem=f"The source run has no model files at {path!r} (deleted or never logged)."
        )
    except (carnet.CarnetError, OSError):
        return ModelFiles(problem=f"The model's {DESCRIPTOR} file cannot be read.")
    example, size = _input_example(folder, descriptor)
    flavors = tuple(str(f) for f in descriptor.get("flavors", {}))
    return ModelFiles(None, flavors, signature, example, size)


def _input_example(folder: Path, descriptor: dict[str, Any]) -> tuple[str | None, int]:
    """The saved input example's text (None when absent or too large) and its size."""
    info = descriptor.get("saved_input_example_info")
    name = info.get("artifact_path") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name:
        return None, 0
    try:
        file = resolve_artifact(folder, name)
        size = file.stat().st_size
        if size > EXAMPLE_BYTES:
            return None, size
        return file.read_text(encoding="utf-8", errors="replace"), size
    except (carnet.CarnetError, OSError):
        return None, 0
