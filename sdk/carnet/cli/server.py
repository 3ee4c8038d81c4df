"""``carnet server``: MLflow's REST API and the dashboard on one port.

It takes MLflow's flag names too (``--backend-store-uri``,
``--artifacts-destination``, ``--default-artifact-root``), so a command that
started ``mlflow server`` starts this one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import click

from carnet.artifact_location import configured_root
from carnet.cli._common import DB_HELP
from carnet.cli.ui import dashboard_app, redact
from carnet.errors import ConfigurationError
from carnet.server.settings import ENV_TOKENS_FILE
from carnet.settings import ARTIFACT_ROOT, TRACKING_URI
from carnet.uri import DEFAULT_URI, resolve_uri
from carnet.utils.s3_uri import S3Uri, is_s3_uri, parse_s3_uri

ENV_ARTIFACT_ROOT = ARTIFACT_ROOT.name
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def artifact_folder(given: str | None, uri: str) -> Path | S3Uri:
    """Where artifacts go: the option, else $CARNET_ARTIFACT_ROOT, else
    ``carnet-artifacts`` beside a SQLite store (or in the working directory).

    An ``s3://bucket/prefix`` root keeps them in an S3-compatible bucket, which the
    server reads and writes for its clients (they need no bucket credentials).
    """
    if given and given.startswith("mlflow-artifacts:"):
        given = None  # MLflow's name for "the server's own artifact folder"
    if given and is_s3_uri(given):
        try:
            return parse_s3_uri(given)
        except ValueError as exc:
            raise ConfigurationError(f"--artifacts {given!r}: {exc}.") from None
    if given:
        if "://" in given or given.startswith("file:"):
            parsed = urlparse(given)
            if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
                raise ConfigurationError(
                    f"--artifacts {given!r}: Carnet keeps artifacts in a local (or mounted) "
                    "folder, or in an S3 bucket; give a path, a file:// URI or "
                    "s3://bucket/prefix."
                )
            given = unquote(parsed.path)
        return Path(given).expanduser().resolve()
    env = configured_root()
    if env is not None:
        return env if isinstance(env, S3Uri) else env.resolve()
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :]).parent / "carnet-artifacts"
    return Path.cwd() / "carnet-artifacts"


@click.command()
@click.option("--db", "--backend-store-uri", "db", default=None, metavar="URI", help=DB_HELP)
@click.option(
    "--artifacts",
    "--artifacts-destination",
    "--default-artifact-root",
    "artifacts",
    default=None,
    metavar="DIR",
    help=f"Folder (or s3://bucket/prefix) for run artifacts, served to clients (default: "
    f"${ENV_ARTIFACT_ROOT}, else carnet-artifacts/ beside a SQLite store).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 serves your network (configure --auth-file).",
)
@click.option(
    "--port", "-p", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes; more than one needs PostgreSQL (on SQLite one process writes).",
)
@click.option(
    "--auth-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar=ENV_TOKENS_FILE,
    help=f"Tokens and users allowed to call the API (TOML, JSON or text; also "
    f"${ENV_TOKENS_FILE}). Without it anyone who can connect may read and write.",
)
@click.option(
    "--max-upload-mb",
    default=5120,
    show_default=True,
    type=click.IntRange(1, 10**7),
    help="Largest artifact one upload may carry, in megabytes.",
)
@click.option(
    "--ssl-keyfile", default=None, metavar="FILE", help="TLS private key (with --ssl-certfile)."
)
@click.option("--ssl-certfile", default=None, metavar="FILE", help="TLS certificate chain.")
@click.option(
    "--access-log/--no-access-log", default=False, show_default=True, help="Log every request."
)
def server(
    db: str | None,
    artifacts: str | None,
    host: str,
    port: int,
    workers: int,
    auth_file: Path | None,
    max_upload_mb: int,
    ssl_keyfile: str | None,
    ssl_certfile: str | None,
    access_log: bool,
) -> None:
    """Serve MLflow's REST API and the dashboard on one port.

    Point MLflow's client at it with MLFLOW_TRACKING_URI=http://HOST:PORT.
    """
    from carnet.server import ServerSettings, serve

    # MLFLOW_TRACKING_URI is where clients log (often this very server), never its store.
    uri = resolve_uri(db or TRACKING_URI.get() or DEFAULT_URI)
    if uri.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"carnet server serves a SQLite or PostgreSQL store, and {uri} is another server; "
            "give --db sqlite:///path/to/carnet.db or a postgresql+psycopg:// URL."
        )
    if workers > 1 and uri.startswith("sqlite:"):
        raise ConfigurationError(
            "--workers above 1 needs PostgreSQL: on SQLite one server process is the single "
            "writer (it orders concurrent writes itself). Use --workers 1, or a "
            "postgresql+psycopg:// store."
        )
    if (ssl_keyfile is None) != (ssl_certfile is None):
        raise ConfigurationError("give --ssl-keyfile and --ssl-certfile together, or neither.")
    settings = ServerSettings(
        uri=uri,
        artifact_root=artifact_folder(artifacts, uri),
        dashboard_script=dashboard_app(),
        auth_file=auth_file.resolve() if auth_file is not None else None,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        access_log=access_log,
    )
    if settings.auth_file is not None:
        from carnet.server.auth import load

        load(settings.auth_file)  # a file that cannot be used stops us here, in one line
    elif host not in _LOOPBACK:
        click.echo(
            f"note: listening on {host} without --auth-file: anyone who can reach this port "
            "can read and change every run.",
            err=True,
        )
    scheme = "https" if ssl_certfile else "http"
    click.echo(
        f"Carnet server on {scheme}://{host}:{port} (store: {redact(uri)}, artifacts: "
        f"{settings.artifact_root}); MLflow clients: MLFLOW_TRACKING_URI={scheme}://{host}:{port}"
    )
    sys.stdout.flush()
    serve(
        settings,
        host=host,
        port=port,
        workers=workers,
        ssl_keyfile=ssl_keyfile,
        ssl_certfile=ssl_certfile,
    )
