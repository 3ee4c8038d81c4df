"""Start Streamlit on the dashboard with its heavy imports already done.

A fresh server would otherwise import pandas, Altair, SQLAlchemy and the
dashboard's modules while its first visitor waits; doing it here, before the
server listens, keeps that first page load as quick as every later one.
``carnet ui`` runs ``python -m dashboard.serve run <app.py> ...`` with the
arguments of ``streamlit run``.
"""

from __future__ import annotations

import sys


def warm_up() -> None:
    """Import what the first script run needs (each costs tenths of a second cold)."""
    import altair  # noqa: F401
    import pandas  # noqa: F401

    import carnet.store.sql_store  # noqa: F401  (SQLAlchemy and SQLModel)
    from dashboard import analysis, auth, charts, data, frames, series, state, ui  # noqa: F401


def main() -> None:
    warm_up()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
