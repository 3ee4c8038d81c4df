"""``carnet.tracking.MlflowClient``, for code that imports the client from there."""

from carnet.client import Client, MlflowClient

__all__ = ["Client", "MlflowClient"]
