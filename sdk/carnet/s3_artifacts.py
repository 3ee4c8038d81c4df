"""Artifact files in an S3-compatible bucket: the same calls as :mod:`carnet.artifacts`.

A run whose artifact location is ``s3://bucket/prefix/<experiment>/<run>/artifacts``
(under the allowed S3 root, see :mod:`carnet.artifact_location`) keeps each file
as one object, its key the run's prefix plus the file's relative path. Paths are
checked as local ones are (:func:`carnet.artifacts.safe_relative`: no ``..``, no
absolute path, not even percent-encoded), so every key lies under the run's
prefix; keys another writer put in the bucket with ``..`` or empty names are
never listed or downloaded. Listings stop at :data:`MAX_LISTED` entries.

The bucket is reached through boto3 (``pip install 'carnet[s3]'``), at the endpoint
of ``CARNET_S3_ENDPOINT_URL``, else MLflow's ``MLFLOW_S3_ENDPOINT_URL``, else AWS;
credentials come from boto3's usual places (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, a profile, an instance role). Every failure of the
bucket (missing, credentials refused, endpoint unreachable) is a Carnet error
saying what to fix, never a botocore traceback.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from carnet import settings
from carnet.artifacts import local_source, safe_relative
from carnet.entities import FileInfo
from carnet.errors import (
    ArtifactNotFoundError,
    ArtifactPathError,
    CarnetError,
    ConfigurationError,
    InvalidValueError,
    StoreError,
)
from carnet.utils.s3_uri import S3Uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Most entries one listing (or one folder download) reads before it refuses.
MAX_LISTED = 100_000
_PAGE = 1000
_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "403",
        "Forbidden",
    }
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_clients: dict[tuple[str | None, ...], S3Client] = {}
_clients_lock = threading.Lock()


def endpoint_url() -> str | None:
    """The S3 endpoint: ``CARNET_S3_ENDPOINT_URL``, else ``MLFLOW_S3_ENDPOINT_URL``, else AWS."""
    return settings.S3_ENDPOINT_URL.get() or settings.MLFLOW_S3_ENDPOINT_URL.get()


def _where() -> str:
    endpoint = endpoint_url()
    return f"the S3 endpoint {endpoint}" if endpoint else "AWS S3"


def s3_client() -> S3Client:
    """A boto3 S3 client for the configured endpoint and credentials, made once per
    combination of them (boto3 clients are safe to share between threads)."""
    endpoint = endpoint_url()
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    key = (endpoint, region, *(os.environ.get(n) for n in names))
    with _clients_lock:
        found = _clients.get(key)
        if found is not None:
            return found
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ConfigurationError(
                "artifacts in an s3:// location need boto3: pip install 'carnet[s3]'."
            ) from None
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint else {},
        )
        with _boto_errors("connect to", ".", None):
            made = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name=region or ("us-east-1" if endpoint else None),
                config=config,
            )
        _clients[key] = made
        return made


def _translate(exc: BaseException, action: str, shown: str, bucket: str | None) -> CarnetError:
    """A botocore or boto3 error as the Carnet error that says what to fix."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, S3UploadFailedError) and exc.__context__ is not None:
        exc = exc.__context__
    where = _where()
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code == "NoSuchBucket":
            return StoreError(
                f"the bucket {bucket!r} does not exist at {where}; create it, or point "
                f"{settings.ARTIFACT_ROOT.name} at an existing bucket."
            )
        if code in _MISSING_CODES:
            return ArtifactNotFoundError(
                f"no artifact {shown!r} in this run; list them with list_artifacts(run_id)."
            )
        if code in _CREDENTIAL_CODES:
            return StoreError(
                f"{where} refused to {action} artifact {shown!r} in the bucket {bucket!r} "
                f"({code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS "
                "profile) and the bucket's policy."
            )
        message = str(error.get("Message", "")) or "no message"
        return StoreError(
            f"could not {action} artifact {shown!r} in the bucket {bucket!r}: {code} ({message})."
        )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ConfigurationError(
            f"no S3 credentials to {action} artifact {shown!r}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or an AWS profile) for the process that logs or reads."
        )
    if isinstance(exc, NoRegionError):
        return ConfigurationError(
            "S3 needs a region: set AWS_DEFAULT_REGION, or CARNET_S3_ENDPOINT_URL for an "
            "S3-compatible server."
        )
    if isinstance(
        exc,
        (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError),
    ):
        return StoreError(
            f"cannot reach {where} to {action} artifact {shown!r}: check "
            f"{settings.S3_ENDPOINT_URL.name} (or MLFLOW_S3_ENDPOINT_URL) and that the server "
            "is up."
        )
    return StoreError(f"could not {action} artifact {shown!r} in S3: {type(exc).__name__}.")


