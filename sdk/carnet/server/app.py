"""Assembly: Streamlit's ASGI app serving the dashboard at ``/``, the API routes in front,
all on one uvicorn server.

``st.App(script, middleware=...)`` runs the middleware given to it before
Streamlit's own: :class:`~carnet.server.guard.ApiFront` answers ``/health``,
``/api/...`` and ``/ajax-api/...`` with the API's Starlette routes, and every
other path (the dashboard's page, its websocket and static files) goes on to
Streamlit. Under ``/api`` and ``/ajax-api`` an endpoint Carnet does not serve
answers 501 in MLflow's JSON rather than falling through to the dashboard.

:func:`serve` runs it: one process, or several workers on PostgreSQL (each
worker rebuilds the app from the environment with :func:`app_from_environment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from carnet.client import Client
from carnet.errors import DeletedError
from carnet.server import artifacts, environments, logged_models, registry, tracking
from carnet.server.auth import Authenticator, load
from carnet.server.endpoints import (
    ALL_METHODS,
    ANY_METHOD,
    Context,
    Endpoint,
    ServerState,
    dispatcher,
)
from carnet.server.errors import not_served
from carnet.server.guard import ApiFront
from carnet.server.keepalive import keep_alive
from carnet.server.settings import ENV_SETTINGS, ServerSettings
from carnet.server.writes import BlockingCalls

logger = logging.getLogger("carnet.server")

#: Where MLflow's API lives on the port (both spellings MLflow's server answers).
API_ROOTS = ("/api", "/ajax-api")
#: Streamlit settings for a server: no browser to open, no usage statistics sent, no
#: reloading when files change, and a viewer sees an error's type, never its traceback.
STREAMLIT_ENV = {
    "STREAMLIT_SERVER_HEADLESS": "true",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
    "STREAMLIT_SERVER_RUN_ON_SAVE": "false",
    "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS": "type",
}
#: Defaults an operator may override in the environment.
STREAMLIT_DEFAULTS = {"STREAMLIT_CLIENT_TOOLBAR_MODE": "minimal"}
_DEFAULT_EXPERIMENT = "Default"


async def health(request: Request) -> Response:
    """``OK`` while the server is up (for load balancers and container health checks)."""
    return PlainTextResponse("OK")


async def _not_served(request: Request, ctx: Context) -> Response:
    raise not_served(f"{request.method} {request.url.path}")


_NOT_SERVED = Endpoint(ANY_METHOD, "", _not_served)


def _hidden_strings(settings: ServerSettings) -> tuple[str, ...]:
    """Server-side locations that must never appear in a message sent to a client."""
    hide = {str(settings.artifact_root), settings.uri}
    if settings.scratch_folder is not None:
        hide.add(os.path.realpath(settings.scratch_folder))
    if settings.uri.startswith("sqlite:///"):
        store = Path(settings.uri[len("sqlite:///") :])
        hide.update({str(store), str(store.parent), os.path.realpath(store.parent)})
    # Longest first, so a folder's path is not cut out of its child's before the child is.
    return tuple(sorted((h for h in hide if len(h) > 1), key=len, reverse=True))


def open_state(settings: ServerSettings) -> ServerState:
    """The store, the credentials and the write path the handlers share."""
    auth = load(settings.auth_file) if settings.auth_file is not None else Authenticator()
    client = Client(settings.uri)
    # Group commit on SQLite: the SQL store's write_group (the REST store has none).
    group = getattr(client.store, "write_group", None) if settings.single_writer else None
    return ServerState(
        settings=settings,
        client=client,
        auth=auth,
        calls=BlockingCalls(single_writer=settings.single_writer, group=group),
        hide=_hidden_strings(settings),
    )


def api_routes(state: ServerState) -> list[BaseRoute]:
    """Every API route, under both roots, then a 501 for the rest of each root."""
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in [
        *tracking.ENDPOINTS,
        *logged_models.ENDPOINTS,
        *artifacts.ENDPOINTS,
        *registry.ENDPOINTS,
        *environments.ENDPOINTS,
    ]:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    routes: list[BaseRoute] = []
    for root in API_ROOTS:
        for path, endpoints in by_path.items():
            routes.append(Route(root + path, dispatcher(state, endpoints), methods=ALL_METHODS))
        routes.append(
            Route(root + "/{rest:path}", dispatcher(state, [_NOT_SERVED]), methods=ALL_METHODS)
        )
    return routes


def warm_up() -> None:
    """Import what the dashboard's first page needs, so its first viewer does not wait;
    then leave everything imported so far out of the garbage collector's full passes.

    The server's modules (Streamlit, pandas, Altair, SQLAlchemy) are a few hundred
    thousand objects that live as long as the process. Scanning them made each of
    Python's occasional full collections a 30-130 ms pause in the middle of a request
    (the p99 of parallel log-batch writers); frozen (``gc.freeze``), they are skipped.
    """
    for module in ("pandas", "altair", "dashboard.app"):
        try:
            importlib.import_module(module)
        except Exception:  # the dashboard will show its own error; the API still serves
            logger.warning("could not import %s ahead of the first page", module, exc_info=True)
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()


def create_app(settings: ServerSettings, state: ServerState | None = None) -> Any:
    """The ASGI app: the API routes and ``/health`` in front of the dashboard."""
    import streamlit as st

    configure_logging()
    shared = state if state is not None else open_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # Here, after uvicorn has configured its loggers: Streamlit gives uvicorn's access
        # log a handler of its own, so uvicorn's access_log=False alone does not silence it.
        logging.getLogger("uvicorn.access").disabled = not settings.access_log
        warm_up()
        beating = asyncio.create_task(keep_alive(shared))
        try:
            yield
        finally:
            beating.cancel()
            shared.calls.close()

    routes = [Route("/health", health, methods=["GET", "HEAD"]), *api_routes(shared)]
    return st.App(
        settings.dashboard_script,
        middleware=[Middleware(ApiFront, routes=routes)],
        lifespan=lifespan,
    )


def app_from_environment() -> Any:
    """The app of one worker process, from the settings its parent put in the environment."""
    return create_app(ServerSettings.from_env())


def configure_logging() -> None:
    """Send the server's own log lines (errors with their tracebacks) to stderr."""
    server_logger = logging.getLogger("carnet.server")
    if not server_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     carnet.server: %(message)s"))
        server_logger.addHandler(handler)
        server_logger.setLevel(logging.INFO)
        server_logger.propagate = False


