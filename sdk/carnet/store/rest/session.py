"""HTTP to a tracking server: one pooled keep-alive connection pool, credentials, timeouts,
and retries with exponential backoff.

Every request of a store goes through one :class:`HttpSession`: httpx's
connection pool (``httpx.HTTPTransport``), whose connections stay open between
requests (and are shared by the threads of the process: the caller's, the
buffered writer's, the heartbeat's). A forked child opens its own connections
on first use; it never writes to its parent's.

Requests go to the transport directly, not through ``httpx.Client``: the
client's cookie jar, redirect and auth machinery serve browsers and cost
about 0.2 ms of CPU a request, a third of a small request's round trip here,
and a tracking server sets no cookies, answers no redirects and takes its
credential in one header (:func:`credentials`, or the tracking URI's own
``user:password@``). A proxy named in the environment is used as the client
would use it (:func:`environment_proxy`).

What is retried, for up to ``CARNET_HTTP_RETRY_TIMEOUT`` seconds in all, with
pauses that double from a quarter of a second up to eight (with jitter), or
as long as the server's ``Retry-After`` asks:

- a connection that could not be opened (the server is down or restarting),
  and the answers 429 and 503 (the server is busy): the request did not act,
  so any request is retried;
- a connection that broke after the request was sent, a timeout, and the
  gateway errors 502 and 504 of a proxy: the server may have acted, so only a
  request marked :data:`Retry.SAFE` (reads, and writes that are idempotent,
  such as a log-batch carrying its batch id) is retried. Creating a run or an
  experiment is not: it raises, saying the server may have acted.

Once a request has spent the whole window on a server it could not reach,
later requests try once, without waiting, until one gets an answer: a process
ending while the server is down (its buffered points spooled, its runs not
ended) does not wait out the window again for each request.

Credentials are MLflow's: ``CARNET_TRACKING_TOKEN`` (else ``MLFLOW_TRACKING_TOKEN``)
is sent as ``Authorization: Bearer``, else a user name and password as Basic.
They are read at each request, so a token set after the store was opened is used.
"""

from __future__ import annotations

import base64
import email.utils
import enum
import json
import logging
import os
import random
import ssl
import threading
import time
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from carnet import settings
from carnet.errors import CarnetError, ConfigurationError, NotFoundError, StoreError
from carnet.store.rest.errors import from_response

T = TypeVar("T")
logger = logging.getLogger("carnet")

#: Answers that say the server did not act and will later: any request is retried.
BUSY_STATUSES = frozenset({429, 503})
#: A proxy's answers when the server behind it failed: retried only when safe to repeat.
GATEWAY_STATUSES = frozenset({502, 504})
FIRST_PAUSE_S = 0.25
MAX_PAUSE_S = 8.0
#: The longest wait for a connection to open, whatever CARNET_HTTP_TIMEOUT says.
CONNECT_TIMEOUT_S = 10.0
#: Connections kept open to the server, and at most open at once.
KEEPALIVE_CONNECTIONS = 8
MAX_CONNECTIONS = 32
USER_AGENT = "carnet-sdk"
#: Requests of one call (a log_batch past MLflow's limits) in flight at once: the client
#: encodes and the server parses and commits side by side, and the server group-commits them.
PIPELINE = 4

Content = bytes | Callable[[], Iterable[bytes]] | None


class Retry(enum.Enum):
    """Whether a request may be repeated after it may have reached the server."""

    #: Repeating it changes nothing (a read, an update, a log-batch with its id).
    SAFE = "safe"
    #: Repeating it could act twice (creating a run): retried only when it surely did not act.
    UNSENT = "unsent"


def public_uri(uri: str) -> str:
    """``uri`` without a user name or password, for messages."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def credentials() -> dict[str, str]:
    """The ``Authorization`` header MLflow's client would send, from the environment."""
    token = settings.TRACKING_TOKEN.get() or settings.MLFLOW_TRACKING_TOKEN.get()
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = settings.TRACKING_USERNAME.get() or settings.MLFLOW_TRACKING_USERNAME.get()
    password = settings.TRACKING_PASSWORD.get() or settings.MLFLOW_TRACKING_PASSWORD.get()
    if user is None and password is None:
        return {}
    if not user or not password:
        raise ConfigurationError(
            "a tracking-server user name was set without a password, or a password without a "
            "user name; set both CARNET_TRACKING_USERNAME and CARNET_TRACKING_PASSWORD (or "
            "MLflow's MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD), or a token."
        )
    basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {basic}"}


