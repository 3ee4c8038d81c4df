"""Copy an MLflow tracking store into Carnet: experiments, runs, full metric histories,
params, tags, statuses, times and artifacts.

MLflow need not be installed: its SQL store is read with SQLAlchemy (a SQLite file,
or any SQLAlchemy URL of a server MLflow wrote to) and its file store (``mlruns/``)
is read as files. The import is idempotent: every imported run carries the source
run id in the tag ``carnet.imported_from``, and runs already present are skipped,
so running it again imports only what is new. A run is marked imported only once
all of its data and artifacts are in; a run left half-copied by an interrupted
import is deleted and copied again on the next try.

Artifacts are copied only from the source's own artifact folders: ``mlruns/`` of a
file store, ``mlruns/`` and ``mlartifacts/`` beside a SQLite file (or the working
directory for a database server), and ``artifacts_dir`` when given. A run whose
``artifact_uri`` names a folder elsewhere (a path anyone who could write to the
source store could have planted, such as ``~/.ssh``) has those artifacts left out
with a warning, and symbolic links inside an artifact folder are never followed.

What changes on the way: runs get new Carnet run ids (the MLflow id stays in
``carnet.imported_from``); experiments are matched by name; MLflow's SQL store
saves infinity as ±1.797e308, which comes back as ±inf.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlparse

from carnet.errors import ConfigurationError, InvalidInputError, NotFoundError, StoreError

IMPORTED_FROM = "carnet.imported_from"
IMPORTING = "carnet.importing"
_FLOAT_MAX = sys.float_info.max
_METRIC_CHUNK = 50_000
_PARAM_CHUNK = 1_000
#: MLflow's file store writes run status as its protobuf enum number.
_FILE_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


# -- what a source yields ----------------------------------------------------------------


@dataclass(frozen=True)
class SourceExperiment:
    experiment_id: str
    name: str
    lifecycle_stage: str
    tags: dict[str, str]


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    experiment_id: str
    name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str | None
    params: dict[str, str]
    tags: dict[str, str]


MetricPoint = tuple[str, float, int, int]  # key, value, timestamp, step


@dataclass(frozen=True)
class FoundArtifacts:
    """A run's artifact folder in the source, if any, and why a folder was refused."""

    folder: Path | None
    refused: str | None = None


class Source(Protocol):
    """An MLflow store opened for reading."""

    description: str

    def experiments(self) -> list[SourceExperiment]: ...

    def runs(self) -> list[SourceRun]: ...

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]: ...

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts: ...

    def close(self) -> None: ...


# -- MLflow's SQL store ------------------------------------------------------------------


