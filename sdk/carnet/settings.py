"""Every environment variable Carnet reads, declared once: name, type, default, meaning.

Code reads a setting through its accessor when it needs the value, never at
import, so a variable set after ``import carnet`` (by a test, a notebook, a
launcher) is honoured::

    from carnet import settings

    interval = settings.FLUSH_INTERVAL.get()  # float, seconds

``get()`` parses the variable's text each time it changes and otherwise returns
the value it parsed last, so a read costs one environment lookup. A value that
does not parse raises :class:`~carnet.errors.ConfigurationError` naming the
variable, the bad value and what is expected. An unset or empty variable means
its default.

Hot paths do not read the environment on every call: the buffered writer reads
its queue limit when it is created and its interval once per flush, readers
read the crash timeout once per query, and the heartbeat thread reads its
interval once per beat. Background threads read through :meth:`Setting.get_or_default`,
which logs a bad value and goes on with the default instead of dying.

The variables of the last section are read only by the test suite, the
benchmarks and the CI scripts, never by the library; they are declared here so
that ``docs/settings.md`` lists every variable in one place. That page is
generated from this module: after a change here, run :data:`REGENERATE_DOCS`
from the repository root (a test fails while the page is out of date).

This module imports only the standard library and :mod:`carnet.errors`, so any
layer may use it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from carnet.errors import ConfigurationError

T = TypeVar("T")

#: The command that rewrites docs/settings.md from this module, run from the repository root.
REGENERATE_DOCS = 'python -c "import carnet.settings as s; s.write_docs()"'
#: The sections of docs/settings.md, in order.
SECTIONS = (
    "Tracking",
    "Buffered logging",
    "Store and artifacts",
    "Dashboard, server and command line",
    "Container image and compose file",
    "MLflow's variables",
    "Development only (tests, benchmarks, CI)",
)


class Setting(Generic[T]):
    """One environment variable, read and parsed when :meth:`get` is called."""

    __slots__ = (
        "_cache",
        "_parse",
        "_reported",
        "default",
        "default_text",
        "expects",
        "meaning",
        "name",
        "section",
        "type_name",
    )

    def __init__(
        self,
        name: str,
        parse: Callable[[str], T],
        default: T,
        *,
        type_name: str,
        expects: str,
        meaning: str,
        section: str,
        default_text: str | None = None,
    ) -> None:
        if section not in SECTIONS:
            raise ValueError(f"{name}: unknown section {section!r}")
        self.name = name
        self._parse = parse
        self.default = default
        self.type_name = type_name
        self.expects = expects
        self.meaning = meaning
        self.section = section
        self.default_text = default_text if default_text is not None else _show(default)
        self._cache: tuple[str | None, T] | None = None
        self._reported: str | None = None

    def raw(self) -> str | None:
        """The variable's text, or None when it is unset or empty (for callers that
        parse leniently or only pass the text on)."""
        return os.environ.get(self.name) or None

    def is_set(self) -> bool:
        """Whether the variable holds a value (unset or empty: the default applies)."""
        return self.raw() is not None

    def get(self) -> T:
        """The value now: parsed from the environment, or the default when unset or empty.

        Raises ConfigurationError when the text does not parse; the error names the
        variable, the bad value and what is expected.
        """
        text = os.environ.get(self.name)
        cached = self._cache
        if cached is not None and cached[0] == text:
            return cached[1]
        value = self._convert(text)
        self._cache = (text, value)  # one tuple: a concurrent reader sees old or new, whole
        return value

    def get_or_default(self) -> T:
        """The value now, for a background thread, which has no caller to raise to.

        A value that does not parse is reported once (an error on the ``carnet``
        logger, with the same message :meth:`get` raises) and the default is used.
        """
        try:
            return self.get()
        except ConfigurationError as exc:
            text = os.environ.get(self.name)
            if text != self._reported:
                self._reported = text
                logging.getLogger("carnet").error("carnet: %s", exc)
            return self.default

    def _convert(self, text: str | None) -> T:
        if not text:
            return self.default
        try:
            return self._parse(text)
        except ValueError as exc:
            reason = f" ({exc})" if str(exc) else ""
            raise ConfigurationError(
                f"environment variable {self.name}={text!r} is not valid{reason}: expected "
                f"{self.expects}. Fix it, or unset it to use the default ({self.default_text})."
            ) from None

    def __repr__(self) -> str:
        return f"Setting({self.name!r}, default={self.default_text})"


def _show(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "false" if not value else "true"
    if isinstance(value, tuple):
        return "none" if not value else ", ".join(map(str, value))
    return str(value)


# -- parsers: each raises ValueError (with a reason when one helps) -------------------------


def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _artifact_root(text: str) -> Path | str:
    """A local folder, or the text of an ``s3://bucket/prefix`` URI (never a Path, which
    would fold its ``//``); :func:`carnet.artifact_location.configured_root` checks it."""
    stripped = text.strip()
    return stripped if stripped[:5].lower() == "s3://" else _path(text)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("")


