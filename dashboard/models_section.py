"""The run page's "Logged models" section: the models a run logged, with their signatures.

The one place the run page draws logged models: it reads them through
:mod:`dashboard.data` and shows :func:`dashboard.model_frames.logged_model_rows`
as a table of text.
"""

from __future__ import annotations

import streamlit as st

import carnet
from dashboard import data, model_frames
from dashboard.ui import Context


def logged_models_table(run: carnet.Run, ctx: Context) -> None:
    """The run's logged models (name, id, status, flavours, signature); nothing if none."""
    models = data.run_models(ctx.uri, ctx.version, run.info.experiment_id, run.info.run_id)
    if not models:
        return
    descriptors = {m.model_id: data.model_descriptor(ctx.uri, m.model_id) for m in models[:50]}
    st.subheader("Logged models")
    rows = model_frames.logged_model_rows(models, descriptors)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Load one with carnet.pyfunc.load_model('models:/<model_id>').")
