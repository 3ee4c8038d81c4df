"""Carnet's benchmark suite: ``python -m bench`` (see ``bench/__main__.py``).

Every measurement runs in a fresh subprocess (Carnet's in the project's venv,
MLflow's in ``bench/.venv-mlflow``), so no workload inherits another's imports,
caches or garbage. The suite prints figures and ratios; it never asserts a
timing. It does check that what was logged is really in the store.
"""