class SqlSource:
    """MLflow's SQL schema (tables experiments, experiment_tags, runs, params, tags, metrics)."""

    def __init__(self, url: str, base_dir: Path, artifacts_dir: Path | None) -> None:
        from sqlalchemy import create_engine

        self.description = _redacted(url)
        self.base_dir = base_dir
        self.artifacts_dir = artifacts_dir
        path = _sqlite_file(url)
        if path is not None:
            import sqlite3

            if not path.is_file():
                raise NotFoundError(f"no MLflow database at {path}; check the path.")
            self.engine = create_engine(
                "sqlite://",
                creator=lambda: sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True),
            )
        else:
            if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, as Carnet uses
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            self.engine = create_engine(url)
        self._check()

    def _check(self) -> None:
        from sqlalchemy import inspect
        from sqlalchemy.exc import SQLAlchemyError

        try:
            tables = set(inspect(self.engine).get_table_names())
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read {self.description}: {exc}") from None
        missing = {"experiments", "runs", "metrics", "params", "tags"} - tables
        if missing:
            raise InvalidInputError(
                f"{self.description} is not an MLflow tracking database (no table "
                f"{', '.join(sorted(missing))}); pass MLflow's backend store, e.g. mlflow.db."
            )
        self._has_experiment_tags = "experiment_tags" in tables

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def experiments(self) -> list[SourceExperiment]:
        tags: dict[str, dict[str, str]] = {}
        if self._has_experiment_tags:
            for key, value, eid in self._rows(
                "SELECT key, value, experiment_id FROM experiment_tags"
            ):
                tags.setdefault(str(eid), {})[key] = value or ""
        rows = self._rows(
            "SELECT experiment_id, name, lifecycle_stage FROM experiments ORDER BY experiment_id"
        )
        return [
            SourceExperiment(str(eid), name, stage or "active", tags.get(str(eid), {}))
            for eid, name, stage in rows
        ]

    def runs(self) -> list[SourceRun]:
        params: dict[str, dict[str, str]] = {}
        for key, value, rid in self._rows("SELECT key, value, run_uuid FROM params"):
            params.setdefault(rid, {})[key] = value or ""
        tags: dict[str, dict[str, str]] = {}
        for key, value, rid in self._rows("SELECT key, value, run_uuid FROM tags"):
            tags.setdefault(rid, {})[key] = value or ""
        rows = self._rows(
            "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
            "lifecycle_stage, artifact_uri FROM runs ORDER BY start_time, run_uuid"
        )
        return [
            SourceRun(
                run_id=rid,
                experiment_id=str(eid),
                name=name or None,
                user_id=user or None,
                status=status or "FINISHED",
                start_time=_int_or_none(start),
                end_time=_int_or_none(end),
                lifecycle_stage=stage or "active",
                artifact_uri=uri,
                params=params.get(rid, {}),
                tags=tags.get(rid, {}),
            )
            for rid, eid, name, user, status, start, end, stage, uri in rows
        ]

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]:
        from sqlalchemy import text

        sql = text(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = :rid "
            "ORDER BY key, step, timestamp"
        )
        with self.engine.connect() as conn:
            for key, value, ts, step, nan in conn.execute(sql, {"rid": run.run_id}):
                yield key, _sql_metric_value(value, bool(nan)), int(ts or 0), int(step or 0)

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts:
        roots = [self.base_dir / "mlruns", self.base_dir / "mlartifacts", self.artifacts_dir]
        return _artifact_folder(run, self.base_dir, self.artifacts_dir, None, roots)

    def close(self) -> None:
        self.engine.dispose()


def _sql_metric_value(value: Any, is_nan: bool) -> float:
    if is_nan or value is None:
        return math.nan
    number = float(value)
    if abs(number) == _FLOAT_MAX:  # how MLflow's SQL store saves ±inf
        return math.copysign(math.inf, number)
    return number


# -- MLflow's file store -----------------------------------------------------------------


