"""The REST store: the ``Store`` protocol spoken over MLflow's REST API to a tracking server.

``http://`` and ``https://`` tracking URIs open it. It talks to ``carnet
server`` (and, for what MLflow's API has, to MLflow's own server). One concern
a module:

- ``session``    HTTP: a pooled keep-alive connection pool, credentials, timeouts,
                 retries with exponential backoff (``Retry-After`` honoured)
- ``errors``     MLflow's error answers as Carnet's error classes
- ``wire``       MLflow's JSON as Carnet's entities, and back
- ``batches``    log-batch requests within MLflow's limits, with idempotency keys
- ``artifacts``  run artifacts through the server's ``mlflow-artifacts`` proxy
- ``registry``   the model registry through MLflow's registry endpoints
- ``store``      ``RestStore``, which joins them into the protocol

See ``docs/server.md`` ("Carnet's SDK over HTTP") for what differs from a
direct store.
"""

from carnet.store.rest.store import RestStore

__all__ = ["RestStore"]
