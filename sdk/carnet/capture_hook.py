"""``start_run``'s link to :mod:`carnet.capture`: gather the record, then store it.

Recording what a reproduction needs must never stop a run from starting: a
failure to gather or store it is logged as a warning on the ``carnet`` logger
and the run goes on without it (``carnet reproduce`` then says what is missing).
"""

from __future__ import annotations

import logging

from carnet import capture
from carnet.client import Client

__all__ = ["at_start", "store"]

_log = logging.getLogger("carnet")


def at_start() -> capture.StartRecord | None:
    """The record of the run about to start (its tags go into the new run), or None when
    capture is off or failed."""
    try:
        return capture.at_run_start()
    except Exception as exc:  # a broken distribution's metadata, an unreadable file...
        _log.warning("carnet: could not record this run's environment: %s", exc)
        return None


def store(client: Client, run_id: str, record: capture.StartRecord | None) -> None:
    """Write the record's files as artifacts of the run just created."""
    if record is None:
        return
    try:
        client.log_files(run_id, record.files)
    except Exception as exc:  # an artifact root that refuses writes
        _log.warning("carnet: could not store run %s's environment record: %s", run_id, exc)
