"""The signed sign-in token behind the session cookie: what it accepts and refuses."""

from __future__ import annotations

import time

import pytest

from dashboard import auth
from dashboard.serve import safe_next, sign_in_url


def test_a_token_is_valid_for_its_password_only() -> None:
    token = auth.issue_token("right")
    assert auth.token_valid(token, "right")
    assert not auth.token_valid(token, "wrong")
    assert not auth.token_valid(token, "right ")


def test_a_token_lasts_the_configured_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.SESSION_HOURS_ENV, raising=False)
    expiry = int(auth.issue_token("pw").split(".")[0])
    assert abs(expiry - (time.time() + 12 * 3600)) < 5
    monkeypatch.setenv(auth.SESSION_HOURS_ENV, "0.5")
    expiry = int(auth.issue_token("pw").split(".")[0])
    assert abs(expiry - (time.time() + 1800)) < 5


@pytest.mark.parametrize("raw", ["", "soon", "0", "-3", "0.01", "10000", "nan", "inf"])
def test_a_bad_session_length_falls_back_to_twelve_hours(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(auth.SESSION_HOURS_ENV, raw)
    assert auth.session_seconds() == 12 * 3600


def test_a_shorter_session_also_shortens_tokens_already_issued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(auth.SESSION_HOURS_ENV, "12")
    token = auth.issue_token("pw")
    monkeypatch.setenv(auth.SESSION_HOURS_ENV, "1")
    assert not auth.token_valid(token, "pw")


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: "",
        lambda t: t.split(".")[0],  # no signature
        lambda t: f"{int(t.split('.')[0]) + 60}.{t.split('.')[1]}",  # a later expiry
        lambda t: f"{int(time.time()) - 1}.{t.split('.')[1]}",  # an expired one
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # a changed signature
        lambda t: "٣" + t[1:],  # a non-ASCII digit
        lambda t: t + "." + t,
        lambda t: "9" * 200,
    ],
)
def test_a_forged_or_expired_token_is_refused(forge: object) -> None:
    token = auth.issue_token("pw")
    assert callable(forge)
    assert not auth.token_valid(forge(token), "pw")


def test_tokens_other_than_text_are_refused() -> None:
    assert not auth.token_valid(None, "pw")
    assert not auth.token_valid(12345, "pw")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/run?run=abc&rtab=Params%20%26%20tags", "/run?run=abc&rtab=Params%20%26%20tags"),
        ("/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("run", "/"),
        ("/run\r\nSet-Cookie: x=1", "/"),
        ("/carnet/sign-in?next=/", "/"),
    ],
)
def test_after_signing_in_only_paths_on_this_server(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_sign_in_link_keeps_the_page_and_its_query() -> None:
    scope = {"path": "/run", "query_string": b"run=abc&q=metrics.mse%20%3C%201"}
    assert sign_in_url(scope) == (
        "/carnet/sign-in?next=%2Frun%3Frun%3Dabc%26q%3Dmetrics.mse%2520%253C%25201"
    )
    assert safe_next("/run?run=abc&q=metrics.mse%20%3C%201") == (
        "/run?run=abc&q=metrics.mse%20%3C%201"
    )