class FileSource:
    """An ``mlruns`` folder: ``<exp>/meta.yaml``, ``<exp>/<run>/{meta.yaml,metrics,params,tags}``;
    deleted experiments sit in ``.trash/``."""

    def __init__(self, root: Path, artifacts_dir: Path | None) -> None:
        self.root = root
        self.description = str(root)
        self.artifacts_dir = artifacts_dir
        self._run_dirs: dict[str, Path] = {}

    def _experiment_dirs(self) -> list[tuple[Path, bool]]:
        found = []
        for parent, trashed in ((self.root, False), (self.root / ".trash", True)):
            if parent.is_dir():
                for child in sorted(parent.iterdir()):
                    if child.name != ".trash" and (child / "meta.yaml").is_file():
                        found.append((child, trashed))
        return found

    def experiments(self) -> list[SourceExperiment]:
        out = []
        for folder, trashed in self._experiment_dirs():
            meta = read_meta_yaml(folder / "meta.yaml")
            stage = "deleted" if trashed else str(meta.get("lifecycle_stage") or "active")
            out.append(
                SourceExperiment(
                    experiment_id=str(meta.get("experiment_id", folder.name)),
                    name=str(meta.get("name") or folder.name),
                    lifecycle_stage=stage,
                    tags=_read_key_files(folder / "tags"),
                )
            )
        return out

    def runs(self) -> list[SourceRun]:
        out = []
        for folder, _ in self._experiment_dirs():
            for run_dir in sorted(folder.iterdir()):
                meta_file = run_dir / "meta.yaml"
                if not run_dir.is_dir() or not meta_file.is_file():
                    continue
                meta = read_meta_yaml(meta_file)
                rid = str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name)
                self._run_dirs[rid] = run_dir
                tags = _read_key_files(run_dir / "tags")
                status = meta.get("status", 3)
                out.append(
                    SourceRun(
                        run_id=rid,
                        experiment_id=str(meta.get("experiment_id", folder.name)),
                        name=str(meta.get("run_name") or meta.get("name") or "") or None,
                        user_id=str(meta.get("user_id") or "") or None,
                        status=_FILE_STATUS.get(status, str(status))
                        if isinstance(status, int)
                        else str(status),
                        start_time=_int_or_none(meta.get("start_time")),
                        end_time=_int_or_none(meta.get("end_time")),
                        lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                        artifact_uri=str(meta.get("artifact_uri") or "") or None,
                        params=_read_key_files(run_dir / "params"),
                        tags=tags,
                    )
                )
        out.sort(key=lambda r: (r.start_time or 0, r.run_id))
        return out

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]:
        folder = self._run_dirs[run.run_id] / "metrics"
        for key, path in _key_files(folder):
            points = []
            for line_no, line in enumerate(path.read_text().splitlines(), 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) not in (2, 3):
                    raise InvalidInputError(
                        f"{path}:{line_no}: expected 'timestamp value [step]', got {line!r}."
                    )
                step = int(parts[2]) if len(parts) == 3 else 0
                points.append((key, float(parts[1]), int(parts[0]), step))
            points.sort(key=lambda p: (p[3], p[2]))
            yield from points

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts:
        roots = [self.root, self.artifacts_dir]
        run_dir = self._run_dirs[run.run_id]
        return _artifact_folder(run, self.root.parent, self.artifacts_dir, run_dir, roots)

    def close(self) -> None:
        pass


def _key_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(key, file) for every file under ``folder``; a key with '/' is a nested file."""
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        yield path.relative_to(folder).as_posix(), path


def _read_key_files(folder: Path) -> dict[str, str]:
    return {key: path.read_text(encoding="utf-8") for key, path in _key_files(folder)}


# -- meta.yaml without PyYAML -------------------------------------------------------------

_PLAIN_INT = re.compile(r"^[-+]?\d+$")
_PLAIN_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def read_meta_yaml(path: Path) -> dict[str, Any]:
    """The flat mapping MLflow's ``yaml.safe_dump`` writes to ``meta.yaml``.

    PyYAML is used when it is installed; otherwise this reads the subset MLflow
    writes: ``key: scalar`` lines, quoted or plain scalars, ``[]``/``{}``, and
    continuation lines of long scalars.
    """
    text = path.read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:
        return parse_flat_yaml(text, str(path))
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"{path} is not a mapping; is this an MLflow mlruns folder?")
    return loaded


def parse_flat_yaml(text: str, where: str = "meta.yaml") -> dict[str, Any]:
    entries: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line.strip() == "---":
            continue
        if line[0] in " \t" and entries:
            entries[-1][1] += "\n" + line.strip()
            continue
        key, sep, rest = line.partition(":")
        if not sep:
            raise InvalidInputError(f"{where}: cannot read line {line!r}.")
        entries.append([key.strip(), rest.strip()])
    return {key: _yaml_scalar(raw, where) for key, raw in entries}


def _yaml_scalar(raw: str, where: str) -> Any:
    if not raw:
        return None
    if raw[0] == "'":
        body = raw[1:].rstrip()
        if not body.endswith("'"):
            raise InvalidInputError(f"{where}: unterminated quoted value {raw!r}.")
        return _fold(body[:-1]).replace("''", "'")
    if raw[0] == '"':
        import json

        folded = _fold(raw)
        try:
            return json.loads(folded)
        except ValueError:
            return folded.strip('"')
    value = _fold(raw)
    if value in ("null", "~", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if value == "[]":
        return []
    if value == "{}":
        return {}
    if _PLAIN_INT.match(value):
        return int(value)
    if _PLAIN_FLOAT.match(value):
        return float(value)
    return value


def _fold(text: str) -> str:
    """YAML folding of a multi-line scalar: single line breaks become spaces."""
    lines = text.split("\n")
    out = lines[0]
    for line in lines[1:]:
        out += "\n" if not line else (" " + line if out and not out.endswith("\n") else line)
    return out


# -- shared helpers ----------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _redacted(url: str) -> str:
    """The URL without its password, for reports."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(unquote(url[len("sqlite:///") :])).expanduser()
    return None


