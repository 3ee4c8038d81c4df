"""Finding a run's artifacts in an MLflow source, and copying them into Carnet.

Artifacts are copied only from the source's own artifact folders: ``mlruns/``
of a file store, ``mlruns/`` and ``mlartifacts/`` beside a SQLite file (or the
working directory for a database server), and ``artifacts_dir`` when given. A
run whose ``artifact_uri`` names a folder elsewhere (a path anyone who could
write to the source store could have planted, such as ``~/.ssh``) has those
artifacts left out with a warning, and symbolic links inside an artifact
folder are never followed: each is left out with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from carnet.client import Client


@dataclass(frozen=True)
class FoundArtifacts:
    """A run's artifact folder in the source, if any, and why a folder was refused."""

    folder: Path | None
    refused: str | None = None


@dataclass(frozen=True)
class CopiedArtifacts:
    """What a copy did: files copied, and the symbolic links left out (relative paths)."""

    files: int
    links: list[str] = field(default_factory=list)


def is_local(uri: str) -> bool:
    """Whether an artifact URI names files on this machine (not s3://, gs://, ...)."""
    scheme = urlparse(uri).scheme
    return scheme in ("", "file", "mlflow-artifacts") or len(scheme) == 1


def _inside(folder: Path, roots: Sequence[Path]) -> bool:
    """Whether the real path of ``folder`` lies in the real path of one of ``roots``."""
    real = Path(os.path.realpath(folder))
    return any(real.is_relative_to(os.path.realpath(root)) for root in roots)


def find_artifact_folder(
    artifact_uri: str | None,
    experiment_id: str,
    run_id: str,
    *,
    base_dir: Path,
    artifacts_dir: Path | None,
    run_dir: Path | None,
    roots: Sequence[Path | None],
) -> FoundArtifacts:
    """Where a run's artifacts are on this machine (none, or not local: no folder).

    Candidates are the folder ``artifact_uri`` names (relative paths from
    ``base_dir``; ``mlflow-artifacts:`` URIs under ``artifacts_dir`` or
    ``base_dir/mlartifacts``), then ``run_dir/artifacts`` of a file store, then
    ``artifacts_dir/<experiment>/<run>/artifacts``. Only folders whose real
    path lies inside ``roots`` (the source's artifact folders) are taken; the
    first existing one outside them is named in ``refused``.
    """
    allowed = [root for root in roots if root is not None]
    candidates: list[Path] = []
    uri = artifact_uri or ""
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
        candidates.append(artifacts_dir / experiment_id / run_id / "artifacts")
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


def copy_artifacts(client: Client, run_id: str, folder: Path) -> CopiedArtifacts:
    """Copy a source folder's files into the Carnet run; symbolic links in it are left out."""
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
        client.log_artifacts(run_id, folder)
    else:
        for path, artifact_path in files:
            client.log_artifact(run_id, path, artifact_path)
    return CopiedArtifacts(len(files), sorted(links))
