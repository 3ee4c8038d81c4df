"""``carnet server``: MLflow's REST API and the dashboard on one port.

A thin HTTP layer over :class:`carnet.Client`: it parses and bounds requests,
checks credentials, calls the public API and answers in MLflow's JSON, so the
unmodified ``mlflow`` client (``MLFLOW_TRACKING_URI=http://host:port``) logs
to a Carnet store. It keeps no storage logic of its own. One concern a module:

- ``app``        assembly: Streamlit's ASGI app with the API routes, run by uvicorn
- ``settings``   how the server was started (store, artifact folder, limits, tokens file)
- ``endpoints``  what every request goes through: credentials, method, errors
- ``parsing``    request bodies and query strings, bounded and typed; artifact paths
- ``errors``     MLflow's error JSON and status codes
- ``wire``       Carnet's entities as MLflow's JSON
- ``tracking``   experiments, runs, metrics
- ``artifacts``  the ``mlflow-artifacts`` proxy: upload, download, list
- ``auth``       tokens and users
- ``writes``     where blocking calls run (one writer thread on SQLite)
- ``batch_ids``  log-batch written once per batch id (Carnet's REST store retries safely)
- ``keepalive``  heartbeats for the runs of clients that beat for none (MLflow's)
- ``guard``      API paths answered by the API's routes ahead of the dashboard; unsafe ones refused

See ``docs/server.md`` for running it.
"""

from carnet.server.app import create_app, serve
from carnet.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "serve"]
