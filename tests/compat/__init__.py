"""MLflow-compatibility audit: differential tests against real MLflow, and API surface."""
