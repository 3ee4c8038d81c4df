"""Heartbeats for runs whose client beats for none: MLflow's client.

A Carnet process beats for its running runs, and a RUNNING run whose beats
stop reads as CRASHED once ``CARNET_HEARTBEAT_TIMEOUT`` has passed. MLflow's
client never beats, and may log once every few minutes, so its runs would read
as CRASHED a minute after they start. The rule on a server:

- a run created through the API by a client that says it beats for the run
  (Carnet's REST store sends ``X-Carnet-Heartbeat: client`` and then posts to
  ``/api/2.0/carnet/runs/heartbeat``) is left to that client: when its process
  dies, the run reads as CRASHED, as with a direct store;
- any other run created through the API gets the tag ``mlflow.carnet.heartbeat =
  server``, and the server beats, every ``CARNET_HEARTBEAT_INTERVAL`` seconds,
  for every such run that is still RUNNING (or read as CRASHED while no server
  was up), until it is ended. Such a run is RUNNING until its client ends it, as
  on MLflow's server; a client that died leaves it RUNNING.

The tag lives in the store, so the rule holds across restarts and for every
server or worker sharing the store: each beats for all such runs, which costs
one search and one update per interval. Everything goes through the public
``Client`` and ``Store`` methods.
"""

from __future__ import annotations

import asyncio
import logging

from carnet import settings
from carnet.entities import ViewType
from carnet.server.endpoints import ServerState
from carnet.sysinfo import HEARTBEAT_TAG

logger = logging.getLogger("carnet.server")

#: The request header with which a client says it beats for the run it creates.
CLIENT_BEATS_HEADER = "x-carnet-heartbeat"
#: The tag of runs the server beats for, and its value.
KEEPALIVE_TAG = HEARTBEAT_TAG
KEEPALIVE_VALUE = "server"
KEPT_RUNS = (
    f"tags.`{KEEPALIVE_TAG}` = '{KEEPALIVE_VALUE}' AND attributes.status IN ('RUNNING', 'CRASHED')"
)


def kept_runs(state: ServerState) -> list[str]:
    """The ids of the runs the server beats for: tagged, not ended, not deleted."""
    client = state.client
    experiments = [e.experiment_id for e in client.search_experiments(max_results=None)]
    if not experiments:
        return []
    runs = client.search_runs(experiments, KEPT_RUNS, ViewType.ACTIVE_ONLY, max_results=None)
    return [r.info.run_id for r in runs]


async def beat_once(state: ServerState) -> int:
    """Beat for every run the server keeps alive; returns how many there were."""
    ids = await state.calls.read(lambda: kept_runs(state))
    if ids:
        await state.calls.write(lambda: state.client.store.heartbeat(ids))
    return len(ids)


async def keep_alive(state: ServerState) -> None:
    """Beat for the kept runs every ``CARNET_HEARTBEAT_INTERVAL`` seconds, until cancelled.

    A failed round (the store is busy or down) is logged once and tried again at
    the next interval.
    """
    reported: str | None = None
    while True:
        await asyncio.sleep(settings.HEARTBEAT_INTERVAL.get_or_default())
        try:
            await beat_once(state)
        except Exception as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            if text != reported:
                logger.warning("could not beat for the runs MLflow clients started: %s", text)
            reported = text
        else:
            reported = None
