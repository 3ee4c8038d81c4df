"""Who may call the API: tokens and users read from one small file.

Without a tokens file every request may read and write (fine on a laptop or
behind a gateway that checks identities). With one, every API request must
carry a credential as MLflow's client sends it:

- ``MLFLOW_TRACKING_TOKEN=<token>`` -> ``Authorization: Bearer <token>``;
- ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` ->
  ``Authorization: Basic <base64 of user:password>``.

Each credential grants ``read`` (searches, gets, downloads) or ``write``
(everything). No credential, or a wrong one, is 401 UNAUTHENTICATED; a read
credential asking to write is 403 PERMISSION_DENIED. The dashboard keeps its
own sign-in (password or OIDC); this file is for the API.

The file is TOML (``.toml``), JSON (``.json``) or plain text (anything else)::

    # carnet-tokens.toml
    [[tokens]]
    name = "ci"                      # shown in the server's log, never the secret
    token = "4b1e...a long random string"
    access = "write"

    [[users]]
    name = "alice"
    password = "sha256:9f86d0...e4f"  # or the password itself
    access = "read"

    # carnet-tokens.txt: one token a line, "<access> <token>"
    write 4b1e...
    read  77c0...

A secret may be stored as ``sha256:<hex digest>`` instead of in clear. Every
secret is kept only as its SHA-256 digest once read, and a presented secret
is hashed and compared with every entry with :func:`hmac.compare_digest`, so
the time an answer takes says nothing about how close a guess came.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carnet.errors import ConfigurationError

#: Shortest secret accepted in clear: shorter ones can be guessed over the network.
MIN_TOKEN_LENGTH = 16
MIN_PASSWORD_LENGTH = 12
_DIGEST_RE = re.compile(r"sha256:([0-9a-fA-F]{64})")


class Access(enum.IntEnum):
    """What a credential allows; WRITE includes READ."""

    READ = 1
    WRITE = 2


@dataclass(frozen=True)
class Identity:
    """Who is calling, and what they may do."""

    name: str
    access: Access


#: The caller on a server without a tokens file.
ANYONE = Identity("anonymous", Access.WRITE)


@dataclass(frozen=True)
class _Entry:
    name: str
    digest: bytes
    access: Access
    user: bool


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Authenticator:
    """Checks the ``Authorization`` header of a request against the configured credentials."""

    def __init__(self, entries: list[_Entry] | None = None) -> None:
        self._entries = list(entries) if entries is not None else None

    @property
    def enabled(self) -> bool:
        """Whether credentials are required at all."""
        return self._entries is not None

    def identify(self, authorization: str | None) -> Identity | None:
        """The caller named by the header, or None when it names nobody we know."""
        if self._entries is None:
            return ANYONE
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return self._match(None, _digest(value))
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                return None
            user, sep, password = decoded.partition(":")
            if not sep:
                return None
            return self._match(_digest(user), _digest(password))
        return None

    def _match(self, user: bytes | None, secret: bytes) -> Identity | None:
        """Compare against every entry (no early exit) and return the one that matched."""
        found: _Entry | None = None
        for entry in self._entries or ():
            same_secret = hmac.compare_digest(entry.digest, secret)
            if user is None:
                ok = same_secret and not entry.user
            else:
                same_user = hmac.compare_digest(_digest(entry.name), user)
                ok = same_secret and same_user and entry.user
            if ok and found is None:
                found = entry
        return None if found is None else Identity(found.name, found.access)


def _access(value: object, where: str) -> Access:
    if value in ("read", "write"):
        return Access.READ if value == "read" else Access.WRITE
    raise ConfigurationError(f"{where}: access must be 'read' or 'write', got {value!r}.")


def _secret_digest(secret: object, where: str, minimum: int) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError(f"{where}: the secret is missing or not text.")
    hashed = _DIGEST_RE.fullmatch(secret)
    if hashed:
        return bytes.fromhex(hashed.group(1))
    if len(secret) < minimum:
        raise ConfigurationError(
            f"{where}: a secret of {len(secret)} characters can be guessed; use at least "
            f"{minimum} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    return _digest(secret)


def _from_tables(data: dict[str, Any], source: str) -> list[_Entry]:
    unknown = set(data) - {"tokens", "users"}
    if unknown:
        raise ConfigurationError(
            f"{source}: unknown section(s) {sorted(unknown)}; the file has 'tokens' and 'users'."
        )
    entries: list[_Entry] = []
    for kind, secret_key, minimum in (
        ("tokens", "token", MIN_TOKEN_LENGTH),
        ("users", "password", MIN_PASSWORD_LENGTH),
    ):
        items = data.get(kind, [])
        if not isinstance(items, list):
            raise ConfigurationError(f"{source}: '{kind}' must be a list of tables.")
        for i, item in enumerate(items):
            where = f"{source}: {kind}[{i}]"
            if not isinstance(item, dict):
                raise ConfigurationError(f"{where} must be a table with {secret_key} and access.")
            name = item.get("name", f"{kind[:-1]}-{i + 1}")
            if not isinstance(name, str) or not name or (kind == "users" and ":" in name):
                raise ConfigurationError(f"{where}: name must be text (users' without ':').")
            entries.append(
                _Entry(
                    name=name,
                    digest=_secret_digest(item.get(secret_key), where, minimum),
                    access=_access(item.get("access"), where),
                    user=kind == "users",
                )
            )
    return entries


def _from_text(text: str, source: str) -> list[_Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"{source}, line {number}"
        if len(parts) != 2:
            raise ConfigurationError(f"{where}: expected '<read|write> <token>'.")
        entries.append(
            _Entry(
                name=f"token-line-{number}",
                digest=_secret_digest(parts[1], where, MIN_TOKEN_LENGTH),
                access=_access(parts[0], where),
                user=False,
            )
        )
    return entries


def load(path: Path) -> Authenticator:
    """The credentials in ``path``; a file that cannot be used stops the server from starting."""
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigurationError(
            f"cannot read the tokens file {source}: {type(exc).__name__}; check --auth-file."
        ) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            entries = _from_tables(tomllib.loads(text), source)
        elif suffix == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ConfigurationError(f"{source}: expected a JSON object with 'tokens'.")
            entries = _from_tables(data, source)
        else:
            entries = _from_text(text, source)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{source} does not parse: {exc}") from None
    if not entries:
        raise ConfigurationError(
            f"{source} lists no token or user; add one, or start without --auth-file."
        )
    return Authenticator(entries)
