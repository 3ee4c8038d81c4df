"""``start_run``'s link to :mod:`carnet.capture`: gather the record, keep it, tag the run.

The environment record is kept in the store before the run is created, once
per store and record in a process (the store keeps a record once anyway; this
saves the round trip), so the run's tag never names a record the store lacks.
Recording what a reproduction needs must never stop a run from starting: a
failure to gather or keep it is logged as a warning on the ``carnet`` logger
and the run goes on without the record (``carnet reproduce`` then says what is
missing).
"""

from __future__ import annotations

import logging
import threading

from carnet import capture
from carnet.client import Client

__all__ = ["at_start"]

_log = logging.getLogger("carnet")
#: (store URI, digest) of the records this process has kept.
_kept: set[tuple[str, str]] = set()
_kept_lock = threading.Lock()


def at_start(client: Client) -> dict[str, str]:
    """The tags of the run about to start that point at its environment record, kept in
    ``client``'s store first; no tags when capture is off or failed."""
    try:
        record = capture.at_run_start()
    except Exception as exc:  # a broken distribution's metadata, an unreadable file...
        _log.warning("carnet: could not record this run's environment: %s", exc)
        return {}
    if record is None:
        return {}
    environment = record.environment
    if environment is None:
        return record.tags
    key = (client.store.uri, environment.digest)
    with _kept_lock:
        kept = key in _kept
    if not kept:
        try:
            client.store.put_environment_record(environment)
        except Exception as exc:  # a read-only store, a server without the endpoint...
            _log.warning("carnet: could not store this run's environment record: %s", exc)
            return {k: v for k, v in record.tags.items() if k != capture.ENVIRONMENT_TAG}
        with _kept_lock:
            _kept.add(key)
    return record.tags
