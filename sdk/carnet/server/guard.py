"""A first look at API paths: one that could escape a folder is refused in MLflow's JSON.

Streamlit's app refuses request paths with ``..`` segments, NUL or a leading
``//`` itself, answering a plain-text 400. An MLflow client expects JSON, so
this middleware, which runs before Streamlit's, answers such API paths first
with ``INVALID_PARAMETER_VALUE``. The artifact routes check their paths again
(percent-encoded forms included), so this is a courtesy, not the only lock.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from carnet.server.errors import error_response

#: Paths below these are MLflow's API, served by Carnet's routes.
API_PREFIXES = ("/api/", "/ajax-api/")


def unsafe(path: str) -> bool:
    """Whether a (decoded) request path holds a NUL, a ``..`` segment or a leading ``//``."""
    return "\x00" in path or path.startswith("//") or ".." in path.replace("\\", "/").split("/")


class ApiPathGuard:
    """ASGI middleware answering unsafe API paths with MLflow's JSON 400."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an unsafe API path; pass everything else on untouched."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(API_PREFIXES) and unsafe(path):
            response = error_response(
                400,
                "INVALID_PARAMETER_VALUE",
                "The request path contains '..' or a NUL character; artifact paths must stay "
                "inside the run's artifact folder.",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