@contextmanager
def _boto_errors(action: str, shown: str, bucket: str | None) -> Iterator[None]:
    """botocore's and boto3's errors as Carnet errors (raised without the chain)."""
    try:
        yield
    except CarnetError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        if not module.startswith(("botocore", "boto3")):
            raise
        raise _translate(exc, action, shown, bucket) from None


def checked_path(path: str | None) -> PurePosixPath:
    """A relative path below the run's prefix; decoded percent-escapes are checked too."""
    rel = safe_relative(path)
    if path and "%" in path:
        safe_relative(unquote(path))  # '%2e%2e/x' is refused as '../x' is
    return rel


def _key(root: S3Uri, rel: PurePosixPath) -> str:
    return "/".join((*root.parts, *rel.parts))


def _prefix(root: S3Uri, rel: PurePosixPath) -> str:
    key = _key(root, rel)
    return f"{key}/" if key else ""


def _shown(rel: PurePosixPath) -> str:
    return str(rel) if rel.parts else "."


def _plain(names: list[str]) -> bool:
    """Whether every name of a key below a prefix is a plain name (no '', '.', '..')."""
    return all(n not in ("", ".", "..") and "\\" not in n for n in names)


def write_bytes(root: S3Uri, artifact_file: str, data: bytes) -> None:
    """Write ``data`` as the artifact ``artifact_file`` (one object, written whole)."""
    rel = checked_path(artifact_file)
    if not rel.parts:
        raise ArtifactPathError("artifact_file must name a file, e.g. 'notes.txt'.")
    client = s3_client()
    with _boto_errors("write", str(rel), root.bucket):
        client.put_object(Bucket=root.bucket, Key=_key(root, rel), Body=data)


def log_file(root: S3Uri, local_path: str | Path, artifact_path: str | None) -> None:
    """Upload one local file under ``artifact_path``, keeping its name (multipart when big)."""
    source = local_source(local_path, "local_path")
    if not source.is_file():
        raise ArtifactNotFoundError(f"no file at {str(source)!r} to log as an artifact.")
    rel = checked_path(artifact_path) / source.name
    checked_path(str(rel))
    client = s3_client()
    with _boto_errors("write", str(rel), root.bucket):
        client.upload_file(str(source), root.bucket, _key(root, rel))


