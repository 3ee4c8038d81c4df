"""Artifact files inside one run's folder: paths never leave it, links are never followed.

The run's folder itself is checked against the allowed artifact roots first
(:mod:`carnet.artifact_location`); everything here works below it. Every folder
on the way to a file is opened relative to the one before with ``O_NOFOLLOW``,
so a symbolic link planted in a run's folder (``c.txt -> /outside/victim.txt``,
``plots -> /etc``) is refused rather than followed, for writing, listing,
reading and downloading alike. A file is written to a fresh temporary name
created exclusively in its folder, then renamed over the destination: a link at
the destination is replaced, never written through, and a failed write (a full
disk) leaves neither a partial file nor the temporary one. Temporary files, links
and special files are never listed.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from carnet.entities import FileInfo
from carnet.errors import (
    ArtifactNotFoundError,
    ArtifactPathError,
    CarnetError,
    ConfigurationError,
    InvalidValueError,
    StoreError,
)

#: Longest name of one file or folder, in bytes (NAME_MAX of common file systems).
MAX_NAME_BYTES = 255
#: Longest artifact path below the run's folder, in bytes.
MAX_PATH_BYTES = 1024
_CHUNK = 1 << 20
_TMP_PREFIX, _TMP_SUFFIX = ".carnet-", ".tmp"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def local_root(artifact_uri: str) -> Path:
    """The folder an ``artifact_uri`` names (``file://`` URIs or plain paths), unchecked.

    Readers and writers go through :func:`carnet.artifact_location.run_folder`,
    which also checks the folder against the allowed roots.
    """
    parsed = urlparse(artifact_uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else artifact_uri)
    raise ConfigurationError(
        f"artifact location {artifact_uri!r} is not a local folder; Carnet stores artifacts "
        "in files (set CARNET_ARTIFACT_ROOT to a shared folder for teams)."
    )


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a file Carnet is still writing (never an artifact)."""
    return name.startswith(_TMP_PREFIX) and name.endswith(_TMP_SUFFIX)


def safe_relative(path: str | None) -> PurePosixPath:
    """A relative path inside the artifact folder, or ArtifactPathError saying why not."""
    if path is None or path in ("", "."):
        return PurePosixPath()
    if not isinstance(path, str):
        raise ArtifactPathError(f"artifact path must be a string, got {type(path).__name__}.")
    if "\x00" in path:
        raise ArtifactPathError(
            f"artifact path {path!r} contains a NUL character, which no file name may hold."
        )
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
    try:
        sizes = [len(os.fsencode(part)) for part in p.parts]
    except UnicodeError:
        raise ArtifactPathError(
            f"artifact path {path!r} is not valid text for a file name."
        ) from None
    if max(sizes, default=0) > MAX_NAME_BYTES or sum(sizes) + len(sizes) > MAX_PATH_BYTES:
        raise ArtifactPathError(
            f"artifact path {path[:60]!r}... is too long: each name may have at most "
            f"{MAX_NAME_BYTES} bytes and the whole path {MAX_PATH_BYTES}; use a shorter name."
        )
    return p


def _shown(rel: PurePosixPath) -> str:
    return str(rel) if rel.parts else "."


@contextmanager
def _os_errors(action: str, shown: str) -> Iterator[None]:
    """OSError from the file system as a Carnet error naming the artifact, never a server path."""
    try:
        yield
    except CarnetError:
        raise
    except OSError as exc:
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(
                f"could not {action} artifact {shown!r}: no space left on the device that holds "
                "the run's artifacts; free some space and log it again."
            ) from None
        if code == errno.ENAMETOOLONG:
            raise ArtifactPathError(
                f"artifact path {shown!r} is too long for the file system; use a shorter name."
            ) from None
        if code in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StoreError(
                f"could not {action} artifact {shown!r}: permission denied on the run's artifact "
                "folder; check who owns it and its permissions."
            ) from None
        if code == errno.ENOENT:
            raise ArtifactNotFoundError(
                f"no artifact {shown!r} in this run; list them with list_artifacts(run_id)."
            ) from None
        raise StoreError(
            f"could not {action} artifact {shown!r}: {exc.strerror or type(exc).__name__}."
        ) from None


def _refuse_link(root: Path, prefix: Sequence[str], shown: str) -> ArtifactPathError:
    link = "/".join(prefix)
    real = Path(os.path.realpath(root.joinpath(*prefix)))
    how = (
        "goes through" if real.is_relative_to(root) else "leaves the run's artifact folder through"
    )
    return ArtifactPathError(
        f"artifact path {shown!r} {how} the symbolic link {link!r}; Carnet never follows "
        "links inside an artifact folder: remove the link or use another path."
    )


def _kind(dir_fd: int, name: str) -> int | None:
    """The file type bits of ``name`` (a link is a link), or None when it does not exist."""
    try:
        return stat.S_IFMT(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return None


@contextmanager
def _folder(root: Path, parts: Sequence[str], shown: str, *, create: bool) -> Iterator[int | None]:
    """A descriptor of ``root/parts``, each step opened without following a link.

    With ``create``, missing folders are made, and removed again (when still
    empty) if the work done in them fails; without it, a missing folder yields
    None. A link or a file on the way raises ArtifactPathError.
    """
    made: list[Path] = []  # the folders this call created, deepest first
    if create:
        made = [p for p in (root, *root.parents) if not os.path.lexists(p)]
        os.makedirs(root, exist_ok=True)
    try:
        fd = os.open(root, _DIR_FLAGS)
    except FileNotFoundError:
        if create:
            raise
        fd = -1
    try:
        for i, part in enumerate(parts):
            if fd < 0:
                break
            if create:
                try:
                    os.mkdir(part, dir_fd=fd)
                    made.insert(0, root.joinpath(*parts[: i + 1]))
                except FileExistsError:
                    pass
            child = _open_folder(root, fd, parts[: i + 1], shown, create=create)
            os.close(fd)
            fd = child
        yield fd if fd >= 0 else None
    except BaseException:
        for folder in made:
            try:
                os.rmdir(folder)
            except OSError:
                break
        raise
    finally:
        if fd >= 0:
            os.close(fd)


def _open_folder(root: Path, dir_fd: int, parts: Sequence[str], shown: str, *, create: bool) -> int:
    """The last of ``parts``, a folder in ``dir_fd``; -1 when it is missing and not created."""
    try:
        return os.open(parts[-1], _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        error = exc
    kind = _kind(dir_fd, parts[-1])
    if kind == stat.S_IFLNK:
        raise _refuse_link(root, parts, shown)
    if kind is None and not create:
        return -1
    if kind is not None and kind != stat.S_IFDIR:
        raise ArtifactPathError(
            f"artifact path {shown!r} goes through {'/'.join(parts)!r}, which is a file, "
            "not a folder."
        )
    raise error


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_file(
    dir_fd: int,
    name: str,
    chunks: Iterable[bytes],
    shown: str,
    like: os.stat_result | None = None,
) -> None:
    """Write ``name`` in the folder ``dir_fd`` through a temporary file renamed over it.

    The temporary name is random and created exclusively (``O_EXCL|O_NOFOLLOW``),
    so nothing planted in the folder is ever written through; on any failure it
    is removed. ``like`` copies a source file's permission bits and times.
    """
    if _kind(dir_fd, name) == stat.S_IFDIR:
        raise ArtifactPathError(
            f"artifact {shown!r} is a folder in this run; log the file under another name."
        )
    tmp = f"{_TMP_PREFIX}{secrets.token_hex(8)}{_TMP_SUFFIX}"
    fd = os.open(tmp, _TMP_FLAGS, 0o666, dir_fd=dir_fd)
    try:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            if like is not None:
                os.fchmod(fd, stat.S_IMODE(like.st_mode))
                os.utime(fd, ns=(like.st_atime_ns, like.st_mtime_ns))
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _open_source(path: Path) -> tuple[BinaryIO, os.stat_result]:
    """A local file to log, open for reading, or ArtifactNotFoundError saying why not."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ArtifactNotFoundError(
            f"cannot read {str(path)!r} to log it as an artifact: {exc.strerror or exc}."
        ) from None
    return handle, os.fstat(handle.fileno())


def local_source(local: str | Path, what: str) -> Path:
    """A path the caller gave to log from, refused with a clear message if it cannot be one."""
    if not isinstance(local, (str, Path)):
        raise InvalidValueError(f"{what} must be a path, got {type(local).__name__}.")
    if "\x00" in str(local):
        raise InvalidValueError(f"{what} {str(local)!r} contains a NUL character.")
    return Path(local)


def log_file(root: Path, local_path: str | Path, artifact_path: str | None) -> None:
    """Copy one local file into the run's folder (under ``artifact_path``), keeping its name."""
    source = local_source(local_path, "local_path")
    if not source.is_file():
        raise ArtifactNotFoundError(f"no file at {str(source)!r} to log as an artifact.")
    folder = safe_relative(artifact_path)
    target = folder / source.name
    handle, like = _open_source(source)
    with (
        handle,
        _os_errors("write", str(target)),
        _folder(root, folder.parts, str(target), create=True) as fd,
    ):
        assert fd is not None
        _write_file(fd, source.name, _chunks(handle), str(target), like)


def _tree(source: Path) -> tuple[list[tuple[str, ...]], list[tuple[tuple[str, ...], Path]]]:
    """(folders, files) below a local folder, links followed as a copy would, loops refused."""
    folders: list[tuple[str, ...]] = []
    files: list[tuple[tuple[str, ...], Path]] = []
    seen: set[Path] = set()

    def walk(folder: Path, rel: tuple[str, ...]) -> None:
        real = folder.resolve()
        if real in seen:
            raise InvalidValueError(
                f"local_dir has a link loop at {str(folder)!r}; remove the link and log again."
            )
        seen.add(real)
        folders.append(rel)
        for child in sorted(folder.iterdir()):
            if child.is_dir():
                walk(child, (*rel, child.name))
            elif child.is_file():
                if not os.access(child, os.R_OK):
                    raise ArtifactNotFoundError(
                        f"cannot read {str(child)!r} in local_dir; nothing was logged."
                    )
                files.append(((*rel, child.name), child))
            elif child.is_symlink():
                raise ArtifactNotFoundError(
                    f"{str(child)!r} in local_dir is a link to nothing; remove it or fix it."
                )
            # sockets, pipes and devices hold no file to copy
        seen.discard(real)

    walk(source, ())
    return folders, files


def log_dir(root: Path, local_dir: str | Path, artifact_path: str | None) -> int:
    """Copy a local folder's tree into the run's folder; returns how many files were copied.

    The whole tree is read and checked before anything is written.
    """
    source = local_source(local_dir, "local_dir")
    if not source.is_dir():
        raise ArtifactNotFoundError(f"no folder at {str(source)!r} to log as artifacts.")
    base = safe_relative(artifact_path)
    try:
        folders, files = _tree(source)
    except OSError as exc:
        raise ArtifactNotFoundError(
            f"cannot read the folder {str(source)!r} to log: {exc.strerror or exc}."
        ) from None
    by_folder: dict[tuple[str, ...], list[tuple[str, Path]]] = {rel: [] for rel in folders}
    for rel, path in files:
        safe_relative(str(base.joinpath(*rel)))
        by_folder[rel[:-1]].append((rel[-1], path))
    for rel, members in by_folder.items():
        parts = (*base.parts, *rel)
        shown = _shown(PurePosixPath(*parts))
        with _os_errors("write", shown), _folder(root, parts, shown, create=True) as fd:
            assert fd is not None
            for name, path in members:
                shown_file = str(PurePosixPath(*parts, name))
                handle, like = _open_source(path)
                with handle, _os_errors("write", shown_file):
                    _write_file(fd, name, _chunks(handle), shown_file, like)
    return len(files)


def write_bytes(root: Path, artifact_file: str, data: bytes) -> Path:
    """Write ``data`` as the artifact ``artifact_file`` (a relative file path)."""
    rel = safe_relative(artifact_file)
    if not rel.parts:
        raise ArtifactPathError("artifact_file must name a file, e.g. 'notes.txt'.")
    with _os_errors("write", str(rel)), _folder(root, rel.parts[:-1], str(rel), create=True) as fd:
        assert fd is not None
        _write_file(fd, rel.name, (data,), str(rel))
    return root.joinpath(*rel.parts)


def resolve(root: Path, path: str | None) -> Path:
    """``root/path``, refused when any existing part of it is a symbolic link.

    For reading in place (models, previews); readers that can take bytes use
    :func:`read_bytes`, which cannot be raced.
    """
    rel = safe_relative(path)
    with _os_errors("read", _shown(rel)):
        current = root
        for i, part in enumerate(rel.parts):
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                break
            if stat.S_ISLNK(mode):
                raise _refuse_link(root, rel.parts[: i + 1], _shown(rel))
    return root.joinpath(*rel.parts)


def _entries(fd: int, base: PurePosixPath) -> list[FileInfo]:
    out = []
    with os.scandir(fd) as found:
        for entry in found:
            if is_temporary(entry.name) or entry.is_symlink():
                continue
            rel = str(base / entry.name) if base.parts else entry.name
            if entry.is_dir(follow_symlinks=False):
                out.append(FileInfo(rel, True, None))
            elif entry.is_file(follow_symlinks=False):
                out.append(FileInfo(rel, False, entry.stat(follow_symlinks=False).st_size))
    return sorted(out, key=lambda f: f.path)


def list_files(root: Path, path: str | None) -> list[FileInfo]:
    """The files and folders directly in ``path`` (or ``[that file]``); [] when missing."""
    rel = safe_relative(path)
    shown = _shown(rel)
    with _os_errors("list", shown):
        if not rel.parts:
            with _folder(root, (), shown, create=False) as fd:
                return [] if fd is None else _entries(fd, rel)
        with _folder(root, rel.parts[:-1], shown, create=False) as parent:
            if parent is None:
                return []
            st = _stat_in(parent, rel.name)
            if st is None or is_temporary(rel.name):
                return []
            if stat.S_ISLNK(st.st_mode):
                raise _refuse_link(root, rel.parts, shown)
            if stat.S_ISREG(st.st_mode):
                return [FileInfo(str(rel), False, st.st_size)]
        with _folder(root, rel.parts, shown, create=False) as fd:
            return [] if fd is None else _entries(fd, rel)


def _stat_in(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _open_file(root: Path, dir_fd: int, rel: PurePosixPath) -> int:
    """A descriptor of a regular file in ``dir_fd``, opened without following a link."""
    shown = str(rel)
    try:
        fd = os.open(rel.name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        if _kind(dir_fd, rel.name) == stat.S_IFLNK:
            raise _refuse_link(root, rel.parts, shown) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ArtifactPathError(f"artifact {shown!r} is not a file; give the path of a file.")
    os.set_blocking(fd, True)
    return fd


def _read_fd(fd: int) -> Iterator[bytes]:
    while chunk := os.read(fd, _CHUNK):
        yield chunk


def read_bytes(root: Path, path: str) -> bytes:
    """The content of one artifact file, read without following any link."""
    rel = safe_relative(path)
    if not rel.parts:
        raise ArtifactPathError("give the path of an artifact file, e.g. 'notes.txt'.")
    with _os_errors("read", str(rel)), _folder(root, rel.parts[:-1], str(rel), create=False) as d:
        if d is None:
            raise ArtifactNotFoundError(
                f"no artifact {str(rel)!r} in this run; list them with list_artifacts(run_id)."
            )
        fd = _open_file(root, d, rel)
        try:
            return b"".join(_read_fd(fd))
        finally:
            os.close(fd)


def _copy_out(root: Path, dir_fd: int, rel: PurePosixPath, target: Path) -> None:
    """Copy the folder ``dir_fd`` to the local ``target``, skipping links and temporary files."""
    target.mkdir(parents=True, exist_ok=True)
    for info in _entries(dir_fd, rel):
        name = PurePosixPath(info.path).name
        if info.is_dir:
            child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                _copy_out(root, child, rel / name, target / name)
            finally:
                os.close(child)
        else:
            fd = _open_file(root, dir_fd, rel / name)
            try:
                with (target / name).open("wb") as out:
                    for chunk in _read_fd(fd):
                        out.write(chunk)
            finally:
                os.close(fd)


def download(root: Path, path: str, dst_path: str | Path | None) -> str:
    """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)."""
    import tempfile

    rel = safe_relative(path)
    shown = _shown(rel)
    missing = ArtifactNotFoundError(
        f"no artifact {path!r} in this run; list them with list_artifacts(run_id)."
    )
    with _os_errors("download", shown):
        parent_parts = rel.parts[:-1]
        with _folder(root, parent_parts, shown, create=False) as parent:
            if parent is None:
                raise missing
            st = _stat_in(parent, rel.name) if rel.parts else os.fstat(parent)
            if st is None or (rel.parts and is_temporary(rel.name)):
                raise missing
            if stat.S_ISLNK(st.st_mode):
                raise _refuse_link(root, rel.parts, shown)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise ArtifactPathError(f"artifact {shown!r} is neither a file nor a folder.")
            dst = (
                Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="carnet-"))
            )
            target = dst / (rel.name or root.name)
            if stat.S_ISREG(st.st_mode):
                fd = _open_file(root, parent, rel)
                try:
                    dst.mkdir(parents=True, exist_ok=True)
                    with target.open("wb") as out:
                        for chunk in _read_fd(fd):
                            out.write(chunk)
                finally:
                    os.close(fd)
                return str(target)
        with _folder(root, rel.parts, shown, create=False) as folder:
            if folder is None:
                raise missing
            _copy_out(root, folder, rel, target)
    return str(target)
