"""Run artifacts kept by a tracking server, through MLflow's artifact proxy (``mlflow-artifacts``).

A run served by ``carnet server`` (or by MLflow's server with
``--serve-artifacts``) has ``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``
as its artifact URI, which names these requests on the tracking server:

- ``PUT  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>``: upload a file;
- ``GET  /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>``: download one;
- ``GET  /api/2.0/mlflow-artifacts/artifacts?path=<exp>/<run>/artifacts/<folder>``: list.

Paths are checked here as a local store checks them (no ``..``, nothing
absolute; :func:`carnet.artifacts.safe_relative`) before any request, and the
names a listing returns are checked again before a download writes a file, so
a download never writes outside its destination. Files are streamed both ways,
never held in memory whole, and a download lands under a temporary name that is
renamed into place only once complete. Uploads and downloads are retried like
every request (repeating them changes nothing).
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

import httpx

from carnet.artifacts import local_source, safe_relative
from carnet.entities import FileInfo
from carnet.errors import (
    ArtifactNotFoundError,
    ArtifactPathError,
    ConfigurationError,
    InvalidValueError,
)
from carnet.store.rest.session import HttpSession, read_json
from carnet.store.rest.wire import read_file_info

#: Where MLflow's artifact proxy lives on a tracking server.
ARTIFACTS_PATH = "/api/2.0/mlflow-artifacts/artifacts"
SCHEME = "mlflow-artifacts"
CHUNK = 1 << 20
#: Runs whose artifact location is remembered (it never changes for a run).
MAX_REMEMBERED = 4096
_OCTETS = {"Content-Type": "application/octet-stream"}


def run_prefix(artifact_uri: str, run_id: str) -> str:
    """The proxy path of a run's artifacts (``<exp>/<run>/artifacts``) from its URI."""
    parts = urlsplit(artifact_uri)
    path = unquote(parts.path).strip("/")
    if parts.scheme != SCHEME or not path:
        raise ConfigurationError(
            f"run {run_id} keeps its artifacts at {artifact_uri!r}, which its tracking server "
            "does not serve; Carnet reaches a server's artifacts only through its "
            "mlflow-artifacts proxy (MLflow's server needs --serve-artifacts)."
        )
    return path


def _readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ArtifactNotFoundError(
            f"cannot read {str(path)!r} to log it as an artifact: {exc.strerror or exc}."
        ) from None


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _tree(source: Path) -> list[tuple[tuple[str, ...], Path]]:
    """Every file below a local folder, links followed as a copy would, loops refused."""
    files: list[tuple[tuple[str, ...], Path]] = []
    seen: set[Path] = set()

    def walk(folder: Path, rel: tuple[str, ...]) -> None:
        real = folder.resolve()
        if real in seen:
            raise InvalidValueError(
                f"local_dir has a link loop at {str(folder)!r}; remove the link and log again."
            )
        seen.add(real)
        for child in sorted(folder.iterdir()):
            if child.is_dir():
                walk(child, (*rel, child.name))
            elif child.is_file():
                _readable(child)
                files.append(((*rel, child.name), child))
            elif child.is_symlink():
                raise ArtifactNotFoundError(
                    f"{str(child)!r} in local_dir is a link to nothing; remove it or fix it."
                )
        seen.discard(real)

    try:
        walk(source, ())
    except OSError as exc:
        raise ArtifactNotFoundError(
            f"cannot read the folder {str(source)!r} to log: {exc.strerror or exc}."
        ) from None
    return files