def _verify() -> ssl.SSLContext | bool:
    """How an ``https://`` server's certificate is checked: a CA bundle, the system's, or not."""
    insecure = settings.TRACKING_INSECURE_TLS.get() or settings.MLFLOW_TRACKING_INSECURE_TLS.get()
    if insecure:
        return False
    bundle = (
        settings.TRACKING_SERVER_CERT_PATH.get() or settings.MLFLOW_TRACKING_SERVER_CERT_PATH.get()
    )
    if bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot read the tracking server's CA bundle {str(bundle)!r} "
            f"(CARNET_TRACKING_SERVER_CERT_PATH): {exc}; give a PEM file of certificates."
        ) from None


def environment_proxy(uri: str) -> str | None:
    """The proxy the environment names for the tracking server (``HTTPS_PROXY``,
    ``HTTP_PROXY`` or ``ALL_PROXY``, unless ``NO_PROXY`` covers the host), as httpx's
    client and MLflow's client take it; None to connect directly."""
    parts = urlsplit(uri)
    found = urllib.request.getproxies()
    proxy = found.get(parts.scheme) or found.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.netloc.rsplit("@", 1)[-1]):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def retry_after(response: httpx.Response) -> float | None:
    """The pause a ``Retry-After`` header asks for, in seconds (None: none asked)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, float((when - datetime.now(UTC)).total_seconds()))


def backoff(attempt: int) -> float:
    """The pause before try ``attempt + 1``: doubling from a quarter second up to eight,
    with jitter so that many clients do not come back at once."""
    return min(MAX_PAUSE_S, FIRST_PAUSE_S * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def gave_up(error: CarnetError, attempts: int, elapsed: float) -> CarnetError:
    """``error``, saying how long it was retried when it was."""
    if attempts == 1:
        return error
    again = type(error)(f"{error} (gave up after {attempts} tries in {elapsed:.0f} s)")
    again.error_code = error.error_code
    return again


def _outcome(call: Callable[[], None]) -> BaseException | None:
    try:
        call()
    except BaseException as exc:  # handed back to the caller, which raises it
        return exc
    return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_json(response: httpx.Response) -> dict[str, Any]:
    """A successful answer's JSON object ({} for an empty body)."""
    body = response.read()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeError):
        data = None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{response.request.url.copy_with(query=None)} did not answer with MLflow's JSON; "
            "is the tracking URI the address of a tracking server (http://host:port)?"
        )
    return data


