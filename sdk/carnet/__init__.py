"""Carnet: experiment tracking with MLflow's API over a fast SQL store."""
