"""Environment records' digests and bounds, shared by the stores, the server and capture.

A record (JSON bytes: packages, entry point, commit) and a working tree's
uncommitted patch are kept under the sha256 of both (see
:mod:`carnet.store.environment_records`); each side checks the digest and
the sizes with :func:`check_record` before writing or sending anything.
"""

from __future__ import annotations

import hashlib
import re

from carnet.errors import InvalidInputError

__all__ = ["DIGEST", "MAX_PATCH_BYTES", "MAX_RECORD_BYTES", "check_record", "record_digest"]

#: The largest record kept (a few thousand installed distributions fit many times over).
MAX_RECORD_BYTES = 4 << 20
#: The largest uncommitted patch kept; capture omits a larger one rather than cut it.
MAX_PATCH_BYTES = 1 << 20
DIGEST = re.compile(r"[0-9a-f]{64}")


def record_digest(record: bytes, patch: bytes | None) -> str:
    """The sha256 naming a record and its patch (the record's length first, so no two
    different pairs share a digest)."""
    h = hashlib.sha256(len(record).to_bytes(8, "big"))
    h.update(record)
    h.update(patch or b"")
    return h.hexdigest()


def check_record(digest: str, record: bytes, patch: bytes | None) -> None:
    """Refuse a record too large, or one whose content does not have ``digest``."""
    if len(record) > MAX_RECORD_BYTES:
        raise InvalidInputError(
            f"an environment record is at most {MAX_RECORD_BYTES:,} bytes, got {len(record):,}."
        )
    if patch is not None and len(patch) > MAX_PATCH_BYTES:
        raise InvalidInputError(
            f"an uncommitted patch is at most {MAX_PATCH_BYTES:,} bytes, got {len(patch):,}."
        )
    if record_digest(record, patch) != digest:
        raise InvalidInputError(
            "the environment record's content does not match its digest; compute it with "
            "carnet.record_digest.record_digest."
        )