def _inside(folder: Path, roots: Sequence[Path]) -> bool:
    """Whether the real path of ``folder`` lies in the real path of one of ``roots``."""
    real = Path(os.path.realpath(folder))
    return any(real.is_relative_to(os.path.realpath(root)) for root in roots)


def _artifact_folder(
    run: SourceRun,
    base_dir: Path,
    artifacts_dir: Path | None,
    run_dir: Path | None,
    roots: Sequence[Path | None],
) -> FoundArtifacts:
    """Where the run's artifacts are on this machine (none, or not local: no folder).

    Only folders inside ``roots`` (the source's artifact folders) are taken; the
    first existing one outside them is named in ``refused``.
    """
    allowed = [root for root in roots if root is not None]
    candidates: list[Path] = []
    uri = run.artifact_uri or ""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        candidates.append(Path(unquote(parsed.path)))
    elif parsed.scheme == "mlflow-artifacts":
        # A tracking server with --serve-artifacts keeps them under ./mlartifacts.
        rel = unquote(parsed.path).lstrip("/")
        for root in (artifacts_dir, base_dir / "mlartifacts"):
            if root is not None:
                candidates.append(root / rel)
    elif uri and (not parsed.scheme or len(parsed.scheme) == 1):  # a path (maybe C:\...)
        path = Path(uri)
        candidates.append(path if path.is_absolute() else base_dir / path)
    if run_dir is not None:
        candidates.append(run_dir / "artifacts")
    if artifacts_dir is not None:
        candidates.append(artifacts_dir / run.experiment_id / run.run_id / "artifacts")
    refused = None
    for candidate in candidates:
        if not candidate.is_dir():
            continue
        if _inside(candidate, allowed):
            return FoundArtifacts(candidate, refused)
        if refused is None:
            refused = (
                f"artifacts at {uri or candidate} are outside the source's artifact folders "
                f"({', '.join(str(r) for r in allowed)}); not copied (pass --artifacts-dir "
                "if they really belong to this store)."
            )
    return FoundArtifacts(None, refused)


def open_source(source: str | Path, *, artifacts_dir: str | Path | None = None) -> Source:
    """An MLflow store from a SQLite file, a SQLAlchemy URL or an ``mlruns`` folder."""
    text = str(source)
    art = Path(artifacts_dir).expanduser().resolve() if artifacts_dir else None
    if "://" in text:
        scheme = text.split("://", 1)[0]
        if scheme == "file":
            return open_source(unquote(urlparse(text).path), artifacts_dir=art)
        if scheme.startswith(("sqlite", "postgresql", "mysql", "mssql")):
            path = _sqlite_file(text)
            base = path.resolve().parent if path is not None else Path.cwd()
            return SqlSource(text, base, art)
        raise ConfigurationError(
            f"cannot import from {text!r}; pass an MLflow SQLite file (sqlite:///mlflow.db or "
            "mlflow.db), a database URL, or an mlruns folder."
        )
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        if (path / "mlruns").is_dir() and not (path / "0").is_dir():
            path = path / "mlruns"
        return FileSource(path, art)
    if path.is_file():
        return SqlSource(f"sqlite:///{path}", path.parent, art)
    raise NotFoundError(f"no MLflow store at {path}; pass an mlruns folder or a .db file.")


