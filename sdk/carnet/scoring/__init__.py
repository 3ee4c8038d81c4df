"""``carnet models serve``: a model behind MLflow's scoring protocol.

``POST /invocations`` takes the bodies MLflow's scoring server takes
(``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, with
optional ``params``, or CSV) and answers ``{"predictions": [...]}`` as it does;
``GET /ping``, ``/health`` and ``/version`` answer as MLflow's do. A body that
does not fit the model's signature, or is not one of those formats, gets a 4xx
with MLflow's ``{"error_code": ..., "message": ...}``, never a traceback.

Modules, top to bottom (imports point down):

- ``app``         the Starlette app, its worker factory and ``serve`` (uvicorn)
- ``docker``      the build context of an image serving a model (``build-docker``)
- ``invocations`` one request body to one answer: parse, predict, shape the JSON
- ``fastpath``    numeric column models: a JSON body straight to one NumPy block
- ``parsing``     content types and MLflow's body formats, bounded
- ``output``      predictions as MLflow's JSON
- ``codec``       JSON in and out: orjson when installed, else the standard library
- ``errors``      the refusals: status, MLflow error code, message
"""
