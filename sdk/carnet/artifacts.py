"""Artifacts live in files under the run's artifact folder; paths never escape it."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from carnet.entities import FileInfo
from carnet.errors import ArtifactNotFoundError, ArtifactPathError, ConfigurationError


def local_root(artifact_uri: str) -> Path:
    """The folder behind a run's ``artifact_uri`` (``file://`` URIs or plain paths)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else artifact_uri)
    raise ConfigurationError(
        f"artifact location {artifact_uri!r} is not a local folder; Carnet stores artifacts "
        "in files (set CARNET_ARTIFACT_ROOT to a shared folder for teams)."
    )


def safe_relative(path: str | None) -> PurePosixPath:
    """A relative path inside the artifact folder, or ArtifactPathError."""
    if path is None or path in ("", "."):
        return PurePosixPath()
    if not isinstance(path, str):
        raise ArtifactPathError(f"artifact path must be a string, got {type(path).__name__}.")
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or (len(path) > 1 and path[1] == ":"):
        raise ArtifactPathError(
            f"artifact path {path!r} is absolute; give a path relative to the run's "
            "artifact folder, e.g. 'plots/loss.png'."
        )
    if ".." in p.parts:
        raise ArtifactPathError(
            f"artifact path {path!r} contains '..' and would leave the run's artifact folder; "
            "use a plain relative path."
        )
    return p


def resolve(root: Path, path: str | None) -> Path:
    target = root.joinpath(*safe_relative(path).parts)
    resolved_root = root.resolve()
    resolved = target.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ArtifactPathError(f"artifact path {path!r} leaves the run's artifact folder.")
    return target


def log_file(root: Path, local_path: str | Path, artifact_path: str | None) -> None:
    source = Path(local_path)
    if not source.is_file():
        raise ArtifactNotFoundError(f"no file at {str(source)!r} to log as an artifact.")
    folder = resolve(root, artifact_path)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, folder / source.name)


def log_dir(root: Path, local_dir: str | Path, artifact_path: str | None) -> None:
    source = Path(local_dir)
    if not source.is_dir():
        raise ArtifactNotFoundError(f"no folder at {str(source)!r} to log as artifacts.")
    folder = resolve(root, artifact_path)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, folder, dirs_exist_ok=True)


def write_bytes(root: Path, artifact_file: str, data: bytes) -> Path:
    rel = safe_relative(artifact_file)
    if not rel.parts:
        raise ArtifactPathError("artifact_file must name a file, e.g. 'notes.txt'.")
    target = resolve(root, artifact_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def list_files(root: Path, path: str | None) -> list[FileInfo]:
    folder = resolve(root, path)
    if not folder.exists():
        return []
    if folder.is_file():
        return [FileInfo(str(safe_relative(path)), False, folder.stat().st_size)]
    base = safe_relative(path)
    out = []
    for child in sorted(folder.iterdir()):
        rel = str(base / child.name) if base.parts else child.name
        out.append(FileInfo(rel, child.is_dir(), None if child.is_dir() else child.stat().st_size))
    return out


def download(root: Path, path: str, dst_path: str | Path | None) -> str:
    import tempfile

    source = resolve(root, path)
    if not source.exists():
        raise ArtifactNotFoundError(
            f"no artifact {path!r} in this run; list them with list_artifacts(run_id)."
        )
    dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="carnet-"))
    dst.mkdir(parents=True, exist_ok=True)
    target = dst / source.name if source.name else dst
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
    return str(target)
