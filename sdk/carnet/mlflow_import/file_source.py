"""MLflow's file store: an ``mlruns`` folder, read as files.

Layout: ``<experiment>/meta.yaml`` and ``<experiment>/tags/<key>``;
``<experiment>/<run>/meta.yaml`` with ``metrics/<key>`` (lines of
``timestamp value [step]``), ``params/<key>``, ``tags/<key>`` and
``artifacts/``. A key with ``/`` is a nested file. Deleted experiments sit in
``.trash/``. A file that is not what MLflow writes is an ``InvalidInputError``
naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from carnet.errors import InvalidInputError
from carnet.mlflow_import.artifacts import FoundArtifacts, find_artifact_folder
from carnet.mlflow_import.records import MetricPoint, SourceExperiment, SourceRun, optional_int

#: MLflow's file store writes run status as its protobuf enum number.
_FILE_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def read_meta_yaml(path: Path) -> dict[str, Any]:
    """The mapping MLflow's ``yaml.safe_dump`` wrote to a ``meta.yaml``."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise InvalidInputError(
            f"{path} is not valid YAML{line}; is this an MLflow mlruns folder?"
        ) from None
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"{path} is not a mapping; is this an MLflow mlruns folder?")
    return loaded


def _key_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(key, file) for every file under ``folder``; a key with '/' is a nested file."""
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        yield path.relative_to(folder).as_posix(), path


def _read_key_files(folder: Path) -> dict[str, str]:
    return {key: path.read_text(encoding="utf-8") for key, path in _key_files(folder)}


def _metric_points(key: str, path: Path) -> list[MetricPoint]:
    """One metric file's points in (step, timestamp) order."""
    points = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            step = int(parts[2]) if len(parts) == 3 else 0
            points.append((key, float(parts[1]), int(parts[0]), step))
        except ValueError:
            raise InvalidInputError(
                f"{path}:{line_no}: expected 'timestamp value [step]' (integer timestamp and "
                f"step, a number as value), got {line!r}."
            ) from None
    points.sort(key=lambda p: (p[3], p[2]))
    return points


class FileSource:
    """An ``mlruns`` folder at ``root``; artifacts in it, or under ``artifacts_dir``."""

    def __init__(self, root: Path, artifacts_dir: Path | None) -> None:
        self.root = root
        self.description = str(root)
        self.artifacts_dir = artifacts_dir
        self._run_dirs: dict[str, Path] = {}

    def _experiment_dirs(self) -> list[tuple[Path, bool]]:
        """(folder, is in the trash) of every experiment."""
        found = []
        for parent, trashed in ((self.root, False), (self.root / ".trash", True)):
            if parent.is_dir():
                for child in sorted(parent.iterdir()):
                    if child.name != ".trash" and (child / "meta.yaml").is_file():
                        found.append((child, trashed))
        return found

    def experiments(self) -> list[SourceExperiment]:
        """Every experiment with its tags; those in ``.trash`` are deleted."""
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
        """Every run with its params and tags, oldest first."""
        out = []
        for folder, _ in self._experiment_dirs():
            for run_dir in sorted(folder.iterdir()):
                meta_file = run_dir / "meta.yaml"
                if not run_dir.is_dir() or not meta_file.is_file():
                    continue
                meta = read_meta_yaml(meta_file)
                rid = str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name)
                self._run_dirs[rid] = run_dir
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
                        start_time=optional_int(meta.get("start_time")),
                        end_time=optional_int(meta.get("end_time")),
                        lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                        artifact_uri=str(meta.get("artifact_uri") or "") or None,
                        params=_read_key_files(run_dir / "params"),
                        tags=_read_key_files(run_dir / "tags"),
                    )
                )
        out.sort(key=lambda r: (r.start_time or 0, r.run_id))
        return out

    def metric_history(self, run: SourceRun) -> Iterator[MetricPoint]:
        """The run's points, one metric file at a time."""
        for key, path in _key_files(self._run_dirs[run.run_id] / "metrics"):
            yield from _metric_points(key, path)

    def artifact_folder(self, run: SourceRun) -> FoundArtifacts:
        """Inside this ``mlruns`` folder, or under ``artifacts_dir``."""
        return find_artifact_folder(
            run.artifact_uri,
            run.experiment_id,
            run.run_id,
            base_dir=self.root.parent,
            artifacts_dir=self.artifacts_dir,
            run_dir=self._run_dirs[run.run_id],
            roots=[self.root, self.artifacts_dir],
        )

    def close(self) -> None:
        """Nothing to release: files are read and closed as they go."""
