"""Who may look: nobody is asked by default; a shared password or OIDC when configured.

- Shared password (small teams): ``CARNET_UI_PASSWORD`` in the environment
  (``carnet ui --password-env VAR`` sets it), or ``[carnet] password`` in
  ``.streamlit/secrets.toml``.
- Single sign-on (organisations): an ``[auth]`` section in secrets.toml turns on
  Streamlit's ``st.login`` (OpenID Connect); ``[carnet] allowed_domains`` /
  ``allowed_emails`` narrow who is let in.

The password is compared in constant time and never stored in session state;
only a salted hash proves that this browser session entered it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as pysecrets
import time
from collections.abc import Mapping
from typing import Any

import streamlit as st

PASSWORD_ENV = "CARNET_UI_PASSWORD"
_PROOF = "carnet.auth"
_SALT = pysecrets.token_bytes(16)  # per server process: a restart asks again


def _secrets() -> Mapping[str, Any]:
    """``st.secrets`` when a secrets file exists, else an empty mapping (no error)."""
    try:
        if st.secrets.load_if_toml_exists():
            return st.secrets
    except Exception:  # a malformed secrets.toml must not lock everyone out silently
        st.error("`.streamlit/secrets.toml` could not be read; fix it or remove it.")
    return {}


def _carnet_secrets() -> Mapping[str, Any]:
    section = _secrets().get("carnet", {})
    return section if isinstance(section, Mapping) else {}


def configured_password() -> str | None:
    """The shared password, if one is configured (environment first)."""
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    value = _carnet_secrets().get("password")
    return str(value) if value else None


def oidc_configured() -> bool:
    return "auth" in _secrets()


def _proof(password: str) -> str:
    return hashlib.sha256(_SALT + password.encode("utf-8")).hexdigest()


def check_password(candidate: str, password: str) -> bool:
    """Constant-time comparison (of digests, so lengths leak nothing either)."""
    a = hashlib.sha256(candidate.encode("utf-8")).digest()
    b = hashlib.sha256(password.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def _allowed(email: str | None) -> bool:
    conf = _carnet_secrets()
    emails = [str(e).lower() for e in conf.get("allowed_emails", [])]
    domains = [str(d).lower().lstrip("@") for d in conf.get("allowed_domains", [])]
    if not emails and not domains:
        return True
    email = (email or "").lower()
    return email in emails or email.rsplit("@", 1)[-1] in domains


def _oidc_gate() -> bool:
    provider = _carnet_secrets().get("oidc_provider")
    if not st.user.is_logged_in:
        st.title("Carnet")
        st.write("Sign in with your organisation's account to see the experiments.")
        if st.button("Sign in", type="primary"):
            st.login(provider) if provider else st.login()
        return False
    email = st.user.get("email")
    if not _allowed(str(email) if email else None):
        st.error("This account is not allowed to open this dashboard.")
        st.button("Sign out", on_click=st.logout)
        return False
    with st.sidebar:
        st.caption("Signed in as")
        st.text(str(email or st.user.get("name") or "unknown"))
        st.button("Sign out", on_click=st.logout)
    return True


def _password_gate(password: str) -> bool:
    if st.session_state.get(_PROOF) == _proof(password):
        return True
    st.title("Carnet")
    with st.form("login"):
        candidate = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Open", type="primary")
    if submitted:
        if check_password(candidate, password):
            st.session_state[_PROOF] = _proof(password)
            st.rerun()
        time.sleep(1.0)  # slows guessing down; the shared password is the only lock
        st.error("Wrong password.")
    return False


def gate() -> bool:
    """Render a sign-in form and return False unless this viewer may proceed."""
    if oidc_configured():
        return _oidc_gate()
    password = configured_password()
    return True if password is None else _password_gate(password)
