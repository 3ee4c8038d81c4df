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
from collections.abc import Mapping, Sequence
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
