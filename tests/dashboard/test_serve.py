"""``carnet ui`` end to end over HTTP: a clean first output, the sign-in page and its cookie.

The browser's side of signing in (the link kept, reloads and new tabs signed
in) is in tests/browser/test_sign_in_browser.py.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from tests.dashboard.served import carnet_ui
from tests.dashboard.store_data import StoreInfo

pytestmark = pytest.mark.slow
PASSWORD = "correct horse"


def test_first_terminal_output_is_clean(store: StoreInfo, tmp_path: Path) -> None:
    """What a newcomer sees: where the dashboard is, no warnings, no traceback."""
    with carnet_ui(store.uri, tmp_path) as (base, log):
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            assert response.status == 200
        output = log.read_text()
    assert f"Carnet dashboard on {base}" in output
    assert "No runtime found" not in output
    assert "Traceback" not in output
    assert "WARNING" not in output and "ERROR" not in output, output


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: str


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        *,
        cookie: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Answer:
        """One request, redirects not followed."""
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read().decode())
        finally:
            conn.close()

    def websocket_status(self, cookie: str | None) -> str:
        """The status line the app's websocket handshake gets."""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET /_stcore/stream HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: streamlit",
        ] + ([f"Cookie: {cookie}"] if cookie else [])
        with socket.create_connection((self.host, self.port), timeout=10) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.fixture(scope="module")
def server(template_store: StoreInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``carnet ui --password-env ...`` with two-hour sessions, on the (read-only) test store."""
    folder = tmp_path_factory.mktemp("served")
    env = {"CARNET_UI_SESSION_HOURS": "2"}
    with carnet_ui(template_store.uri, folder, password=PASSWORD, extra_env=env) as (base, _log):
        parts = urllib.parse.urlsplit(base)
        assert parts.hostname is not None and parts.port is not None
        yield Server(parts.hostname, parts.port)


def sign_in(server: Server, next_path: str = "/") -> Answer:
    return server.request("POST", "/carnet/sign-in", form={"password": PASSWORD, "next": next_path})


def session_cookie(answer: Answer) -> str:
    """``name=value`` of the session cookie a sign-in set."""
    (cookie,) = answer.headers.get_all("Set-Cookie") or []
    return cookie.split(";", 1)[0]


def test_a_link_opened_without_a_session_goes_to_sign_in_and_keeps_its_query(
    server: Server,
) -> None:
    answer = server.request("GET", "/run?run=abc&rtab=Params%20%26%20tags")
    assert answer.status == 303
    location = answer.headers["Location"]
    assert location.startswith("/carnet/sign-in?next=")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["next"] == [
        "/run?run=abc&rtab=Params%20%26%20tags"
    ]
    page = server.request("GET", location)
    assert page.status == 200
    assert 'value="/run?run=abc&amp;rtab=Params%20%26%20tags"' in page.body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


def test_nothing_but_the_health_check_is_served_without_a_session(server: Server) -> None:
    assert server.request("GET", "/_stcore/health").status == 200
    assert server.request("GET", "/_stcore/host-config").status == 401
    assert server.request("GET", "/media/anything.png").status == 401
    assert server.request("POST", "/_stcore/upload_file/x/y").status == 401
    assert server.websocket_status(cookie=None).split()[1] == "403"


def test_a_wrong_password_sets_no_cookie(server: Server) -> None:
    answer = server.request(
        "POST", "/carnet/sign-in", form={"password": "wrong", "next": "/run?run=abc"}
    )
    assert answer.status == 401
    assert "Wrong password." in answer.body
    assert 'value="/run?run=abc"' in answer.body  # the link survives a typo too
    assert not answer.headers.get_all("Set-Cookie")


def test_the_right_password_sets_a_bounded_http_only_cookie_and_goes_back(
    server: Server,
) -> None:
    answer = sign_in(server, "/run?run=abc&rtab=Metrics")
    assert answer.status == 303
    assert answer.headers["Location"] == "/run?run=abc&rtab=Metrics"
    (cookie,) = answer.headers.get_all("Set-Cookie") or []
    attributes = [part.strip().lower() for part in cookie.split(";")]
    name, value = attributes[0].split("=", 1)
    assert name == f"carnet_session_{server.port}"
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert "max-age=7200" in attributes  # CARNET_UI_SESSION_HOURS=2
    assert PASSWORD.lower() not in cookie.lower()
    assert abs(int(value.split(".")[0]) - (time.time() + 7200)) < 60

    session = session_cookie(answer)
    assert server.request("GET", "/run?run=abc", cookie=session).status == 200
    assert server.request("GET", "/_stcore/host-config", cookie=session).status == 200
    assert server.websocket_status(cookie=session).split()[1] == "101"


def test_a_forged_cookie_is_refused(server: Server) -> None:
    name, value = session_cookie(sign_in(server)).split("=", 1)
    expiry, mac = value.split(".")
    for forged in (
        f"{int(expiry) + 3600}.{mac}",  # a later expiry, same signature
        f"{expiry}.{'0' * len(mac)}",
        "4102444800.deadbeef",
        "",
    ):
        assert server.request("GET", "/", cookie=f"{name}={forged}").status == 303
        assert server.websocket_status(cookie=f"{name}={forged}").split()[1] == "403"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_signing_in_never_sends_the_viewer_elsewhere(server: Server, target: str) -> None:
    assert sign_in(server, target).headers["Location"] == "/"


def test_a_malformed_secrets_file_locks_the_dashboard(store: StoreInfo, tmp_path: Path) -> None:
    """It may be where the password lives: the server refuses rather than serve everyone."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[carnet]\npassword = "unclosed\n')
    with carnet_ui(store.uri, tmp_path) as (base, _log):
        parts = urllib.parse.urlsplit(base)
        assert parts.hostname is not None and parts.port is not None
        server = Server(parts.hostname, parts.port)
        answer = server.request("GET", "/")
        assert answer.status == 503 and "could not be read" in answer.body
        assert server.websocket_status(cookie=None).split()[1] == "403"
        assert server.request("GET", "/_stcore/health").status == 200