def prepare_environment(settings: ServerSettings) -> None:
    """Point this process (and the workers it starts) at the store and artifact folder,
    and configure Streamlit for serving."""
    os.environ["CARNET_TRACKING_URI"] = settings.uri
    os.environ["CARNET_ARTIFACT_ROOT"] = str(settings.artifact_root)
    os.environ[ENV_SETTINGS] = settings.to_env()
    os.environ.update(STREAMLIT_ENV)
    for key, value in STREAMLIT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # The dashboard reads its store from the environment; it gets no command-line arguments.
    sys.argv = [str(settings.dashboard_script)]


def prepare_store(settings: ServerSettings) -> None:
    """Open the store once before serving (a store that cannot be used stops the start)
    and make sure MLflow's "Default" experiment (id 0) exists, as MLflow's server does:
    MLflow's client logs there when no experiment is set."""
    import carnet

    if settings.scratch_folder is not None:
        settings.scratch_folder.mkdir(parents=True, exist_ok=True)
    carnet.set_tracking_uri(settings.uri)
    try:
        carnet.set_experiment(_DEFAULT_EXPERIMENT)
    except DeletedError:
        logger.warning(
            "the %r experiment is deleted: MLflow clients that set no experiment will get "
            "'not found' until it is restored",
            _DEFAULT_EXPERIMENT,
        )


def serve(
    settings: ServerSettings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    ssl_keyfile: str | None = None,
    ssl_certfile: str | None = None,
) -> None:
    """Run the server until it is stopped (Ctrl+C or SIGTERM)."""
    import uvicorn

    prepare_environment(settings)
    configure_logging()
    prepare_store(settings)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "ssl_keyfile": ssl_keyfile,
        "ssl_certfile": ssl_certfile,
        "access_log": settings.access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        uvicorn.run(
            "carnet.server.app:app_from_environment", factory=True, workers=workers, **options
        )
    else:
        uvicorn.run(create_app(settings), **options)
