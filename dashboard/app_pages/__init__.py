"""The dashboard's pages (runs, compare, run), loaded by ``st.navigation`` in app.py."""