def _number(minimum: float, *, inclusive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)  # ValueError for text that is no number
        if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
            raise ValueError("")
        return value

    return parse


def _whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)  # ValueError for text that is no whole number
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError("")
        return value

    return parse


def _hours(text: str) -> float:
    value = float(text)
    if not MIN_SESSION_HOURS <= value <= MAX_SESSION_HOURS:
        raise ValueError("")
    return value


def _choice(allowed: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().upper()
        if value not in allowed:
            raise ValueError("")
        return value

    return parse


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if len(names) > 50:
        raise ValueError(f"it lists {len(names)} names")
    for name in names:
        if not name.replace("_", "a").isalnum() or not name.isascii() or name[0].isdigit():
            raise ValueError(f"{name!r} is not a variable name")
    return names


def _absolute_folders(text: str) -> tuple[Path, ...]:
    folders: list[Path] = []
    for entry in text.split(os.pathsep):
        entry = entry.strip()
        if not entry:
            continue
        folder = Path(entry).expanduser()
        if not folder.is_absolute():
            raise ValueError(f"it lists {entry!r}, which is not an absolute path")
        folders.append(folder)
    return tuple(folders)


# -- typed declarations --------------------------------------------------------------------


def _seconds(
    name: str, default: float, meaning: str, section: str, *, zero_ok: bool = False
) -> Setting[float]:
    bound = "0 or more" if zero_ok else "greater than 0"
    return Setting(
        name,
        _number(0.0, inclusive=zero_ok),
        default,
        type_name="seconds",
        expects=f"a number of seconds, {bound} (e.g. {default:g})",
        meaning=meaning,
        section=section,
        default_text=f"{default:g}",
    )


def _flag(name: str, meaning: str, section: str) -> Setting[bool]:
    return Setting(
        name,
        _bool,
        False,
        type_name="boolean",
        expects="one of 1, true, yes, on or 0, false, no, off (any case)",
        meaning=meaning,
        section=section,
    )


def _optional_text(
    name: str, meaning: str, section: str, *, default_text: str = "unset"
) -> Setting[str | None]:
    return Setting[str | None](
        name,
        _text,
        None,
        type_name="text",
        expects="any text",
        meaning=meaning,
        section=section,
        default_text=default_text,
    )


def _optional_path(
    name: str, meaning: str, section: str, *, default_text: str
) -> Setting[Path | None]:
    return Setting[Path | None](
        name,
        _path,
        None,
        type_name="path",
        expects="a file or folder path",
        meaning=meaning,
        section=section,
        default_text=default_text,
    )


_TRACKING, _BUFFERED, _STORE, _SERVING, _CONTAINER, _MLFLOW, _DEVELOPMENT = SECTIONS

# -- Tracking ------------------------------------------------------------------------------

#: The store used when no URI is given in code (``set_tracking_uri``) or on the command line.
TRACKING_URI = _optional_text(
    "CARNET_TRACKING_URI",
    "The store the SDK, the command line and the dashboard use when none is given in code "
    "or as an option: a SQLite path or URI, a `postgresql+psycopg://` URL, or the "
    "`http://` or `https://` address of a `carnet server`.",
    _TRACKING,
    default_text="`sqlite:///carnet.db` in the working directory",
)
#: The experiment runs start in when the code sets none.
EXPERIMENT_NAME = _optional_text(
    "CARNET_EXPERIMENT_NAME",
    "The experiment (created if missing) that runs start in when the code sets none.",
    _TRACKING,
    default_text="`MLFLOW_EXPERIMENT_NAME`, else `Default`",
)
#: The id of the experiment runs start in when the code sets none; wins over the names.
EXPERIMENT_ID = _optional_text(
    "CARNET_EXPERIMENT_ID",
    "The id of the experiment that runs start in when the code sets none; it wins over "
    "the experiment name variables.",
    _TRACKING,
    default_text="`MLFLOW_EXPERIMENT_ID`, else unset",
)
#: The run the first ``start_run()`` resumes, as when a launcher hands a run to a script.
RUN_ID = _optional_text(
    "CARNET_RUN_ID",
    "A run id that the first `start_run()` without `run_id` resumes instead of starting a "
    "new run; `start_run` then removes the variable, so later runs are new ones.",
    _TRACKING,
    default_text="`MLFLOW_RUN_ID`, else unset",
)
#: Queue metric points in the background unless a call passes ``synchronous=``.
ASYNC_LOGGING = _flag(
    "CARNET_ASYNC_LOGGING",
    "Queue metric points and write them in the background (as `synchronous=False` does) "
    "for calls that do not pass `synchronous=`.",
    _TRACKING,
)
#: Sample the machine's CPU, memory, disk and network into every run (MLflow's system metrics).
SYSTEM_METRICS = _flag(
    "CARNET_ENABLE_SYSTEM_METRICS_LOGGING",
    "Log `system/...` metrics (CPU, memory, disk, network, GPU) of every run from a "
    "background thread, as MLflow does; needs `pip install 'carnet[system-metrics]'`. "
    "`start_run(log_system_metrics=)` and `enable_system_metrics_logging()` override it.",
    _TRACKING,
)
#: How often the system-metrics sampler records a point.
SYSTEM_METRICS_SAMPLING_INTERVAL = _seconds(
    "CARNET_SYSTEM_METRICS_SAMPLING_INTERVAL",
    10.0,
    "How often system metrics are sampled and logged (each sample is one step).",
    _TRACKING,
)
#: Record what it takes to run each run again (packages, uncommitted changes, entry point).
CAPTURE = Setting(
    "CARNET_CAPTURE",
    _bool,
    True,
    type_name="boolean",
    expects="one of 1, true, yes, on or 0, false, no, off (any case)",
    meaning="Record at each run's start what `carnet reproduce` needs to run it again: the "
    "installed packages, the git working tree's uncommitted changes, the entry point and "
    "the variables `CARNET_CAPTURE_ENV` names, kept once per process in the store (tag "
    "`mlflow.carnet.environment`). `off` records none of it.",
    section=_TRACKING,
)
#: The environment variables (names) whose values a run records for its reproduction.
CAPTURE_ENV = Setting[tuple[str, ...]](
    "CARNET_CAPTURE_ENV",
    lambda text: _names(text),
    (),
    type_name="names",
    expects="comma-separated environment variable names (letters, digits, _), at most 50",
    meaning="Environment variables whose values each run records (at most 1,000 characters "
    "each) and `carnet reproduce` sets again, e.g. `OMP_NUM_THREADS,PYTHONHASHSEED`. No "
    "other variable is ever recorded: do not list secrets.",
    section=_TRACKING,
)
#: Set by ``carnet reproduce`` for the command it runs: which run, and which of the
#: command's runs (by start order), reproduces which.
REPRODUCES = _optional_text(
    "CARNET_REPRODUCES",
    "Set by `carnet reproduce` for the command it runs, as `RUN_ID:N`: the N-th run the "
    "command starts is tagged `carnet.reproduces=RUN_ID`. Not for setting by hand.",
    _TRACKING,
)
#: Fluent calls log their failures instead of raising them (until enable/disable_safe_mode).
SAFE_MODE = _flag(
    "CARNET_SAFE_MODE",
    "Make fluent tracking calls log their failures instead of raising them, so tracking "
    "never kills a training job; `enable_safe_mode()` and `disable_safe_mode()` override it.",
    _TRACKING,
)
#: In safe mode, how long calls are skipped after the store failed.
SAFE_MODE_BACKOFF = _seconds(
    "CARNET_SAFE_MODE_BACKOFF",
    30.0,
    "In safe mode, how long tracking calls are skipped after the store failed, so a store "
    "that is down does not slow down every call.",
    _TRACKING,
    zero_ok=True,
)
#: How often a process marks its active runs as alive.
HEARTBEAT_INTERVAL = _seconds(
    "CARNET_HEARTBEAT_INTERVAL",
    10.0,
    "How often a process writes a heartbeat for its active runs.",
    _TRACKING,
)
#: How long a RUNNING run may go without a heartbeat before readers show it as CRASHED.
HEARTBEAT_TIMEOUT = _seconds(
    "CARNET_HEARTBEAT_TIMEOUT",
    60.0,
    "How long a RUNNING run may go without a heartbeat before readers show it as CRASHED; "
    "keep it several times `CARNET_HEARTBEAT_INTERVAL`.",
    _TRACKING,
)

#: The bearer token sent to a tracking server (``http(s)://`` tracking URIs).
TRACKING_TOKEN = _optional_text(
    "CARNET_TRACKING_TOKEN",
    "The token sent as `Authorization: Bearer` to a tracking server (`http(s)://` tracking "
    "URIs); wins over a user name and password.",
    _TRACKING,
    default_text="`MLFLOW_TRACKING_TOKEN`, else unset",
)
#: The user name sent to a tracking server with HTTP Basic authentication.
TRACKING_USERNAME = _optional_text(
    "CARNET_TRACKING_USERNAME",
    "The user name sent to a tracking server with HTTP Basic authentication, with "
    "`CARNET_TRACKING_PASSWORD`.",
    _TRACKING,
    default_text="`MLFLOW_TRACKING_USERNAME`, else unset",
)
#: The password sent to a tracking server with HTTP Basic authentication.
TRACKING_PASSWORD = _optional_text(
    "CARNET_TRACKING_PASSWORD",
    "The password sent to a tracking server with HTTP Basic authentication.",
    _TRACKING,
    default_text="`MLFLOW_TRACKING_PASSWORD`, else unset",
)
#: A CA bundle to trust for an ``https://`` tracking server.
TRACKING_SERVER_CERT_PATH = _optional_path(
    "CARNET_TRACKING_SERVER_CERT_PATH",
    "A CA certificate bundle (PEM) to trust for an `https://` tracking server, e.g. one "
    "with a self-signed certificate.",
    _TRACKING,
    default_text="`MLFLOW_TRACKING_SERVER_CERT_PATH`, else the system's",
)
#: Skip checking an ``https://`` tracking server's certificate.
TRACKING_INSECURE_TLS = _flag(
    "CARNET_TRACKING_INSECURE_TLS",
    "Do not check an `https://` tracking server's certificate (anyone on the path can then "
    "read and change the traffic; prefer `CARNET_TRACKING_SERVER_CERT_PATH`).",
    _TRACKING,
)
#: How long one request to a tracking server may wait for its answer.
HTTP_TIMEOUT = _seconds(
    "CARNET_HTTP_TIMEOUT",
    120.0,
    "How long one request to a tracking server may take to answer before it counts as "
    "failed (and is retried when that is safe).",
    _TRACKING,
)
#: How long requests to a tracking server are retried while it is unreachable or busy.
HTTP_RETRY_TIMEOUT = _seconds(
    "CARNET_HTTP_RETRY_TIMEOUT",
    120.0,
    "How long a request to a tracking server is retried, with growing pauses, while the "
    "server is unreachable or answers 429 or 503 (a `Retry-After` is honoured); 0 tries once.",
    _TRACKING,
    zero_ok=True,
)

# -- Buffered logging ----------------------------------------------------------------------

#: How often the background writer writes queued metric points.
FLUSH_INTERVAL = _seconds(
    "CARNET_FLUSH_INTERVAL",
    0.5,
    "How often the background writer writes queued (`synchronous=False`) metric points.",
    _BUFFERED,
)
#: How long points the store refuses for a passing reason are retried before being spooled.
RETRY_TIMEOUT = _seconds(
    "CARNET_RETRY_TIMEOUT",
    300.0,
    "How long queued points that the store refuses for a passing reason (a lock, a full "
    "disk, a lost connection) are retried before they are saved to a spool file.",
    _BUFFERED,
    zero_ok=True,
)
#: How many queued points may wait in memory before the logging call writes them itself.
MAX_QUEUED = Setting(
    "CARNET_MAX_QUEUED",
    _whole(1),
    250_000,
    type_name="integer",
    expects="a whole number of points, 1 or more (e.g. 250000)",
    meaning="How many metric points may wait in memory: beyond it the logging call writes "
    "the backlog itself, and the oldest points waiting for a retry are spooled.",
    section=_BUFFERED,
)
#: Where points the store refused for good are saved for ``carnet replay``.
SPOOL_DIR = _optional_path(
    "CARNET_SPOOL_DIR",
    "The folder where queued points the store would not take are saved for `carnet replay` "
    "(the temporary folder is tried next).",
    _BUFFERED,
    default_text="the SQLite file's folder, else the working directory",
)

# -- Store and artifacts -------------------------------------------------------------------

#: The folder (or ``s3://`` bucket and prefix) new runs keep their artifacts in.
ARTIFACT_ROOT = Setting[Path | str | None](
    "CARNET_ARTIFACT_ROOT",
    _artifact_root,
    None,
    type_name="path or URI",
    expects="a folder path, or an s3://bucket/prefix URI",
    meaning="The folder new runs keep their artifacts in (a shared folder for teams), or an "
    "S3-compatible bucket and prefix (`s3://bucket/prefix`, needs `pip install 'carnet[s3]'`), "
    "and `carnet server`'s default `--artifacts`.",
    section=_STORE,
    default_text="`carnet-artifacts/` beside the SQLite file, or in the working directory",
)
#: More folders Carnet may read and write artifacts in.
ARTIFACT_ROOTS = Setting[tuple[Path, ...]](
    "CARNET_ARTIFACT_ROOTS",
    _absolute_folders,
    (),
    type_name="paths",
    expects="absolute folders separated by the path separator (':' on Linux and macOS, "
    "';' on Windows), e.g. '/mnt/shared/carnet-artifacts'",
    meaning="More folders Carnet may read and write artifacts in, for experiments created "
    "with an `artifact_location` elsewhere or artifacts mounted at another path.",
    section=_STORE,
)
#: The S3 endpoint of an ``s3://`` artifact root that is not AWS itself.
S3_ENDPOINT_URL = _optional_text(
    "CARNET_S3_ENDPOINT_URL",
    "The endpoint of an S3-compatible server holding `s3://` artifacts (SeaweedFS, MinIO, "
    "Ceph...), e.g. `http://s3.internal:8333`; credentials come from boto3's usual places "
    "(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `~/.aws`).",
    _STORE,
    default_text="`MLFLOW_S3_ENDPOINT_URL`, else AWS's own endpoints",
)
#: SQLite's ``synchronous`` pragma for every connection.
SQLITE_SYNCHRONOUS = Setting(
    "CARNET_SQLITE_SYNCHRONOUS",
    _choice(("NORMAL", "FULL", "EXTRA", "OFF")),
    "NORMAL",
    type_name="choice",
    expects="NORMAL, FULL or EXTRA (OFF only for throwaway stores)",
    meaning="SQLite's `synchronous` pragma: NORMAL may lose the last commits (never the file) "
    "on a power cut, FULL and EXTRA sync every commit, OFF risks the file itself.",
    section=_STORE,
)
#: SQLite WAL pages between automatic checkpoints.
WAL_CHECKPOINT_PAGES = Setting(
    "CARNET_WAL_CHECKPOINT_PAGES",
    _whole(0),
    10_000,
    type_name="integer",
    expects="a whole number of pages, 0 or more (e.g. 10000)",
    meaning="SQLite write-ahead-log pages between automatic checkpoints (0 turns them off): "
    "more means fewer syncs and a larger WAL file.",
    section=_STORE,
)
#: Open PostgreSQL connections without a pool.
PG_NULLPOOL = _flag(
    "CARNET_PG_NULLPOOL",
    "Open a new PostgreSQL connection for each use instead of keeping a pool, for a server "
    "behind a pooler such as PgBouncer.",
    _STORE,
)

# -- Dashboard, server and command line ----------------------------------------------------

#: The dashboard's shared password.
UI_PASSWORD = _optional_text(
    "CARNET_UI_PASSWORD",
    "The shared password the dashboard asks viewers for (`carnet ui --password-env VAR` "
    "sets it from another variable).",
    _SERVING,
    default_text="unset: `[carnet] password` in secrets.toml, else no password",
)
MIN_SESSION_HOURS, MAX_SESSION_HOURS = 0.1, 744.0  # six minutes to a month
#: How long a password sign-in to the dashboard lasts.
UI_SESSION_HOURS = Setting(
    "CARNET_UI_SESSION_HOURS",
    _hours,
    12.0,
    type_name="hours",
    expects=f"a number of hours from {MIN_SESSION_HOURS:g} to {MAX_SESSION_HOURS:g}",
    meaning="How long a password sign-in to the dashboard lasts (the dashboard ignores a "
    "value out of range; `carnet ui --session-hours` refuses it).",
    section=_SERVING,
    default_text="`[carnet] session_hours` in secrets.toml, else 12",
)
#: The tokens file ``carnet server`` checks credentials against.
SERVER_TOKENS_FILE = _optional_path(
    "CARNET_SERVER_TOKENS_FILE",
    "The tokens file `carnet server` checks credentials against (as `--auth-file`); without "
    "one, anyone who can connect may read and write.",
    _SERVING,
    default_text="unset",
)
#: Internal: how ``carnet server`` hands its settings to its worker processes.
SERVER_SETTINGS = _optional_text(
    "CARNET_SERVER_SETTINGS",
    "Internal: set by `carnet server` to hand its settings (JSON) to its worker processes; "
    "do not set it yourself.",
    _SERVING,
)
#: Where ``carnet run`` keeps the environments it builds for MLflow projects.
PROJECT_ENV_DIR = _optional_path(
    "CARNET_PROJECT_ENV_DIR",
    "The folder where `carnet run --env-manager uv|virtualenv` keeps the environments it "
    "builds for MLflow projects, one per python_env.yaml content (delete it to rebuild them).",
    _SERVING,
    default_text="`carnet/project-envs` in `$XDG_CACHE_HOME`, else in `~/.cache`",
)
#: The command line shows the traceback of a database or disk error.
DEBUG = _flag(
    "CARNET_DEBUG",
    "Make the command line show the full traceback of a database or disk error instead of "
    "one line.",
    _SERVING,
)
#: Largest request body ``carnet models serve`` reads, in megabytes.
SCORING_MAX_BODY_MB = Setting(
    "CARNET_SCORING_MAX_BODY_MB",
    _whole(1, 10_000),
    64,
    type_name="integer",
    expects="a whole number of megabytes from 1 to 10000 (e.g. 64)",
    meaning="The largest `/invocations` body `carnet models serve` reads; a larger one is "
    "refused with 413 before it is parsed.",
    section=_SERVING,
)
#: Most rows one prediction request may carry.
SCORING_MAX_ROWS = Setting(
    "CARNET_SCORING_MAX_ROWS",
    _whole(1),
    100_000,
    type_name="integer",
    expects="a whole number of rows, 1 or more (e.g. 100000)",
    meaning="The most rows (or instances) one `/invocations` request of `carnet models serve` "
    "may carry; more is refused with 400 (split the batch).",
    section=_SERVING,
)
#: Internal: the model folder ``carnet models serve`` hands to its worker processes.
SCORING_MODEL_PATH = _optional_text(
    "CARNET_SCORING_MODEL_PATH",
    "Internal: set by `carnet models serve` to hand the resolved model folder to its worker "
    "processes; do not set it yourself.",
    _SERVING,
)

# -- Container image and compose file: read by the image's command and by docker compose ----

#: The port the container image's server listens on.
PORT = Setting(
    "CARNET_PORT",
    _whole(1, 65535),
    5000,
    type_name="integer",
    expects="a TCP port number from 1 to 65535",
    meaning="The port the container image's `carnet server` listens on.",
    section=_CONTAINER,
)
#: The port a model image of ``carnet models build-docker`` serves on.
MODEL_PORT = Setting(
    "CARNET_MODEL_PORT",
    _whole(1, 65535),
    8080,
    type_name="integer",
    expects="a TCP port number from 1 to 65535",
    meaning="The port a model image made by `carnet models build-docker` serves the model on "
    "(8080, as MLflow's model images).",
    section=_CONTAINER,
)
#: Whether the container image runs the demo before it serves.
DEMO = _optional_text(
    "CARNET_DEMO",
    "`0` makes the container image skip the demo it runs at each start (do that when "
    "`CARNET_TRACKING_URI` points at a team's store).",
    _CONTAINER,
    default_text="1",
)
DB_PASSWORD = _optional_text(
    "CARNET_DB_PASSWORD",
    "compose.yaml: PostgreSQL's password (letters and digits); the database is reachable only "
    "from the carnet service.",
    _CONTAINER,
    default_text="carnet",
)
HOST_PORT = _optional_text(
    "CARNET_HOST_PORT",
    "compose.yaml: the port published on the host.",
    _CONTAINER,
    default_text="5000",
)
TOKENS_FILE = _optional_text(
    "CARNET_TOKENS_FILE",
    "compose.yaml: a tokens file mounted read-only as the server's `CARNET_SERVER_TOKENS_FILE`.",
    _CONTAINER,
)

# -- MLflow's variables --------------------------------------------------------------------

#: MLflow's experiment name variable, read when CARNET_EXPERIMENT_NAME is unset.
MLFLOW_EXPERIMENT_NAME = _optional_text(
    "MLFLOW_EXPERIMENT_NAME",
    "MLflow's name for `CARNET_EXPERIMENT_NAME`, honoured when that is unset.",
    _MLFLOW,
)
#: MLflow's experiment id variable, read when CARNET_EXPERIMENT_ID is unset.
MLFLOW_EXPERIMENT_ID = _optional_text(
    "MLFLOW_EXPERIMENT_ID",
    "MLflow's name for `CARNET_EXPERIMENT_ID`, honoured when that is unset.",
    _MLFLOW,
)
#: MLflow's switch for system metrics, honoured as well as CARNET_ENABLE_SYSTEM_METRICS_LOGGING.
MLFLOW_SYSTEM_METRICS = _flag(
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING",
    "MLflow's name for `CARNET_ENABLE_SYSTEM_METRICS_LOGGING`; either turns system metrics on.",
    _MLFLOW,
)
#: MLflow's run id variable, read when CARNET_RUN_ID is unset.
MLFLOW_RUN_ID = _optional_text(
    "MLFLOW_RUN_ID",
    "MLflow's name for `CARNET_RUN_ID`, honoured when that is unset.",
    _MLFLOW,
)

#: MLflow's tracking URI, read when CARNET_TRACKING_URI is unset.
MLFLOW_TRACKING_URI = _optional_text(
    "MLFLOW_TRACKING_URI",
    "MLflow's name for `CARNET_TRACKING_URI`, honoured when that is unset, so a team's "
    "`export MLFLOW_TRACKING_URI=http://host:5000` points Carnet's SDK at the same server. "
    "It must name a store Carnet opens (`http(s)://`, `sqlite:///`, `postgresql://`); "
    "MLflow's other stores (a `file:` or bare-path folder of `mlruns`, `databricks`) are "
    "refused with a message rather than replaced by a local SQLite file.",
    _MLFLOW,
)

#: MLflow's S3 endpoint variable, read when CARNET_S3_ENDPOINT_URL is unset.
MLFLOW_S3_ENDPOINT_URL = _optional_text(
    "MLFLOW_S3_ENDPOINT_URL",
    "MLflow's name for `CARNET_S3_ENDPOINT_URL`, honoured when that is unset.",
    _MLFLOW,
)

#: MLflow's tracking-server token, read when CARNET_TRACKING_TOKEN is unset.
MLFLOW_TRACKING_TOKEN = _optional_text(
    "MLFLOW_TRACKING_TOKEN",
    "MLflow's name for `CARNET_TRACKING_TOKEN`, honoured when that is unset.",
    _MLFLOW,
)
#: MLflow's tracking-server user name, read when CARNET_TRACKING_USERNAME is unset.
MLFLOW_TRACKING_USERNAME = _optional_text(
    "MLFLOW_TRACKING_USERNAME",
    "MLflow's name for `CARNET_TRACKING_USERNAME`, honoured when that is unset.",
    _MLFLOW,
)
#: MLflow's tracking-server password, read when CARNET_TRACKING_PASSWORD is unset.
MLFLOW_TRACKING_PASSWORD = _optional_text(
    "MLFLOW_TRACKING_PASSWORD",
    "MLflow's name for `CARNET_TRACKING_PASSWORD`, honoured when that is unset.",
    _MLFLOW,
)
#: MLflow's CA bundle variable, read when CARNET_TRACKING_SERVER_CERT_PATH is unset.
MLFLOW_TRACKING_SERVER_CERT_PATH = _optional_path(
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLflow's name for `CARNET_TRACKING_SERVER_CERT_PATH`, honoured when that is unset.",
    _MLFLOW,
    default_text="unset",
)
#: MLflow's switch for unchecked TLS, read when CARNET_TRACKING_INSECURE_TLS is unset.
MLFLOW_TRACKING_INSECURE_TLS = _flag(
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLflow's name for `CARNET_TRACKING_INSECURE_TLS`, honoured when that is unset.",
    _MLFLOW,
)

# -- Development only: read by tests, benchmarks and CI scripts, never by the library --------

TEST_POSTGRES_URL = _optional_text(
    "CARNET_TEST_POSTGRES_URL",
    "Tests: a `postgresql+psycopg://` URL for the tests that run on PostgreSQL; unset, they "
    "skip (under `CI=true` they fail).",
    _DEVELOPMENT,
)
MLFLOW_PYTHON = _optional_text(
    "CARNET_MLFLOW_PYTHON",
    "Tests: an interpreter with `mlflow` installed, for the tests that run MLflow's own "
    "client against Carnet.",
    _DEVELOPMENT,
)
CHROMIUM = _optional_text(
    "CARNET_CHROMIUM",
    "Tests: the Chromium executable the browser tests drive.",
    _DEVELOPMENT,
    default_text="/usr/bin/chromium",
)
SCREENSHOTS = _optional_text(
    "CARNET_SCREENSHOTS",
    "Tests: a folder the browser tests also save their screenshots to (`docs/screenshots` "
    "refreshes the README's images).",
    _DEVELOPMENT,
)
PG_DIR = _optional_text(
    "CARNET_PG_DIR",
    "CI: where `.ci/postgres.sh` keeps its private PostgreSQL cluster.",
    _DEVELOPMENT,
    default_text="/tmp/carnet-ci-pg",
)
CONTAINER_PORT = _optional_text(
    "CARNET_CONTAINER_PORT",
    "Tests: the port `tests/container/run.sh` serves the image on.",
    _DEVELOPMENT,
    default_text="5000, or a free port when that is taken",
)
CONTAINER_POSTGRES_URL = _optional_text(
    "CARNET_CONTAINER_POSTGRES_URL",
    "Tests: an empty PostgreSQL store reachable from the host, for the compose step of "
    "`tests/container/run.sh` (unset, that step is left out).",
    _DEVELOPMENT,
)
CONTAINER_PYTHON = _optional_text(
    "CARNET_CONTAINER_PYTHON",
    "Tests: a Python with PyYAML, with which `tests/container/run.sh` reads compose.yaml.",
    _DEVELOPMENT,
    default_text="python3",
)
CONTAINER_CACHE = _optional_text(
    "CARNET_CONTAINER_CACHE",
    "Tests: where `tests/container/run.sh` caches its base image.",
    _DEVELOPMENT,
    default_text="~/.cache/carnet-container",
)
CONTAINER_KEEP = _optional_text(
    "CARNET_CONTAINER_KEEP",
    "Tests: `1` makes `tests/container/run.sh` leave its work folder for inspection.",
    _DEVELOPMENT,
)
CONTAINER_REBUILD_BASE = _optional_text(
    "CARNET_CONTAINER_REBUILD_BASE",
    "Tests: `1` makes `tests/container/run.sh` rebuild its cached base image.",
    _DEVELOPMENT,
)
BENCH_CACHE = _optional_text(
    "CARNET_BENCH_CACHE",
    "Benchmarks: where cached stores and scratch files go (e.g. a CI scratch disk).",
    _DEVELOPMENT,
    default_text="bench/.cache",
)
BENCH_PROFILE = _optional_text(
    "CARNET_BENCH_PROFILE",
    "Benchmarks: set by `python -m bench --profile`, the file a worker writes its profile to.",
    _DEVELOPMENT,
)
DASHBOARD_URL = _optional_text(
    "CARNET_DASHBOARD_URL",
    "Demo: the dashboard address the demo scripts print links to.",
    _DEVELOPMENT,
    default_text="http://localhost:8501",
)


def declared() -> tuple[Setting[Any], ...]:
    """Every declared setting, in declaration order (what docs/settings.md lists)."""
    return tuple(value for value in globals().values() if isinstance(value, Setting))


def markdown() -> str:
    """docs/settings.md: one table per section, generated so it cannot drift from the code."""
    lines = [
        "# Settings",
        "",
        f"<!-- Generated from sdk/carnet/settings.py by `{REGENERATE_DOCS}`; do not edit. -->",
        "",
        "Carnet is configured by the environment variables below. Each is read when it is "
        "used, not when `carnet` is imported, so setting one after the import takes effect. "
        "An unset or empty variable means its default; a value that does not parse raises "
        "`carnet.errors.ConfigurationError` naming the variable, the value and what is "
        "expected. In code, read them through `carnet.settings` (for example "
        "`settings.FLUSH_INTERVAL.get()`).",
    ]
    settings = declared()
    for section in SECTIONS:
        lines += ["", f"## {section}", ""]
        if section == _CONTAINER:
            lines += [
                "Read by the container image's command and by `docker compose`, not by the "
                "library.",
                "",
            ]
        if section == _DEVELOPMENT:
            lines += [
                "Read by the test suite, the benchmarks, the demo and the CI scripts; the "
                "library never reads them.",
                "",
            ]
        lines += ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
        for s in settings:
            if s.section == section:
                default = s.default_text.replace("|", "\\|")
                lines.append(f"| `{s.name}` | {s.type_name} | {default} | {s.meaning} |")
    return "\n".join(lines) + "\n"


def write_docs(path: str | Path = "docs/settings.md") -> None:
    """Rewrite docs/settings.md (run from the repository root) from the declarations."""
    Path(path).write_text(markdown(), encoding="utf-8")
