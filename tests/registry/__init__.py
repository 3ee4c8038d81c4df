"""The model registry: store, client, searches, model URIs, server and MLflow partner."""
