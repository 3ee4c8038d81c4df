"""``carnet ui``'s server: Streamlit's ASGI app (``st.App``) around ``dashboard/app.py``.

``carnet ui`` runs ``python -m dashboard.serve run <app.py> --server.port ...
-- --db URI``. On top of a plain ``streamlit run``, this server

- imports what the first script run needs (pandas, Altair, SQLAlchemy, the
  dashboard's modules) in its start-up hook: after Streamlit's runtime exists,
  so the dashboard's caches attach to it quietly, and before the port accepts
  anyone, so the first visitor waits no longer than later ones;
- with a shared password, serves a small sign-in page at :data:`SIGN_IN_PATH`.
  It checks the password and answers with an HttpOnly, SameSite=Lax session
  cookie (see ``auth``) and a redirect back to the link the viewer opened,
  query string and all. Every other request (pages, the app's websocket,
  media, uploads) without a valid cookie is sent there, or refused, by
  :class:`SignInRequired`; only the health check stays open;
- shows a viewer the type of an unexpected error, never its message or
  traceback (those go to this terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard import auth

SIGN_IN_PATH = "/carnet/sign-in"
OPEN_PATHS = frozenset({SIGN_IN_PATH, "/_stcore/health"})
#: Requests under these answer 401 without a session; any other GET is a page to sign in for.
_API_PREFIXES = ("/_stcore/", "/media/", "/component/", "/static/", "/app/static/")
_MAX_FORM_BYTES = 4096
_WRONG_PASSWORD_DELAY_S = 1.0  # slows guessing down; the shared password is the only lock


def _flag(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise SystemExit(f"dashboard.serve: expected true or false, got {text!r}")


#: The Streamlit settings ``carnet ui`` passes, with their types.
SETTINGS: dict[str, Callable[[str], Any]] = {
    "server.address": str,
    "server.port": int,
    "server.headless": _flag,
    "browser.gatherUsageStats": _flag,
    "client.toolbarMode": str,
    "client.showErrorDetails": str,
}
DEFAULT_SETTINGS: dict[str, Any] = {"client.showErrorDetails": "type"}


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this server, else the front page.

    Refuses anything a browser could read as another host (``//host``,
    ``/\\host``, a scheme) so the sign-in page is no open redirect.
    """
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\", SIGN_IN_PATH))
        or "\\" in target
        or len(target) > 4000
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return "/"
    return target


def sign_in_url(scope: Scope) -> str:
    """The sign-in page, told to come back to the page (and query) asked for."""
    query = scope.get("query_string", b"").decode("latin-1")
    here = scope["path"] + (f"?{query}" if query else "")
    return f"{SIGN_IN_PATH}?next={quote(here, safe='')}"


