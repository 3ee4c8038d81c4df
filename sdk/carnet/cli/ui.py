"""``carnet ui``: start the Streamlit dashboard on a store."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import click

from carnet.cli._common import db_option
from carnet.errors import ConfigurationError
from carnet.uri import resolve_uri

PASSWORD_VAR = "CARNET_UI_PASSWORD"
SESSION_HOURS_VAR = "CARNET_UI_SESSION_HOURS"


def dashboard_app() -> Path:
    """Where ``dashboard/app.py`` is installed (it ships as the top-level ``dashboard``)."""
    spec = importlib.util.find_spec("dashboard")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        app = Path(folder) / "app.py"
        if app.is_file():
            return app
    raise ConfigurationError(
        "the Carnet dashboard is not installed (no dashboard/app.py found); "
        "reinstall Carnet with `pip install carnet`."
    )


def streamlit_command(app: Path, uri: str, host: str, port: int) -> list[str]:
    """The exact command that serves the dashboard (split out so tests can check it).

    ``dashboard.serve`` is Streamlit's server with the dashboard's imports done
    before it listens (so the first visitor does not wait for them) and, when a
    password is set, a sign-in page that keeps a browser signed in with a cookie.
    """
    return [
        sys.executable, "-m", "dashboard.serve", "run", str(app),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--", "--db", uri,
    ]  # fmt: skip


@click.command()
@db_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 shares the dashboard on your network.",
)
@click.option(
    "--port",
    default=8501,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    default=None,
    help=f"Ask viewers for the shared password held in environment variable VAR "
    f"(passed to the dashboard as ${PASSWORD_VAR}).",
)
@click.option(
    "--session-hours",
    type=click.FloatRange(0.1, 744),
    default=None,
    metavar="HOURS",
    help=f"How long a password sign-in lasts (default 12, or ${SESSION_HOURS_VAR}).",
)
@click.option(
    "--dry-run", is_flag=True, hidden=True, help="Print the command instead of running it."
)
def ui(
    db: str | None,
    host: str,
    port: int,
    password_env: str | None,
    session_hours: float | None,
    dry_run: bool,
) -> None:
    """Open the dashboard (Streamlit) on a store."""
    uri = resolve_uri(db)
    env = dict(os.environ)
    if session_hours is not None:
        env[SESSION_HOURS_VAR] = repr(session_hours)
    if password_env is not None:
        password = os.environ.get(password_env)
        if not password:
            raise ConfigurationError(
                f"--password-env {password_env}: that environment variable is unset or empty; "
                f"export {password_env}=<password> first."
            )
        env[PASSWORD_VAR] = password
    command = streamlit_command(dashboard_app(), uri, host, port)
    _advise(uri, host, password_env)
    if dry_run:
        click.echo(" ".join(command))
        return
    click.echo(f"Carnet dashboard on http://{host}:{port} (store: {redact(uri)}); Ctrl+C stops it.")
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        # Become Streamlit: signals (Ctrl+C, a container's SIGTERM) reach it directly
        # and no orphaned server outlives a killed wrapper.
        os.execve(command[0], command, env)
    try:
        code = subprocess.call(command, env=env)  # a fixed argv, no shell
    except KeyboardInterrupt:
        code = 0
    if code:
        sys.exit(code)


def _advise(uri: str, host: str, password_env: str | None) -> None:
    """Warnings a person starting the dashboard wants before it starts."""
    from carnet.store.engine import sqlite_path

    path = sqlite_path(uri)
    if path is not None and not path.exists():
        click.echo(f"note: no store at {path} yet; log a run to it, or pass --db.", err=True)
    if host not in ("127.0.0.1", "localhost", "::1") and password_env is None:
        click.echo(
            f"note: listening on {host} without --password-env: anyone who can reach this "
            "machine can read every run.",
            err=True,
        )


def redact(uri: str) -> str:
    """Hide a password in a PostgreSQL URI before printing it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return uri
