"""What every API request goes through, in one place: credentials, the endpoint for its
method, the handler, and the translation of whatever it raised into MLflow's JSON.

An :class:`Endpoint` is a method, a path (below ``/api`` and ``/ajax-api``),
a handler and whether it writes. :func:`dispatcher` turns the endpoints of one
path into a Starlette endpoint that

1. identifies the caller (401 without a valid credential when a tokens file
   is configured; a few public endpoints skip this);
2. picks the endpoint for the request's method (405 otherwise);
3. refuses a write to a read-only caller (403);
4. runs the handler, whose blocking ``Client`` calls go through
   :class:`Context` (off the event loop, writes in order on SQLite);
5. answers any error as MLflow's JSON; an unexpected one is logged with its
   traceback and answered 500 with a generic message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from carnet.client import Client
from carnet.errors import CarnetError
from carnet.server.auth import Access, Authenticator, Identity
from carnet.server.batch_ids import BatchIds
from carnet.server.errors import ApiError, error_response, from_carnet, internal_error
from carnet.server.parsing import Fields, dumps, read_fields
from carnet.server.settings import ServerSettings
from carnet.server.writes import BlockingCalls

T = TypeVar("T")

#: Every method a route accepts, so a wrong one gets JSON from :func:`dispatcher`.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: The method of an endpoint that answers whatever the method (the "not served" ones).
ANY_METHOD = "*"


@dataclass
class ServerState:
    """What the handlers share for the server's lifetime."""

    settings: ServerSettings
    client: Client
    auth: Authenticator
    calls: BlockingCalls
    #: Server-side strings (the store's path, the artifact folder) kept out of messages.
    hide: tuple[str, ...] = ()
    #: The log-batch ids written, so a repeated request writes nothing.
    batch_ids: BatchIds = field(default_factory=BatchIds)


@dataclass(frozen=True)
class Context:
    """One request's view of the server: who is calling, and where blocking calls run."""

    state: ServerState
    identity: Identity

    @property
    def client(self) -> Client:
        """The store, through the public API."""
        return self.state.client

    @property
    def settings(self) -> ServerSettings:
        """How the server was started."""
        return self.state.settings

    async def read(self, call: Callable[[], T]) -> T:
        """Run a call that only reads the store, off the event loop."""
        return await self.state.calls.read(call)

    async def write(
        self,
        call: Callable[[], T],
        *,
        groupable: bool = False,
        undo: Callable[[T], None] | None = None,
    ) -> T:
        """Run a call that writes to the store, on the store's write path; a
        ``groupable`` one (run data only) may share a group commit on SQLite."""
        return await self.state.calls.write(call, groupable=groupable, undo=undo)

    async def files(self, call: Callable[[], T]) -> T:
        """Run file work (artifacts), off the event loop."""
        return await self.state.calls.files(call)


Handler = Callable[[Request, Context], Awaitable[Response]]
JsonHandler = Callable[[Fields, Context], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Endpoint:
    """One method on one path, and whether it changes anything."""

    method: str
    path: str
    handler: Handler
    write: bool = False
    #: Answered without credentials (only what MLflow's server answers without them).
    public: bool = False


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer; NaN and infinities must already be spelled as protobuf spells them."""
    return Response(dumps(body), status_code=status, media_type="application/json")


def json_endpoint(handler: JsonHandler) -> Handler:
    """A handler that takes the request's fields and returns the answer's JSON object."""

    async def handle(request: Request, ctx: Context) -> Response:
        return json_response(await handler(await read_fields(request), ctx))

    handle.__name__ = handler.__name__
    handle.__doc__ = handler.__doc__
    return handle


def _unauthenticated() -> Response:
    return error_response(
        401,
        "UNAUTHENTICATED",
        "This server needs credentials: set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME "
        "and MLFLOW_TRACKING_PASSWORD, to one its operator gave you.",
        headers={"WWW-Authenticate": 'Basic realm="carnet", charset="UTF-8"'},
    )


def dispatcher(
    state: ServerState, endpoints: Sequence[Endpoint]
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint serving ``endpoints`` (all on one path)."""
    by_method = {e.method: e for e in endpoints}
    allowed = ", ".join(sorted(m for m in by_method if m != ANY_METHOD))

    async def dispatch(request: Request) -> Response:
        endpoint = by_method.get(request.method) or by_method.get(ANY_METHOD)
        try:
            identity = None
            if endpoint is None or not endpoint.public:
                identity = state.auth.identify(request.headers.get("authorization"))
                if identity is None:
                    return _unauthenticated()
            if endpoint is None:
                return error_response(
                    405,
                    "BAD_REQUEST",
                    f"{request.method} is not allowed on {request.url.path}; use {allowed}.",
                    headers={"Allow": allowed},
                )
            if identity is None:
                identity = Identity("public", Access.READ)
            elif endpoint.write and identity.access < Access.WRITE:
                return error_response(
                    403,
                    "PERMISSION_DENIED",
                    f"the credential '{identity.name}' may only read; this request writes.",
                )
            return await endpoint.handler(request, Context(state, identity))
        except ApiError as exc:
            return exc.response()
        except CarnetError as exc:
            return from_carnet(exc, state.hide)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        except Exception as exc:
            return internal_error(exc, f"{request.method} {request.url.path}")

    return dispatch
