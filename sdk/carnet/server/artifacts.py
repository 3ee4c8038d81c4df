"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts/artifacts/...``): upload, download, list.

Runs are handed out with ``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``
as their artifact URI (:mod:`carnet.server.wire`), so MLflow's client sends

- ``PUT  .../artifacts/<experiment_id>/<run_id>/artifacts/<path>`` to upload a file,
- ``GET  .../artifacts/<experiment_id>/<run_id>/artifacts/<path>`` to download one,
- ``GET  .../artifacts?path=<experiment_id>/<run_id>/artifacts[/<folder>]`` to list.

A logged model's files (MLflow 3) are addressed the same way at the model's
location, ``<experiment_id>/models/<model_id>/artifacts/<path>``
(:func:`carnet.server.logged_models.model_location`), and handed to the model's
artifact methods on ``Client``, confined to the model's folder.

Each path is checked (:func:`carnet.server.parsing.checked_path`: no ``..``,
no absolute path, not even percent-encoded), mapped to its run, and handed to
the run's own artifact methods on ``Client``, which keep every file inside the
run's folder and never follow a link. Nothing outside a run's artifacts is
served. Uploads are streamed to a temporary file beside the artifacts (never
held in memory) up to the server's upload limit, then logged to the run. When
the artifact root is an S3 bucket (``--artifacts s3://bucket/prefix``), the
temporary files go to the system's temporary folder and ``Client`` moves each
file to and from the bucket: MLflow's clients need no bucket credentials.

Downloads go out as ``application/octet-stream`` attachments that a browser
will not render: an uploaded HTML or SVG file cannot run script on the
dashboard's origin.
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from carnet.entities import FileInfo
from carnet.server import wire
from carnet.server.endpoints import Context, Endpoint, json_endpoint, json_response
from carnet.server.errors import ApiError, invalid, not_found, not_served
from carnet.server.parsing import Fields, checked_path

#: Files up to this size are read into memory and sent; larger ones are copied out and streamed.
INLINE_BYTES = 8 * 1024 * 1024
_WRITE_CHUNK = 1024 * 1024
_LAYOUT = "<experiment_id>/<run_id>/artifacts/<path>"


def _run_path(path: str) -> tuple[str, str, str]:
    """``<experiment_id>/<run_id>/artifacts[/<rest>]`` -> (experiment_id, run_id, rest)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[0] or not parts[1]:
        raise not_found(
            f"No artifacts at {path[:200]!r}: this server keeps run artifacts only, at {_LAYOUT}."
        )
    rest = "/".join(p for p in parts[3:] if p and p != ".")
    return parts[0], parts[1], rest


@dataclass(frozen=True)
class _Files:
    """The artifact methods of one run or one logged model, on ``Client``."""

    label: str
    list: Callable[[str | None], list[FileInfo]]
    read: Callable[[str], bytes]
    download: Callable[[str, str], str]
    log: Callable[[Path, str | None], None]


async def _files_of(ctx: Context, path: str) -> tuple[_Files, str]:
    """Whose files a proxy path names (a run's, or a logged model's), checked to exist in
    the experiment the path names, and the path below their root."""
    parts = path.split("/")
    c = ctx.client
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        experiment_id, model_id = parts[0], parts[2]
        model = await ctx.read(lambda: c.get_logged_model(model_id))
        if model.experiment_id != experiment_id:
            raise not_found(f"Model '{model_id}' is not in experiment '{experiment_id}'.")
        rest = "/".join(p for p in parts[4:] if p and p != ".")
        files = _Files(
            f"logged model '{model_id}'",
            partial(c.list_logged_model_artifacts, model_id),
            partial(c.read_logged_model_artifact, model_id),
            partial(c.download_logged_model_artifacts, model_id),
            partial(c.log_model_artifact, model_id),
        )
        return files, rest
    experiment_id, run_id, rest = _run_path(path)
    run = await ctx.read(lambda: c.get_run(run_id))
    if run.info.experiment_id != experiment_id:
        raise not_found(f"Run '{run_id}' is not in experiment '{experiment_id}'.")
    files = _Files(
        f"run '{run_id}'",
        partial(c.list_artifacts, run_id),
        partial(c.read_artifact, run_id),
        partial(c.download_artifacts, run_id),
        partial(c.log_artifact, run_id),
    )
    return files, rest


async def list_artifacts(f: Fields, ctx: Context) -> dict[str, Any]:
    """The files and folders directly in a run's (or model's) folder (names relative to it)."""
    owner, rest = await _files_of(ctx, checked_path(f.string("path") or ""))
    files = await ctx.files(lambda: owner.list(rest or None))
    return {"files": [wire.file_info(i, posixpath.basename(i.path)) for i in files]}


def _file_entry(files: list[FileInfo], rest: str) -> FileInfo | None:
    """The file ``rest`` names, from a listing of it (a folder lists its content instead)."""
    if len(files) == 1 and not files[0].is_dir and files[0].path.strip("/") == rest:
        return files[0]
    return None


def _download_headers(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


async def download(request: Request, ctx: Context) -> Response:
    """One artifact file, as bytes."""
    owner, rest = await _files_of(ctx, checked_path(request.path_params["artifact_path"]))
    if not rest:
        raise invalid(f"Name a file to download: {_LAYOUT}.")
    entry = _file_entry(await ctx.files(lambda: owner.list(rest)), rest)
    if entry is None:
        raise not_found(
            f"No artifact file '{rest}' in {owner.label} (a folder is listed, not downloaded)."
        )
    headers = _download_headers(posixpath.basename(rest))
    media = "application/octet-stream"
    if entry.file_size is not None and entry.file_size <= INLINE_BYTES:
        data = await ctx.files(lambda: owner.read(rest))
        return Response(data, media_type=media, headers=headers)
    folder = tempfile.mkdtemp(prefix=".carnet-download-", dir=ctx.settings.scratch_folder)
    try:
        local = await ctx.files(lambda: owner.download(rest, folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        local,
        media_type=media,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


async def _receive_to(request: Request, target: Path, limit: int, ctx: Context) -> None:
    """Stream the request body into ``target``, refusing it (413) past ``limit`` bytes."""
    too_large = ApiError(
        "INVALID_PARAMETER_VALUE",
        f"The upload is larger than this server's limit of {limit} bytes "
        "(carnet server --max-upload-mb).",
        status=413,
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= _WRITE_CHUNK:
                await ctx.files(partial(out.write, b"".join(pending)))
                pending, pending_size = [], 0
        if pending:
            await ctx.files(partial(out.write, b"".join(pending)))


async def upload(request: Request, ctx: Context) -> Response:
    """Store the request body as one artifact file of a run (or of a logged model)."""
    owner, rest = await _files_of(ctx, checked_path(request.path_params["artifact_path"]))
    name = posixpath.basename(rest)
    if not name:
        raise invalid(f"Name the file to upload: {_LAYOUT}.")
    folder = tempfile.mkdtemp(prefix=".carnet-upload-", dir=ctx.settings.scratch_folder)
    try:
        local = Path(folder) / name
        await _receive_to(request, local, ctx.settings.max_upload_bytes, ctx)
        parent = posixpath.dirname(rest) or None
        await ctx.files(lambda: owner.log(local, parent))
    finally:
        await ctx.files(lambda: shutil.rmtree(folder, ignore_errors=True))
    return json_response({})


async def delete(request: Request, ctx: Context) -> Response:
    """Deleting artifacts is MLflow's, not Carnet's (``carnet gc`` removes deleted runs')."""
    raise not_served("DELETE /api/2.0/mlflow-artifacts/artifacts")


_ROOT = "/2.0/mlflow-artifacts/artifacts"

ENDPOINTS = [
    Endpoint("GET", _ROOT, json_endpoint(list_artifacts)),
    Endpoint("GET", _ROOT + "/{artifact_path:path}", download),
    Endpoint("PUT", _ROOT + "/{artifact_path:path}", upload, write=True),
    Endpoint("DELETE", _ROOT + "/{artifact_path:path}", delete, write=True),
]
