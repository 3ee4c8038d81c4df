"""Carnet's Streamlit dashboard: a read-only view of a tracking store (``carnet ui``)."""