# -- the import --------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did; ``warnings`` lists everything left out, with the reason."""

    source: str
    experiments_created: int = 0
    runs_imported: int = 0
    runs_skipped: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    artifact_files: int = 0
    runs_retried: int = 0
    warnings: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [
            f"source:              {self.source}",
            f"experiments created: {self.experiments_created}",
            f"runs imported:       {self.runs_imported}",
            f"runs already there:  {self.runs_skipped}",
            f"metric points:       {self.metric_points}",
            f"params:              {self.params}",
            f"tags:                {self.tags}",
            f"artifact files:      {self.artifact_files}",
        ]
        if self.runs_retried:
            lines.append(f"half-imported runs deleted and copied again: {self.runs_retried}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


Progress = Callable[[SourceRun], None]


def import_mlflow(
    source: str | Path,
    *,
    tracking_uri: str | None = None,
    artifacts_dir: str | Path | None = None,
    experiment_names: Sequence[str] | None = None,
    on_run: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import an MLflow store into the Carnet store at ``tracking_uri``; safe to repeat.

    ``experiment_names`` limits the import to those experiments. ``on_start(n)``
    is told how many runs will be looked at, ``on_run(run)`` after each one.
    """
    from carnet.client import Client

    src = open_source(source, artifacts_dir=artifacts_dir)
    try:
        return _Importer(Client(tracking_uri), src, experiment_names).run(on_start, on_run)
    finally:
        src.close()


class _Importer:
    def __init__(self, client: Any, source: Source, names: Sequence[str] | None) -> None:
        self.client = client
        self.source = source
        self.names = set(names) if names is not None else None
        self.report = ImportReport(source=source.description)
        self.run_map: dict[str, str] = {}  # MLflow run id -> Carnet run id
        self.exp_map: dict[str, str] = {}  # MLflow experiment id -> Carnet experiment id
        self.redelete: list[str] = []

    def run(self, on_start: Callable[[int], None] | None, on_run: Progress | None) -> ImportReport:
        experiments = [
            e for e in self.source.experiments() if self.names is None or e.name in self.names
        ]
        if self.names is not None:
            missing = self.names - {e.name for e in experiments}
            if missing:
                raise NotFoundError(
                    f"no experiment named {', '.join(sorted(map(repr, missing)))} in "
                    f"{self.source.description}."
                )
        self.run_map, partial = _imported_runs(self.client)
        for run_id in partial:
            self.client.delete_run(run_id)
        self.report.runs_retried = len(partial)
        for exp in experiments:
            self._experiment(exp)
        runs = [r for r in self.source.runs() if r.experiment_id in self.exp_map]
        if on_start is not None:
            on_start(len(runs))
        try:
            for run in _parents_first(runs):
                if run.run_id in self.run_map:
                    self.report.runs_skipped += 1
                else:
                    self._run(run)
                if on_run is not None:
                    on_run(run)
        finally:
            for experiment_id in self.redelete:
                self.client.delete_experiment(experiment_id)
            # Deleting an experiment deletes its runs; keep each run's own stage from the source.
            redeleted = {
                source_id for source_id, target in self.exp_map.items() if target in self.redelete
            }
            for run in runs:
                target_run = self.run_map.get(run.run_id)
                if (
                    target_run is not None
                    and run.experiment_id in redeleted
                    and run.lifecycle_stage == "active"
                ):
                    self.client.restore_run(target_run)
        return self.report

    def _experiment(self, exp: SourceExperiment) -> None:
        target = self.client.get_experiment_by_name(exp.name)
        deleted_source = exp.lifecycle_stage == "deleted"
        if target is None:
            experiment_id = self.client.create_experiment(exp.name)
            self.report.experiments_created += 1
            if deleted_source:
                self.redelete.append(experiment_id)
            existing_tags: dict[str, str] = {}
        else:
            experiment_id = target.experiment_id
            existing_tags = dict(target.tags)
            if target.lifecycle_stage == "deleted":
                if not deleted_source:
                    self.report.warnings.append(
                        f"experiment {exp.name!r} is deleted in Carnet; its runs were not "
                        "imported (restore it with 'carnet experiments restore' and import again)."
                    )
                    return
                self.client.restore_experiment(experiment_id)
                self.redelete.append(experiment_id)
        for key, value in exp.tags.items():
            if key not in existing_tags:
                self._try(
                    f"experiment {exp.name!r} tag {key!r}",
                    partial(self.client.set_experiment_tag, experiment_id, key, value),
                )
        self.exp_map[exp.experiment_id] = experiment_id

    def _try(self, what: str, action: Callable[[], object]) -> bool:
        from carnet.errors import InvalidInputError as Invalid

        try:
            action()
        except Invalid as exc:
            self.report.warnings.append(f"{what} left out: {exc}")
            return False
        return True

    def _run(self, run: SourceRun) -> None:
        from carnet.validation import (
            MAX_PARAM_VALUE_LENGTH,
            MAX_RUN_NAME_LENGTH,
            MAX_TAG_VALUE_LENGTH,
        )

        client = self.client
        label = f"run {run.run_id}"
        tags = dict(run.tags)
        parent_src = tags.get("mlflow.parentRunId")
        parent_new = self.run_map.get(parent_src) if parent_src else None
        if parent_new is not None:
            tags.pop("mlflow.parentRunId")
        name = run.name or tags.get("mlflow.runName") or None
        tags.pop("mlflow.runName", None)
        if name is not None and len(name) > MAX_RUN_NAME_LENGTH:
            name = name[:MAX_RUN_NAME_LENGTH]
        if run.user_id and "mlflow.user" not in tags:
            tags["mlflow.user"] = run.user_id
        good_tags: dict[str, str] = {}
        for key, value in tags.items():
            if len(value) > MAX_TAG_VALUE_LENGTH:
                self.report.warnings.append(f"{label}: tag {key!r} is too long; left out.")
            elif self._try(f"{label}: tag {key!r}", partial(_check_key, key, "tag")):
                good_tags[key] = value
        good_tags[IMPORTING] = run.run_id
        created = client.create_run(
            self.exp_map[run.experiment_id],
            start_time=run.start_time,
            tags=good_tags,
            run_name=name,
            parent_run_id=parent_new,
        )
        rid = created.info.run_id
        params = []
        for key, value in run.params.items():
            if len(value) > MAX_PARAM_VALUE_LENGTH:
                self.report.warnings.append(
                    f"{label}: param {key!r} is {len(value)} characters, over Carnet's "
                    f"{MAX_PARAM_VALUE_LENGTH}; left out."
                )
            elif self._try(f"{label}: param {key!r}", partial(_check_key, key, "param")):
                params.append((key, value))
        for chunk in _chunks(params, _PARAM_CHUNK):
            client.log_batch(rid, params=chunk, synchronous=True)
        bad_keys: set[str] = set()
        batch: list[MetricPoint] = []
        for point in self.source.metric_history(run):
            if point[0] in bad_keys:
                continue
            if not self._try(
                f"{label}: metric {point[0]!r}", partial(_check_key, point[0], "metric")
            ):
                bad_keys.add(point[0])
                continue
            batch.append(point)
            if len(batch) >= _METRIC_CHUNK:
                client.log_batch(rid, metrics=batch, synchronous=True)
                self.report.metric_points += len(batch)
                batch = []
        if batch:
            client.log_batch(rid, metrics=batch, synchronous=True)
            self.report.metric_points += len(batch)
        found = self.source.artifact_folder(run)
        if found.refused is not None:
            self.report.warnings.append(f"{label}: {found.refused}")
        if found.folder is not None:
            self._copy_artifacts(rid, found.folder, label)
        elif run.artifact_uri and not _is_local(run.artifact_uri):
            self.report.warnings.append(
                f"{label}: artifacts at {run.artifact_uri} are not local files; not copied."
            )
        client.log_batch(rid, tags=[(IMPORTED_FROM, run.run_id)], synchronous=True)
        client.delete_tag(rid, IMPORTING)
        self._finish(rid, run)
        self.run_map[run.run_id] = rid
        self.report.runs_imported += 1
        self.report.params += len(params)
        self.report.tags += len(good_tags)  # IMPORTING gave way to IMPORTED_FROM

    def _copy_artifacts(self, rid: str, folder: Path, label: str) -> None:
        """Copy a source folder's files; symbolic links in it are left out with a warning."""
        files: list[tuple[Path, str | None]] = []
        links: list[str] = []
        for parent, dirs, names in os.walk(folder):
            here = Path(parent)
            rel = here.relative_to(folder).as_posix()
            for name in [*dirs, *names]:
                path = here / name
                if path.is_symlink():
                    links.append(f"{rel}/{name}" if rel != "." else name)
                elif name in names and path.is_file():
                    files.append((path, None if rel == "." else rel))
        if not links:
            self.client.log_artifacts(rid, folder)
        else:
            for path, artifact_path in files:
                self.client.log_artifact(rid, path, artifact_path)
            for link in sorted(links):
                self.report.warnings.append(
                    f"{label}: artifact {link!r} is a symbolic link; not copied."
                )
        self.report.artifact_files += len(files)

    def _finish(self, rid: str, run: SourceRun) -> None:
        status = run.status.upper()
        if status in ("FINISHED", "FAILED", "KILLED"):
            end = run.end_time if run.end_time is not None else run.start_time
            self.client.set_terminated(rid, status, end)
        elif status == "SCHEDULED":
            self.client.update_run(rid, status="SCHEDULED")
        if run.lifecycle_stage == "deleted":
            self.client.delete_run(rid)


def _check_key(key: str, kind: str) -> None:
    from carnet.validation import validate_key

    validate_key(key, kind)


def _is_local(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file", "mlflow-artifacts") or len(scheme) == 1


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parents_first(runs: Iterable[SourceRun]) -> list[SourceRun]:
    """Runs ordered so a parent comes before its children (so the link can be kept)."""
    runs = list(runs)
    by_id = {r.run_id: r for r in runs}

    def depth(run: SourceRun) -> int:
        seen = {run.run_id}
        d = 0
        parent = run.tags.get("mlflow.parentRunId")
        while parent in by_id and parent not in seen:
            seen.add(parent)
            d += 1
            parent = by_id[parent].tags.get("mlflow.parentRunId")
        return d

    return sorted(runs, key=depth)  # stable: start-time order within a depth


def _imported_runs(client: Any) -> tuple[dict[str, str], list[str]]:
    """(MLflow id -> Carnet id of runs already imported, Carnet ids of half-imported runs)."""
    from sqlalchemy import select

    from carnet.store import schema

    runs, tags = schema.runs, schema.tags
    query = (
        select(tags.c.key, tags.c.value, runs.c.run_uuid, runs.c.lifecycle_stage)
        .join(runs, runs.c.id == tags.c.run_id)
        .where(tags.c.key.in_([IMPORTED_FROM, IMPORTING]))
    )
    done: dict[str, str] = {}
    started: dict[str, tuple[str, str]] = {}
    with client.store.engine.connect() as conn:
        for key, value, run_uuid, stage in conn.execute(query):
            if key == IMPORTED_FROM:
                done[value] = run_uuid
            else:
                started[run_uuid] = (value, stage)
    partial = [
        run_uuid
        for run_uuid, (source_id, stage) in started.items()
        if stage == "active" and source_id not in done
    ]
    return done, partial


__all__ = [
    "IMPORTED_FROM",
    "FileSource",
    "FoundArtifacts",
    "ImportReport",
    "SqlSource",
    "import_mlflow",
    "open_source",
    "parse_flat_yaml",
]
