"""What a server was started with: the store, the artifact folder, the limits, the auth file.

One frozen record, built once by ``carnet server`` and handed to every part of
the app. With several worker processes each worker rebuilds it from the
environment (:meth:`ServerSettings.from_env`), so every worker serves the same
store the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from carnet.errors import ConfigurationError
from carnet.settings import SERVER_SETTINGS, SERVER_TOKENS_FILE
from carnet.utils.s3_uri import S3Uri, is_s3_uri, parse_s3_uri

#: The environment variable that carries the settings to worker processes.
ENV_SETTINGS = SERVER_SETTINGS.name
#: The environment variable naming the tokens file (also ``--auth-file``).
ENV_TOKENS_FILE = SERVER_TOKENS_FILE.name
#: Largest artifact one upload may carry, unless ``--max-upload-mb`` says otherwise.
DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024**3


def _root(text: str) -> Path | S3Uri:
    return parse_s3_uri(text) if is_s3_uri(text) else Path(text)


@dataclass(frozen=True)
class ServerSettings:
    """Everything the app needs to know about how it was started."""

    #: The store (a normalised tracking URI).
    uri: str
    #: Absolute folder (or S3 bucket and prefix) under which new runs keep their artifacts.
    artifact_root: Path | S3Uri
    #: The dashboard's Streamlit script, served at ``/``.
    dashboard_script: Path
    #: The tokens file, or None for a server that asks nobody for credentials.
    auth_file: Path | None = None
    #: Largest artifact upload, in bytes.
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    #: Log a line per request.
    access_log: bool = False

    @property
    def scratch_folder(self) -> Path | None:
        """Where uploads and downloads are staged: beside local artifacts, or the
        system's temporary folder when artifacts are in a bucket."""
        return self.artifact_root if isinstance(self.artifact_root, Path) else None

    @property
    def single_writer(self) -> bool:
        """On SQLite every write goes through one thread (one writer, no lock contention)."""
        return self.uri.startswith("sqlite:")

    def to_env(self) -> str:
        """The settings as text for :data:`ENV_SETTINGS`; the tokens file travels as its path,
        never its content."""
        return json.dumps(
            {
                "uri": self.uri,
                "artifact_root": str(self.artifact_root),
                "dashboard_script": str(self.dashboard_script),
                "auth_file": None if self.auth_file is None else str(self.auth_file),
                "max_upload_bytes": self.max_upload_bytes,
                "access_log": self.access_log,
            }
        )

    @classmethod
    def from_env(cls) -> ServerSettings:
        """The settings a worker process was given by the process that started it."""
        raw = SERVER_SETTINGS.get()
        if not raw:
            raise ConfigurationError(
                f"{ENV_SETTINGS} is not set; start the server with `carnet server`."
            )
        try:
            data = json.loads(raw)
            return cls(
                uri=str(data["uri"]),
                artifact_root=_root(str(data["artifact_root"])),
                dashboard_script=Path(data["dashboard_script"]),
                auth_file=None if data["auth_file"] is None else Path(data["auth_file"]),
                max_upload_bytes=int(data["max_upload_bytes"]),
                access_log=bool(data["access_log"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"{ENV_SETTINGS} is malformed ({type(exc).__name__}); start the server with "
                "`carnet server` rather than setting it by hand."
            ) from None