def _untrusted(exc: BaseException) -> bool:
    """Whether a failed connection failed on the server's certificate (no retry mends it)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


class _Unsent(Exception):
    """The request did not reach the server (it may be repeated)."""


class _MaybeSent(Exception):
    """The connection failed after the request may have reached the server."""


class _Busy(Exception):
    """A refusal worth retrying: the server was busy, or a proxy lost it."""

    def __init__(self, error: CarnetError, pause: float | None, *, gateway: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.pause = pause
        self.gateway = gateway


_sessions: weakref.WeakSet[HttpSession] = weakref.WeakSet()


class HttpSession:
    """Requests to one tracking server over pooled keep-alive connections, with retries."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        #: The server's address for messages (no credentials).
        self.public_uri = public_uri(uri)
        parts = urlsplit(uri)
        #: Where the API's paths are appended (the URI without credentials or a last slash).
        self._base = public_uri(uri).rstrip("/")
        #: The tracking URI's own ``user:password@``, sent as Basic (as httpx's client did).
        self._url_auth: dict[str, str] = {}
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            basic = base64.b64encode(pair.encode()).decode("ascii")
            self._url_auth = {"Authorization": f"Basic {basic}"}
        self._transport: httpx.HTTPTransport | None = None
        #: Closes the pool when the session is collected (or closed).
        self._closer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()
        #: Set when a request spent its whole retry window on a server it could not reach.
        self._unreachable = False
        #: Threads that send the requests of one call side by side (made when first needed).
        self._pool: ThreadPoolExecutor | None = None
        _sessions.add(self)

    def _http(self) -> httpx.HTTPTransport:
        transport = self._transport
        if transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = httpx.HTTPTransport(
                        verify=_verify(),
                        proxy=environment_proxy(self.uri),
                        limits=httpx.Limits(
                            max_connections=MAX_CONNECTIONS,
                            max_keepalive_connections=KEEPALIVE_CONNECTIONS,
                        ),
                    )
                    self._closer = weakref.finalize(self, self._transport.close)
                transport = self._transport
        return transport

    def run_together(self, calls: Sequence[Callable[[], None]]) -> list[BaseException | None]:
        """Run independent requests side by side, at most :data:`PIPELINE` in flight, and
        return each one's error (None when it succeeded), in order. Each call makes its
        own request (with :meth:`send`), on a pooled connection of its own."""
        if len(calls) < 2:
            return [_outcome(call) for call in calls]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(PIPELINE, thread_name_prefix="carnet-http")
            pool = self._pool
        return list(pool.map(_outcome, calls))

    def close(self) -> None:
        """Close the pooled connections; the next request opens new ones."""
        with self._lock:
            closer, self._transport, self._closer = self._closer, None, None
        if closer is not None:
            closer()

    def forget_connections(self) -> None:
        """In a forked child: leave the parent's connections alone and open new ones."""
        if self._closer is not None:
            self._closer.detach()
        self._transport, self._closer = None, None
        self._lock = threading.Lock()
        self._pool = None  # the parent's threads do not exist here

    def send(
        self,
        method: str,
        path: str,
        consume: Callable[[httpx.Response], T],
        *,
        params: Mapping[str, Any] | None = None,
        content: Content = None,
        headers: Mapping[str, str] | None = None,
        retry: Retry = Retry.SAFE,
        not_found: type[NotFoundError] = NotFoundError,
        when_repeated: Mapping[str, str] | None = None,
    ) -> T:
        """Send one request, retrying as the module says, and return ``consume(response)``
        of its successful answer; a refusal raises the matching Carnet error.

        ``content`` is the body, or a function giving it afresh for each attempt (a
        file streamed from its start). ``when_repeated`` are headers added to the
        tries that follow one which may have reached the server.
        """
        window = 0.0 if self._unreachable else settings.HTTP_RETRY_TIMEOUT.get()
        timeout = settings.HTTP_TIMEOUT.get()
        limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S))
        start = time.monotonic()
        where = f"the tracking server at {self.public_uri} ({method} {path})"
        attempt = 0
        sent = dict(headers or {})
        while True:
            attempt += 1
            try:
                return self._attempt(
                    method, path, consume, params, content, sent, limits, where, not_found
                )
            except _Busy as busy:
                if busy.gateway and retry is Retry.UNSENT:
                    raise busy.error from None
                if busy.gateway:
                    sent.update(when_repeated or {})
                error, pause, lost = busy.error, busy.pause, False
            except _Unsent as exc:
                error = StoreError(
                    f"cannot reach the tracking server at {self.public_uri}: "
                    f"{_one_line(exc.__cause__ or exc)}; check that it is running and that the "
                    "tracking URI names its address."
                )
                pause, lost = None, True
            except _MaybeSent as exc:
                cause = _one_line(exc.__cause__ or exc)
                if retry is Retry.UNSENT:
                    raise StoreError(
                        f"the connection to {where} failed after the request was sent "
                        f"({cause}); the server may or may not have acted on it: check before "
                        "trying again."
                    ) from None
                error = StoreError(f"the connection to {where} failed: {cause}.")
                pause, lost = None, True
                sent.update(when_repeated or {})
            if pause is None:
                pause = backoff(attempt)
            elapsed = time.monotonic() - start
            if elapsed + pause > window:
                if lost and window > 0:
                    self._unreachable = True
                    logger.warning(
                        "carnet: the tracking server at %s stayed unreachable for %.0f s; "
                        "requests now try once until it answers again.",
                        self.public_uri,
                        elapsed,
                    )
                raise gave_up(error, attempt, elapsed) from None
            time.sleep(pause)

    def _attempt(
        self,
        method: str,
        path: str,
        consume: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | None,
        content: Content,
        headers: Mapping[str, str] | None,
        limits: httpx.Timeout,
        where: str,
        not_found: type[NotFoundError],
    ) -> T:
        body = content() if callable(content) else content
        sent = {"User-Agent": USER_AGENT, **credentials(), **self._url_auth, **(headers or {})}
        try:
            request = httpx.Request(
                method,
                self._base + path,
                params=params,
                content=body,
                headers=sent,
                extensions={"timeout": limits.as_dict()},
            )
            response = self._http().handle_request(request)
            response.request = request
            try:
                self._unreachable = False  # the server answered
                status = response.status_code
                if status < 400:
                    return consume(response)
                response.read()
                error = from_response(response, where, not_found=not_found)
                if status in BUSY_STATUSES or status in GATEWAY_STATUSES:
                    raise _Busy(error, retry_after(response), gateway=status in GATEWAY_STATUSES)
                raise error
            finally:
                response.close()  # hands the connection back to the pool
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if _untrusted(exc):
                raise ConfigurationError(
                    f"the tracking server at {self.public_uri} has a certificate this machine "
                    f"does not trust ({_one_line(exc)}); set CARNET_TRACKING_SERVER_CERT_PATH "
                    "to the CA bundle (PEM) that signed it."
                ) from None
            raise _Unsent() from exc
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _MaybeSent() from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise ConfigurationError(
                f"cannot send a request to {self.public_uri}: {_one_line(exc)}; the tracking "
                "URI must be http://host:port or https://host:port."
            ) from None


def _after_fork_in_child() -> None:
    for session in list(_sessions):
        session.forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
