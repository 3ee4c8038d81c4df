"""The scoring server: a Starlette app over one loaded model, run by uvicorn.

``POST /invocations`` answers predictions; ``GET /ping`` and ``/health`` answer
200 once the model is loaded (the app is built only after it is), ``/version``
Carnet's version. The body's size is checked against its Content-Length and
again while it streams in, so an oversized body is refused before it is held
in memory. Small bodies are scored on the event loop (a thread hop costs more
than the prediction); large ones in a worker thread, so ``/ping`` keeps
answering while they run.

With ``--workers N`` uvicorn starts N processes, each building the app from
:data:`~carnet.settings.SCORING_MODEL_PATH` (:func:`app_from_environment`).
"""

from __future__ import annotations

import gc
import logging
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from carnet import settings
from carnet.errors import ConfigurationError
from carnet.pyfunc import PyFuncModel, load_model
from carnet.scoring.errors import INTERNAL_ERROR, JSON_TYPE, ScoringError, error_body
from carnet.scoring.invocations import Scorer
from carnet.scoring.parsing import media_type

logger = logging.getLogger("carnet.scoring")
#: Bodies up to this size are scored on the event loop, larger ones in a thread.
INLINE_BYTES = 256 * 1024
MB = 1024 * 1024


def carnet_version() -> str:
    """The installed Carnet's version (what ``/version`` answers)."""
    try:
        return metadata.version("carnet")
    except metadata.PackageNotFoundError:
        return "unknown"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ScoringError:
    return ScoringError(
        f"The request body is larger than {limit // MB} MB, the most this server reads "
        "(CARNET_SCORING_MAX_BODY_MB); send fewer rows per request.",
        status=413,
        error_code="INVALID_PARAMETER_VALUE",
    )


def create_app(model: PyFuncModel, *, max_body_bytes: int, max_rows: int) -> Starlette:
    """The scoring app of a loaded model.

    Everything loaded so far (the model, pandas, scikit-learn) is moved out of the
    garbage collector's reach (:func:`gc.freeze`): it lives as long as the process,
    and a full collection walking it would stall a request for milliseconds.
    """
    scorer = Scorer.of(model, max_rows)
    version = carnet_version().encode()
    gc.collect()
    gc.freeze()

    async def invocations(request: Request) -> Response:
        try:
            mime = media_type(request.headers.get("content-type"))
            body = await read_body(request, max_body_bytes)
            if len(body) <= INLINE_BYTES:
                answer = scorer.answer(body, mime)
            else:
                answer = await run_in_threadpool(scorer.answer, body, mime)
        except ScoringError as exc:
            return Response(exc.body(), status_code=exc.status, media_type=JSON_TYPE)
        except Exception as exc:  # a defect here: logged with its traceback, never sent
            logger.error("unexpected error while scoring a request", exc_info=exc)
            body = error_body(
                INTERNAL_ERROR, "the server failed to score this request; its log has the details."
            )
            return Response(body, status_code=500, media_type=JSON_TYPE)
        return Response(answer, media_type=JSON_TYPE)

    async def ping(request: Request) -> Response:
        return Response(b"\n", media_type=JSON_TYPE)

    async def version_info(request: Request) -> Response:
        return Response(version, media_type=JSON_TYPE)

    return Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/version", version_info, methods=["GET"]),
        ]
    )


def load_app(folder: str | Path) -> Starlette:
    """The app of the model in ``folder``, with the bounds of the environment's settings."""
    return create_app(
        load_model(folder),
        max_body_bytes=settings.SCORING_MAX_BODY_MB.get() * MB,
        max_rows=settings.SCORING_MAX_ROWS.get(),
    )


def app_from_environment() -> Starlette:
    """The app of one worker process, from the model folder its parent put in the
    environment."""
    folder = settings.SCORING_MODEL_PATH.get()
    if not folder:
        raise ConfigurationError(
            f"{settings.SCORING_MODEL_PATH.name} is not set; start the server with "
            "`carnet models serve`."
        )
    return load_app(folder)


def serve(
    folder: Path,
    *,
    host: str,
    port: int,
    workers: int = 1,
    access_log: bool = False,
    app: Starlette | None = None,
) -> None:
    """Serve the model in ``folder`` until stopped (Ctrl+C or SIGTERM); ``app`` is its
    app when the caller has loaded it already (one worker)."""
    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        os.environ[settings.SCORING_MODEL_PATH.name] = str(folder)
        uvicorn.run(
            "carnet.scoring.app:app_from_environment", factory=True, workers=workers, **options
        )
    else:
        uvicorn.run(app if app is not None else load_app(folder), **options)