def _tree(source: Path) -> list[tuple[PurePosixPath, Path]]:
    """Every file below a local folder (links followed as a copy would, loops refused)."""
    found: list[tuple[PurePosixPath, Path]] = []
    seen: set[str] = set()
    for folder, dirs, files in os.walk(source, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            raise InvalidValueError(
                f"local_dir has a link loop at {folder!r}; remove the link and log again."
            )
        seen.add(real)
        dirs.sort()
        base = PurePosixPath(Path(folder).relative_to(source).as_posix())
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                if not os.access(path, os.R_OK):
                    raise ArtifactNotFoundError(
                        f"cannot read {str(path)!r} in local_dir; nothing was logged."
                    )
                found.append((base / name, path))
    return found


def log_dir(root: S3Uri, local_dir: str | Path, artifact_path: str | None) -> int:
    """Upload a local folder's tree under ``artifact_path``; returns how many files.

    Every path is checked before anything is uploaded.
    """
    source = local_source(local_dir, "local_dir")
    if not source.is_dir():
        raise ArtifactNotFoundError(f"no folder at {str(source)!r} to log as artifacts.")
    base = checked_path(artifact_path)
    files = [(checked_path(str(base / rel)), path) for rel, path in _tree(source)]
    client = s3_client()
    for rel, path in files:
        with _boto_errors("write", str(rel), root.bucket):
            client.upload_file(str(path), root.bucket, _key(root, rel))
    return len(files)


def _pages(client: S3Client, root: S3Uri, prefix: str, shown: str, **extra: Any) -> Iterator[Any]:
    """The pages of one listing below ``prefix``, refused past :data:`MAX_LISTED` entries."""
    seen = 0
    paginator = client.get_paginator("list_objects_v2")
    with _boto_errors("list", shown, root.bucket):
        for page in paginator.paginate(
            Bucket=root.bucket, Prefix=prefix, PaginationConfig={"PageSize": _PAGE}, **extra
        ):
            seen += len(page.get("Contents", ())) + len(page.get("CommonPrefixes", ()))
            if seen > MAX_LISTED:
                raise StoreError(
                    f"artifact folder {shown!r} holds more than {MAX_LISTED} entries; list or "
                    "download one of its subfolders instead."
                )
            yield page


def _head(client: S3Client, root: S3Uri, rel: PurePosixPath) -> int | None:
    """The size of the object at ``rel``, or None when there is none."""
    try:
        with _boto_errors("read", str(rel), root.bucket):
            head = client.head_object(Bucket=root.bucket, Key=_key(root, rel))
            return int(head["ContentLength"])
    except ArtifactNotFoundError:
        return None


def list_files(root: S3Uri, path: str | None) -> list[FileInfo]:
    """The files and folders directly in ``path`` (or ``[that file]``); [] when missing."""
    rel = checked_path(path)
    shown = _shown(rel)
    client = s3_client()
    prefix = _prefix(root, rel)
    out: list[FileInfo] = []
    for page in _pages(client, root, prefix, shown, Delimiter="/"):
        for common in page.get("CommonPrefixes", ()):
            name = str(common.get("Prefix", ""))[len(prefix) :].rstrip("/")
            if _plain([name]):
                out.append(FileInfo(str(rel / name), True, None))
        for item in page.get("Contents", ()):
            name = str(item.get("Key", ""))[len(prefix) :]
            if _plain([name]):
                out.append(FileInfo(str(rel / name), False, int(item.get("Size", 0))))
    if not out and rel.parts:
        size = _head(client, root, rel)
        if size is not None:
            return [FileInfo(str(rel), False, size)]
    return sorted(out, key=lambda f: f.path)


def read_bytes(root: S3Uri, path: str) -> bytes:
    """The content of one artifact file."""
    rel = checked_path(path)
    if not rel.parts:
        raise ArtifactPathError("give the path of an artifact file, e.g. 'notes.txt'.")
    client = s3_client()
    with _boto_errors("read", str(rel), root.bucket):
        body = client.get_object(Bucket=root.bucket, Key=_key(root, rel))["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()


def download(root: S3Uri, path: str, dst_path: str | Path | None) -> str:
    """Copy an artifact file or folder to ``dst_path`` (a new temporary folder if None)."""
    rel = checked_path(path)
    shown = _shown(rel)
    client = s3_client()
    dst = Path(dst_path) if dst_path is not None else None
    name = rel.name or (root.parts[-1] if root.parts else root.bucket)
    if rel.parts and _head(client, root, rel) is not None:
        folder = dst or Path(tempfile.mkdtemp(prefix="carnet-"))
        folder.mkdir(parents=True, exist_ok=True)
        with _boto_errors("download", shown, root.bucket):
            client.download_file(root.bucket, _key(root, rel), str(folder / name))
        return str(folder / name)
    prefix = _prefix(root, rel)
    keys: list[tuple[str, list[str]]] = []
    for page in _pages(client, root, prefix, shown):
        for item in page.get("Contents", ()):
            key = str(item.get("Key", ""))
            names = key[len(prefix) :].split("/")
            if _plain(names):
                keys.append((key, names))
    if not keys:
        raise ArtifactNotFoundError(
            f"no artifact {path!r} in this run; list them with list_artifacts(run_id)."
        )
    target = (dst or Path(tempfile.mkdtemp(prefix="carnet-"))) / name
    target.mkdir(parents=True, exist_ok=True)
    for key, names in keys:
        local = target.joinpath(*names)
        local.parent.mkdir(parents=True, exist_ok=True)
        with _boto_errors("download", "/".join((*rel.parts, *names)), root.bucket):
            client.download_file(root.bucket, key, str(local))
    return str(target)


__all__ = [
    "MAX_LISTED",
    "checked_path",
    "download",
    "endpoint_url",
    "list_files",
    "log_dir",
    "log_file",
    "read_bytes",
    "s3_client",
    "write_bytes",
]
