"""The API's own way in: API paths are answered by the API's routes, ahead of the dashboard.

``st.App`` runs the middleware it is given before Streamlit's own (path
security, sessions, gzip), which exist for the dashboard's pages, websocket
and static files. An API request needs none of them, and passing through them
cost about a third of the server's time per request, so :class:`ApiFront`
hands ``/api/...``, ``/ajax-api/...`` and ``/health`` straight to the API's
Starlette routes and everything else on to Streamlit.

It also refuses API paths that could escape a folder (``..`` segments, NUL, a
leading ``//``) with MLflow's JSON 400, where Streamlit's own check would
answer plain text. The artifact routes check their paths again (percent-encoded
forms included), so this is a courtesy, not the only lock.

Routes whose path has no parameters are found by one dictionary lookup; the
rest (artifact paths, the 501 answer for anything else under a root) by the
Starlette router, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from carnet.server.errors import error_response

#: Paths below these are MLflow's API, served by Carnet's routes.
API_PREFIXES = ("/api/", "/ajax-api/")
#: Paths outside the API roots that the API's routes also answer.
API_PATHS = frozenset({"/health"})


def unsafe(path: str) -> bool:
    """Whether a (decoded) request path holds a NUL, a ``..`` segment or a leading ``//``."""
    return "\x00" in path or path.startswith("//") or ".." in path.replace("\\", "/").split("/")


class ApiFront:
    """ASGI middleware answering API paths with the API's routes, and passing every other
    path on to the app it wraps (the dashboard)."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        #: Routes without path parameters (all methods go to one dispatcher), by path.
        self.exact = {
            route.path: route
            for route in routes
            if isinstance(route, Route) and not route.param_convertors
        }
        self.router = Router(routes=list(routes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an API path here; pass everything else on untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(API_PREFIXES) and path not in API_PATHS:
            await self.app(scope, receive, send)
            return
        if unsafe(path):
            response = error_response(
                400,
                "INVALID_PARAMETER_VALUE",
                "The request path contains '..' or a NUL character; artifact paths must stay "
                "inside the run's artifact folder.",
            )
            await response(scope, receive, send)
            return
        route = self.exact.get(path)
        if route is None:
            await self.router(scope, receive, send)
            return
        scope["path_params"] = {}
        await route.handle(scope, receive, send)
