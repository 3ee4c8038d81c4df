"""Who may look: nobody is asked by default; a shared password or OIDC when configured.

- Shared password (small teams): ``CARNET_UI_PASSWORD`` in the environment
  (``carnet ui --password-env VAR`` sets it), or ``[carnet] password`` in
  ``.streamlit/secrets.toml``.
- Single sign-on (organisations): an ``[auth]`` section in secrets.toml turns on
  Streamlit's ``st.login`` (OpenID Connect); ``[carnet] allowed_domains`` /
  ``allowed_emails`` narrow who is let in.

A sign-in with the password is a token ``<expiry>.<HMAC of the expiry>``, keyed
by a hash of the password and the server's secret (Streamlit's
``server.cookieSecret``, random per process unless configured), so it expires
on its own (12 h by default, ``CARNET_UI_SESSION_HOURS``) and stops working
when the password changes or the server restarts. ``carnet ui`` hands it to the
browser as an HttpOnly cookie from its sign-in page (``dashboard/serve.py``);
this module checks that cookie, and under a plain ``streamlit run`` falls back
to a form whose sign-in lasts as long as the browser tab. The password itself
is compared in constant time and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import streamlit as st

from carnet import settings

PASSWORD_ENV = settings.UI_PASSWORD.name
SESSION_HOURS_ENV = settings.UI_SESSION_HOURS.name
DEFAULT_SESSION_HOURS = settings.UI_SESSION_HOURS.default
MIN_SESSION_HOURS, MAX_SESSION_HOURS = settings.MIN_SESSION_HOURS, settings.MAX_SESSION_HOURS
SECRETS_UNREADABLE = "`.streamlit/secrets.toml` could not be read; fix it or remove it."
_PROOF = "carnet.auth"


#: The secrets of a secrets.toml that does not parse: nothing, and a reason to let nobody in.
_UNREADABLE: Mapping[str, Any] = MappingProxyType({})


def _secrets() -> Mapping[str, Any]:
    """``st.secrets`` when a secrets file exists, an empty mapping when none does,
    ``_UNREADABLE`` when one exists but does not parse (Streamlit then only logs it)."""
    if st.secrets.load_if_toml_exists():
        return st.secrets
    files = st.get_option("secrets.files") or []
    if any(str(f).endswith(".toml") and Path(f).is_file() for f in files):
        return _UNREADABLE
    return {}


def secrets_unreadable() -> bool:
    """A secrets.toml that does not parse may hold the password: then nobody gets in."""
    return _secrets() is _UNREADABLE


def _carnet_secrets() -> Mapping[str, Any]:
    section = _secrets().get("carnet", {})
    return section if isinstance(section, Mapping) else {}


def configured_password() -> str | None:
    """The shared password, if one is configured (environment first)."""
    env = settings.UI_PASSWORD.get()
    if env:
        return env
    value = _carnet_secrets().get("password")
    return str(value) if value else None


def oidc_configured() -> bool:
    """Whether secrets.toml has an ``[auth]`` section (Streamlit's OIDC sign-in)."""
    return "auth" in _secrets()


def session_seconds() -> int:
    """How long a sign-in lasts: ``CARNET_UI_SESSION_HOURS`` or ``[carnet] session_hours``.

    A value that is not a number of hours from six minutes to a month is ignored
    (``carnet ui --session-hours`` refuses it before the server starts).
    """
    raw = settings.UI_SESSION_HOURS.raw() or _carnet_secrets().get("session_hours")
    hours = parse_session_hours(raw)
    return round(3600 * (DEFAULT_SESSION_HOURS if hours is None else hours))


def parse_session_hours(raw: object) -> float | None:
    """Hours from text or a number; None when absent or out of range."""
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        hours = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return hours if MIN_SESSION_HOURS <= hours <= MAX_SESSION_HOURS else None


def cookie_name() -> str:
    """The session cookie's name; it carries the port, since a browser sends a host's
    cookies to every port on it and two dashboards on one machine must not clash."""
    return f"carnet_session_{st.get_option('server.port')}"


def _key(password: str) -> bytes:
    secret = str(st.get_option("server.cookieSecret")).encode("utf-8")
    return hmac.new(secret, b"carnet-ui-session\0" + password.encode("utf-8"), "sha256").digest()


def _mac(password: str, expiry: str) -> str:
    return hmac.new(_key(password), expiry.encode("ascii"), "sha256").hexdigest()


def issue_token(password: str) -> str:
    """A sign-in token that expires after :func:`session_seconds`."""
    expiry = str(int(time.time()) + session_seconds())
    return f"{expiry}.{_mac(password, expiry)}"


def token_valid(token: object, password: str) -> bool:
    """Whether ``token`` was issued for this password by this server and has not expired.

    An expiry further away than one session from now is refused too, so a
    lifetime shortened by configuration also shortens tokens already issued.
    """
    if not isinstance(token, str) or len(token) > 128:
        return False
    expiry, dot, mac = token.partition(".")
    if not dot or not (expiry.isascii() and expiry.isdigit()) or len(expiry) > 12:
        return False
    now = time.time()
    if not now < int(expiry) <= now + session_seconds():
        return False
    return hmac.compare_digest(_mac(password, expiry), mac)


def check_password(candidate: str, password: str) -> bool:
    """Constant-time comparison (of digests, so lengths leak nothing either)."""
    a = hashlib.sha256(candidate.encode("utf-8")).digest()
    b = hashlib.sha256(password.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def email_verified(flag: object) -> bool:
    """Whether the identity provider vouched for the address (some send the flag as text)."""
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def email_allowed(
    email: object, verified: object, emails: Sequence[str], domains: Sequence[str]
) -> bool:
    """Whether a signed-in account may look, given the ``[carnet]`` allow-lists.

    With no list, the identity provider's own policy decides (any account it
    signs in). With a list, the address must be one the provider verified,
    well formed (one ``@``, a local part), and either listed itself or at
    exactly a listed domain (no suffix match: ``evil-example.org`` and
    ``sub.example.org`` are not ``example.org``); case does not matter.
    """
    wanted_emails = {e.strip().lower() for e in emails}
    wanted_domains = {d.strip().lower().lstrip("@") for d in domains}
    if not wanted_emails and not wanted_domains:
        return True
    if not isinstance(email, str) or not email_verified(verified):
        return False
    address = email.strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain:
        return False
    return address in wanted_emails or domain in wanted_domains


def _allow_lists() -> tuple[list[str], list[str]]:
    conf = _carnet_secrets()

    def strings(key: str) -> list[str]:
        value = conf.get(key, [])
        items = [value] if isinstance(value, str) else value
        return [str(item) for item in items] if isinstance(items, Sequence) else []

    return strings("allowed_emails"), strings("allowed_domains")


def _oidc_gate() -> bool:
    provider = _carnet_secrets().get("oidc_provider")
    if not st.user.is_logged_in:
        st.title("Carnet")
        st.write("Sign in with your organisation's account to see the experiments.")
        if st.button("Sign in", type="primary"):
            st.login(provider) if provider else st.login()
        return False
    email = st.user.get("email")
    if not email_allowed(email, st.user.get("email_verified"), *_allow_lists()):
        st.error("This account is not allowed to open this dashboard.")
        st.button("Sign out", on_click=st.logout)
        return False
    with st.sidebar:
        st.caption("Signed in as")
        st.text(str(email or st.user.get("name") or "unknown"))
        st.button("Sign out", on_click=st.logout)
    return True


def _password_gate(password: str) -> bool:
    cookie = st.context.cookies.get(cookie_name())
    if token_valid(cookie, password) or token_valid(st.session_state.get(_PROOF), password):
        return True
    st.title("Carnet")
    with st.form("login"):
        candidate = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Open", type="primary")
    if submitted:
        if check_password(candidate, password):
            st.session_state[_PROOF] = issue_token(password)
            st.rerun()
        time.sleep(1.0)  # slows guessing down; the shared password is the only lock
        st.error("Wrong password.")
    return False


def gate() -> bool:
    """Render a sign-in form and return False unless this viewer may proceed."""
    if secrets_unreadable():
        st.error(SECRETS_UNREADABLE)
        return False
    if oidc_configured():
        return _oidc_gate()
    password = configured_password()
    return True if password is None else _password_gate(password)
