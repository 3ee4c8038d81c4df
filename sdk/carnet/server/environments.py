"""Carnet's own environment-record endpoints (MLflow's client never sends them).

Carnet's SDK over http stores what a run needs to be run again (see
:mod:`carnet.capture`) once per distinct content, and ``carnet reproduce``
reads it back:

- ``POST /api/2.0/carnet/environments/put`` with ``{"digest", "record", "patch"}``
  (record and patch base64; patch may be absent), a write;
- ``GET /api/2.0/carnet/environments/get?digest=...``, the same object back.

The body has its own limit (a record and a patch at their largest, base64),
above the 1 MB of MLflow's endpoints; the store checks the digest against the
content, so nothing can be put under a digest it does not have.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from carnet.entities import EnvironmentRecord
from carnet.record_digest import DIGEST, MAX_PATCH_BYTES, MAX_RECORD_BYTES
from carnet.server.endpoints import Context, Endpoint, json_endpoint, json_response
from carnet.server.errors import invalid
from carnet.server.parsing import Fields, loads, read_body

#: A put body at its largest: both parts base64 (4 bytes per 3), and the JSON around them.
MAX_PUT_BYTES = (MAX_RECORD_BYTES + MAX_PATCH_BYTES) * 4 // 3 + 4096


def _decoded(f: Fields, name: str, *, required: bool) -> bytes | None:
    text = f.string(name, required=required)
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"'{name}' must be base64 (RFC 4648, with padding).") from None


def _digest(f: Fields) -> str:
    digest = f.required_string("digest")
    if not DIGEST.fullmatch(digest):
        raise invalid("'digest' must be 64 lowercase hex digits (a sha256).")
    return digest


async def put_environment(request: Request, ctx: Context) -> Response:
    """Keep an environment record; the same one put again writes nothing."""
    too_large = invalid(
        f"An environment record is at most {MAX_RECORD_BYTES:,} bytes and its patch "
        f"{MAX_PATCH_BYTES:,} bytes."
    )
    body = await read_body(request, MAX_PUT_BYTES, too_large)
    if request.headers.get("content-type", "").split(";", 1)[0].strip() != "application/json":
        raise invalid("Send the request body as JSON, with 'Content-Type: application/json'.")
    try:
        data = loads(body)
    except (ValueError, RecursionError):
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise invalid("The request body must be a JSON object.")
    f = Fields(data)
    digest = _digest(f)
    record = _decoded(f, "record", required=True)
    assert record is not None
    item = EnvironmentRecord(digest, record, _decoded(f, "patch", required=False))
    await ctx.write(lambda: ctx.client.store.put_environment_record(item))
    return json_response({})


async def get_environment(f: Fields, ctx: Context) -> dict[str, Any]:
    """One environment record by its digest (404 when the store has none)."""
    digest = _digest(f)
    item = await ctx.read(lambda: ctx.client.store.get_environment_record(digest))
    out: dict[str, Any] = {"digest": item.digest, "record": base64.b64encode(item.record).decode()}
    if item.patch is not None:
        out["patch"] = base64.b64encode(item.patch).decode()
    return out


ENDPOINTS = [
    Endpoint("POST", "/2.0/carnet/environments/put", put_environment, write=True),
    Endpoint("GET", "/2.0/carnet/environments/get", json_endpoint(get_environment)),
]
