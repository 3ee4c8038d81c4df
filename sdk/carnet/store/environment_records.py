"""Environment records: what runs need to be run again, kept once per distinct content.

A process that starts a thousand runs has one environment (its packages, its
entry point, its commit and uncommitted patch): :mod:`carnet.capture` stores
it once, under the sha256 of its content, and each run points at it with a tag.
The digest is checked against the content here, so a record can never be put
under a digest it does not have, and putting the same content again writes
nothing.
"""

from __future__ import annotations

from carnet.entities import EnvironmentRecord
from carnet.errors import InvalidInputError, NotFoundError
from carnet.record_digest import DIGEST, check_record
from carnet.store.base import StoreBase
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.sql_helpers import now_ms

__all__ = ["EnvironmentRecordStore"]


class EnvironmentRecordStore(StoreBase):
    """``put_environment_record`` and ``get_environment_record``."""

    def put_environment_record(self, record: EnvironmentRecord) -> None:
        """Keep a record under its digest; a record already kept is left as it is."""
        self.check_writable()
        check_record(record.digest, record.record, record.patch)
        with write_transaction(self.engine) as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO environment_records (digest, record, patch, created)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING"
                ),
                (record.digest, record.record, record.patch, now_ms()),
            )

    def get_environment_record(self, digest: str) -> EnvironmentRecord:
        """The record kept under ``digest``; NotFoundError when there is none."""
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise InvalidInputError(
                f"an environment record's digest is 64 lowercase hex digits, got {digest!r:.80}."
            )
        with read_cursor(self.engine) as cur:
            cur.execute(
                self._sql("SELECT record, patch FROM environment_records WHERE digest = ?"),
                (digest,),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFoundError(f"no environment record {digest} in this store.")
        patch = None if row[1] is None else bytes(row[1])
        return EnvironmentRecord(digest, bytes(row[0]), patch)