class SignInRequired:
    """ASGI middleware: with a shared password, no session cookie, no dashboard.

    Pages redirect to the sign-in page (keeping the link), the app's websocket is
    closed before it opens, anything else answers 401. Without a password, or
    with OIDC sign-in (which Streamlit handles itself), every request passes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope["path"] in OPEN_PATHS or signed_in(scope):
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            await refusal(scope)(scope, receive, send)


def signed_in(scope: Scope) -> bool:
    """Whether this request may reach the dashboard (a valid session cookie, or no password)."""
    if auth.secrets_unreadable():
        return False
    password = auth.configured_password()
    if password is None or auth.oidc_configured():
        return True
    return auth.token_valid(HTTPConnection(scope).cookies.get(auth.cookie_name()), password)


def refusal(scope: Scope) -> Response:
    """What a request without a session gets: pages go to the sign-in page."""
    if auth.secrets_unreadable():
        return PlainTextResponse(auth.SECRETS_UNREADABLE, status_code=503)
    if scope["method"] in ("GET", "HEAD") and not scope["path"].startswith(_API_PREFIXES):
        return RedirectResponse(sign_in_url(scope), status_code=303)
    return PlainTextResponse("Sign in first.", status_code=401)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form body (the sign-in form), read up to a few kilobytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    return {key: values[-1] for key, values in fields.items()}


def sign_in_page(next_path: str, *, wrong: bool = False) -> HTMLResponse:
    """The sign-in form: plain HTML, no script, nothing loaded from elsewhere."""
    error = '<p class="error" role="alert">Wrong password.</p>' if wrong else ""
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Carnet · sign in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f6f4; color: #222; margin: 0; }}
main {{ max-width: 22rem; margin: 18vh auto; padding: 2rem; background: #fff;
       border-radius: 0.5rem; box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.5rem; margin: 0 0 1rem; }}
label {{ display: block; margin-bottom: 0.3rem; }}
input[type=password] {{ width: 100%; box-sizing: border-box; padding: 0.5rem;
       font-size: 1rem; border: 1px solid #bbb; border-radius: 0.3rem; }}
button {{ margin-top: 1rem; padding: 0.5rem 1.2rem; font-size: 1rem; border: 0;
       border-radius: 0.3rem; background: #ff4b4b; color: #fff; cursor: pointer; }}
.error {{ color: #b00020; }}
</style></head>
<body><main>
<h1>Carnet</h1>
{error}
<form method="post" action="{SIGN_IN_PATH}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"
 autofocus required>
<input type="hidden" name="next" value="{html.escape(next_path, quote=True)}">
<button type="submit">Open</button>
</form>
</main></body></html>
"""
    return HTMLResponse(
        body,
        status_code=401 if wrong else 200,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


async def sign_in(request: Request) -> Response:
    """GET: the form. POST: check the password; on success set the cookie and go back."""
    if auth.secrets_unreadable():
        return PlainTextResponse(auth.SECRETS_UNREADABLE, status_code=503)
    form = await _form(request) if request.method == "POST" else {}
    next_path = safe_next(form.get("next") or request.query_params.get("next") or "/")
    password = auth.configured_password()
    if password is None or auth.oidc_configured():
        return RedirectResponse(next_path, status_code=303)  # nothing to sign in to
    if request.method != "POST":
        return sign_in_page(next_path)
    if not auth.check_password(form.get("password", ""), password):
        await asyncio.sleep(_WRONG_PASSWORD_DELAY_S)
        return sign_in_page(next_path, wrong=True)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        auth.cookie_name(),
        auth.issue_token(password),
        max_age=auth.session_seconds(),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


def warm_up() -> None:
    """Import what the first script run needs (each costs tenths of a second cold)."""
    import altair  # noqa: F401
    import pandas  # noqa: F401

    import carnet.store.sql_store  # noqa: F401  (SQLAlchemy and SQLModel)
    from dashboard import analysis, charts, data, frames, series, state, ui  # noqa: F401


@contextlib.asynccontextmanager
async def _start(_app: Any) -> AsyncIterator[None]:
    """Runs once the runtime exists and before the port accepts anyone."""
    warm_up()
    yield


def parse(argv: list[str]) -> tuple[Path, dict[str, Any], list[str]]:
    """``run <app.py> [--section.option value]... [-- script args]`` -> (app, settings, args)."""
    if "--" in argv:
        split = argv.index("--")
        args, script_args = argv[:split], argv[split + 1 :]
    else:
        args, script_args = list(argv), []
    if len(args) < 2 or args[0] != "run" or len(args) % 2:
        raise SystemExit(
            "usage: python -m dashboard.serve run APP.py [--section.option VALUE]... "
            "[-- SCRIPT ARGS]"
        )
    settings = dict(DEFAULT_SETTINGS)
    for flag, value in zip(args[2::2], args[3::2], strict=True):
        key = flag.removeprefix("--")
        if not flag.startswith("--") or key not in SETTINGS:
            raise SystemExit(
                f"dashboard.serve: unknown setting {flag!r}; known: {sorted(SETTINGS)}"
            )
        settings[key] = SETTINGS[key](value)
    return Path(args[1]).resolve(), settings, script_args


def main() -> None:
    """Serve the dashboard with the sign-in page and gate in front of it."""
    import streamlit as st

    app_script, settings, script_args = parse(sys.argv[1:])
    app = st.App(
        app_script,
        routes=[Route(SIGN_IN_PATH, sign_in, methods=["GET", "POST"])],
        middleware=[Middleware(SignInRequired)],
        lifespan=_start,
    )
    # App.run hands sys.argv[1:] to the script, which reads --db from it.
    sys.argv = [str(Path(__file__).resolve()), *script_args]
    app.run(config=settings)


if __name__ == "__main__":
    main()