class ServerArtifacts:
    """One tracking server's run artifacts: upload, list, read and download."""

    def __init__(self, session: HttpSession, artifact_uri_of: Callable[[str], str]) -> None:
        self._session = session
        self._artifact_uri_of = artifact_uri_of
        self._prefixes: dict[str, str] = {}
        self._lock = threading.Lock()

    def _prefix(self, run_id: str) -> str:
        prefix = self._prefixes.get(run_id)
        if prefix is None:
            prefix = run_prefix(self._artifact_uri_of(run_id), run_id)
            with self._lock:
                if len(self._prefixes) >= MAX_REMEMBERED:
                    self._prefixes.clear()
                self._prefixes[run_id] = prefix
        return prefix

    @staticmethod
    def _file_path(prefix: str, rel: PurePosixPath) -> str:
        return f"{ARTIFACTS_PATH}/{quote(f'{prefix}/{rel}', safe='/')}"

    # -- writing ------------------------------------------------------------------------

    def _put(self, run_id: str, rel: PurePosixPath, content: bytes | Path) -> None:
        path = self._file_path(self._prefix(run_id), rel)
        if isinstance(content, bytes):
            self._session.send("PUT", path, read_json, content=content, headers=_OCTETS)
            return
        source = content
        headers = {**_OCTETS, "Content-Length": str(source.stat().st_size)}
        self._session.send(
            "PUT", path, read_json, content=lambda: _file_chunks(source), headers=headers
        )

    def upload_file(self, run_id: str, local_path: str | Path, artifact_path: str | None) -> None:
        """Copy one local file into the run's artifacts (under ``artifact_path``)."""
        source = local_source(local_path, "local_path")
        if not source.is_file():
            raise ArtifactNotFoundError(f"no file at {str(source)!r} to log as an artifact.")
        rel = safe_relative(str(safe_relative(artifact_path) / source.name))
        _readable(source)
        self._put(run_id, rel, source)

    def upload_dir(self, run_id: str, local_dir: str | Path, artifact_path: str | None) -> int:
        """Copy a local folder's files into the run's artifacts; returns how many.

        Every path is checked before the first upload.
        """
        source = local_source(local_dir, "local_dir")
        if not source.is_dir():
            raise ArtifactNotFoundError(f"no folder at {str(source)!r} to log as artifacts.")
        base = safe_relative(artifact_path)
        files = [(safe_relative(str(base.joinpath(*rel))), path) for rel, path in _tree(source)]
        for rel, path in files:
            self._put(run_id, rel, path)
        return len(files)

    def write(self, run_id: str, artifact_file: str, data: bytes) -> None:
        """Store ``data`` as the artifact file ``artifact_file``."""
        rel = safe_relative(artifact_file)
        if not rel.parts:
            raise ArtifactPathError("artifact_file must name a file, e.g. 'notes.txt'.")
        self._put(run_id, rel, data)

    # -- reading ------------------------------------------------------------------------

    def _listing(self, prefix: str, rel: PurePosixPath) -> list[FileInfo]:
        folder = str(rel) if rel.parts else ""
        where = f"{prefix}/{folder}" if folder else prefix
        data = self._session.send(
            "GET",
            ARTIFACTS_PATH,
            read_json,
            params={"path": where},
            not_found=ArtifactNotFoundError,
        )
        out = []
        for item in data.get("files") or ():
            info = read_file_info(item, folder)
            safe_relative(info.path)  # a name from the server never leaves the run's folder
            out.append(info)
        return sorted(out, key=lambda f: f.path)

    def _entry(self, prefix: str, rel: PurePosixPath) -> FileInfo | None:
        """The file or folder ``rel`` names, from a listing of its parent."""
        parent = rel.parent if len(rel.parts) > 1 else PurePosixPath()
        for info in self._listing(prefix, parent):
            if info.path == str(rel):
                return info
        return None

    def list(self, run_id: str, path: str | None) -> list[FileInfo]:
        """The files and folders directly in ``path`` (``[that file]`` for a file; [] when
        missing), with paths relative to the run's root."""
        rel = safe_relative(path)
        prefix = self._prefix(run_id)
        found = self._listing(prefix, rel)
        if rel.parts and len(found) == 1 and not found[0].is_dir:
            # A server answers a file's own listing with the file itself (or nothing):
            # the parent's listing tells a file from a folder holding a file of its name.
            entry = self._entry(prefix, rel)
            if entry is not None and not entry.is_dir:
                return [entry]
        return found

    def read(self, run_id: str, path: str) -> bytes:
        """The content of one artifact file."""
        rel = safe_relative(path)
        if not rel.parts:
            raise ArtifactPathError("name an artifact file to read, e.g. 'notes.txt'.")
        url = self._file_path(self._prefix(run_id), rel)
        return self._session.send(
            "GET", url, lambda response: response.read(), not_found=ArtifactNotFoundError
        )

    def _save(self, prefix: str, rel: PurePosixPath, target: Path) -> None:
        """Stream one file to ``target``, under a temporary name until it is complete."""

        def save(response: httpx.Response) -> None:
            part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
            try:
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                os.replace(part, target)
            except BaseException:
                part.unlink(missing_ok=True)
                raise

        url = self._file_path(prefix, rel)
        self._session.send("GET", url, save, not_found=ArtifactNotFoundError)

    def _save_tree(self, prefix: str, rel: PurePosixPath, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        for info in self._listing(prefix, rel):
            child = PurePosixPath(info.path)
            if info.is_dir:
                self._save_tree(prefix, child, target / child.name)
            else:
                self._save(prefix, child, target / child.name)

    def download(self, run_id: str, path: str, dst_path: str | Path | None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)
        and return the path of the copy."""
        rel = safe_relative(path)
        prefix = self._prefix(run_id)
        entry: FileInfo | None = None
        if rel.parts:
            entry = self._entry(prefix, rel)
            if entry is None:
                raise ArtifactNotFoundError(
                    f"no artifact {path!r} in run {run_id}; list them with list_artifacts(run_id)."
                )
        dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="carnet-"))
        target = dst / (rel.name or "artifacts")
        if entry is not None and not entry.is_dir:
            dst.mkdir(parents=True, exist_ok=True)
            self._save(prefix, rel, target)
        else:
            self._save_tree(prefix, rel, target)
        return str(target)
