"""Where artifacts may live: the allowed artifact roots, and the checks on locations.

An experiment's ``artifact_location`` and a run's ``artifact_uri`` are rows in
the store, which anyone with write access to the database can change. So a
location is never trusted on its own: Carnet reads and writes artifact files
only in folders under an *allowed artifact root*, a setting of the process
(never of the store). The allowed roots are:

- the store's artifact root: ``CARNET_ARTIFACT_ROOT`` when set, else the
  default below;
- the default root: ``carnet-artifacts/`` next to a SQLite file, or in the
  working directory for PostgreSQL (so runs logged before
  ``CARNET_ARTIFACT_ROOT`` was set stay readable);
- every folder listed in ``CARNET_ARTIFACT_ROOTS`` (absolute paths separated by
  ``os.pathsep``, ``:`` on Linux and macOS), for experiments created with an
  ``artifact_location`` elsewhere, or artifacts mounted at another path.

Containment is decided on real paths (symbolic links resolved, ``..`` gone)
with :meth:`pathlib.Path.is_relative_to`, never by comparing strings, so
``/data/artifacts-x`` is not inside ``/data/artifacts``, and a link inside a
root that leads out of it does not count as inside. A run's folder must lie
strictly below a root; an experiment's location may be a root itself.

New locations are normalised when an experiment is created: a local folder
given as an absolute path or a ``file://`` URI without query or fragment
(``?`` or ``#`` would turn the run's ``/<run_id>/artifacts`` suffix into URL
decoration, so that every run shared one folder), stored as a ``file://`` URI.

A root may also be an S3-compatible bucket: ``CARNET_ARTIFACT_ROOT=s3://bucket/prefix``
makes new experiments' locations ``s3://bucket/prefix/<experiment_id>``. The only
S3 location allowed is that root (read from the environment now): a run's
``s3://`` location is used only when it lies strictly below it, compared name by
name (:class:`carnet.utils.s3_uri.S3Uri`). Such a run has no local folder:
:func:`run_folder` raises :class:`ArtifactsInBucket`, carrying the checked
location, and ``Client`` hands the run's files to :mod:`carnet.s3_artifacts`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from carnet.errors import ArtifactLocationError, ConfigurationError, InvalidValueError
from carnet.settings import ARTIFACT_ROOT, ARTIFACT_ROOTS
from carnet.utils.s3_uri import S3Uri, is_s3_uri, parse_s3_uri

ENV_ROOT = ARTIFACT_ROOT.name
ENV_ROOTS = ARTIFACT_ROOTS.name
DEFAULT_FOLDER = "carnet-artifacts"

_HOW_TO_ALLOW = (
    f"Carnet reads and writes artifacts only under the store's artifact root, {ENV_ROOT} "
    f"and the folders listed in {ENV_ROOTS} (absolute paths separated by {os.pathsep!r}); "
    f"add the folder to {ENV_ROOTS} if it is really meant to hold artifacts."
)


class ArtifactsInBucket(ArtifactLocationError):
    """The run's (or model's) artifacts are in an allowed S3 bucket, not a local folder.

    Raised where a local folder is asked for; ``location`` is the checked bucket
    and prefix, which ``Client`` reads and writes through :mod:`carnet.s3_artifacts`.
    """

    def __init__(self, message: str, *, location: S3Uri) -> None:
        super().__init__(message)
        self.location = location


def configured_root() -> Path | S3Uri | None:
    """``CARNET_ARTIFACT_ROOT`` now: a folder, a checked ``s3://`` root, or None when unset.

    A malformed S3 URI raises ConfigurationError naming the variable.
    """
    root = ARTIFACT_ROOT.get()
    if not isinstance(root, str):
        return root
    try:
        return parse_s3_uri(root)
    except ValueError as exc:
        raise ConfigurationError(
            f"environment variable {ENV_ROOT}={root!r} is not valid ({exc}): expected a "
            "folder path, or an s3://bucket/prefix URI."
        ) from None


def bucket_root() -> S3Uri | None:
    """The S3 root artifacts may live under (``CARNET_ARTIFACT_ROOT`` when it is
    ``s3://...``), read from the environment now; None when the root is a folder."""
    root = configured_root()
    return root if isinstance(root, S3Uri) else None


def _in_bucket(text: str, what: str, *, strictly: bool) -> S3Uri:
    """An ``s3://`` location, parsed and checked to lie under the S3 root."""
    try:
        location = parse_s3_uri(text)
    except ValueError as exc:
        raise ArtifactLocationError(f"{what} {text!r} is not usable: {exc}.") from None
    root = bucket_root()
    if root is None or not location.is_below(root, strictly=strictly):
        allowed = f"the S3 root {str(root)!r}" if root else "no S3 root (it is unset)"
        raise ArtifactLocationError(
            f"{what} {text!r} is outside the allowed artifact roots, so it is not used: "
            f"{ENV_ROOT} names {allowed}; an s3:// location must lie under {ENV_ROOT}."
        )
    return location


def experiment_location(root: Path | S3Uri, experiment_id: str) -> str:
    """A new experiment's default location: ``<root>/<experiment_id>``, as a URI."""
    if isinstance(root, S3Uri):
        return str(root.child(experiment_id))
    return (root / experiment_id).as_uri()


def default_root(sqlite_file: Path | None) -> Path:
    """The root a store uses without ``CARNET_ARTIFACT_ROOT``: next to its SQLite file."""
    folder = sqlite_file.parent if sqlite_file is not None else Path()
    return Path(os.path.abspath(folder / DEFAULT_FOLDER))


def allowed_roots(artifact_root: Path, store_uri: str) -> tuple[Path, ...]:
    """The real paths of every allowed artifact root, read from the environment now.

    ``artifact_root`` is the store's own root (``CARNET_ARTIFACT_ROOT`` or the
    default); the default root of the store at ``store_uri`` and the folders of
    ``CARNET_ARTIFACT_ROOTS`` are added.
    """
    prefix = "sqlite:///"
    sqlite_file = Path(store_uri[len(prefix) :]) if store_uri.startswith(prefix) else None
    roots = [artifact_root, default_root(sqlite_file)]
    roots.extend(ARTIFACT_ROOTS.get())  # absolute folders, or a ConfigurationError
    real: list[Path] = []
    for root in roots:
        resolved = Path(os.path.realpath(root))
        if resolved not in real:
            real.append(resolved)
    return tuple(real)


def _contains(roots: Sequence[Path], real: Path, *, strictly: bool) -> bool:
    return any(real.is_relative_to(root) and not (strictly and real == root) for root in roots)


def _has_nul(text: str) -> bool:
    return "\x00" in text


def new_experiment_location(location: object, roots: Sequence[Path]) -> str:
    """``artifact_location`` as given to ``create_experiment``, checked and normalised.

    Returns a ``file://`` URI of an absolute folder inside an allowed root, or
    raises ArtifactLocationError saying what is wrong and how to fix it.
    """
    if not isinstance(location, (str, Path)):
        raise InvalidValueError(
            f"artifact_location must be a folder path or a file:// URI, got "
            f"{type(location).__name__}."
        )
    text = str(location).strip()
    if _has_nul(text):
        raise ArtifactLocationError(
            "artifact_location contains a NUL character; give a plain folder path."
        )
    if is_s3_uri(text):
        return str(_in_bucket(text, "artifact_location", strictly=False))
    if "?" in text or "#" in text:
        raise ArtifactLocationError(
            f"artifact_location {text!r} contains '?' or '#'; a location is a plain folder "
            "path or file:// URI (a query or fragment would hide the run's own folder)."
        )
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ArtifactLocationError(
                f"artifact_location {text!r} names the host {parts.netloc!r}; Carnet keeps "
                "artifacts in local folders: use 'file:///absolute/path' or a plain path."
            )
        path = unquote(parts.path)
        if _has_nul(path) or not path.startswith("/"):
            raise ArtifactLocationError(
                f"artifact_location {text!r} is not an absolute folder; use "
                "'file:///absolute/path' or a plain absolute path."
            )
    elif parts.scheme and len(parts.scheme) > 1:
        raise ArtifactLocationError(
            f"artifact_location {text!r} is not a local folder; Carnet keeps artifacts in "
            f"files: give a folder path (a shared mount for teams, see {ENV_ROOTS})."
        )
    else:
        path = str(Path(text).expanduser())
    folder = Path(os.path.abspath(path))
    if not _contains(roots, Path(os.path.realpath(folder)), strictly=False):
        raise ArtifactLocationError(
            f"artifact_location {text!r} is outside the allowed artifact roots. {_HOW_TO_ALLOW}"
        )
    return folder.as_uri()


def run_artifact_uri(experiment_location: str, run_id: str) -> str:
    """The new run's own folder, ``<experiment location>/<run_id>/artifacts``.

    A location with a query or fragment (written to the store by hand or by an
    old version) is refused: the run's suffix would not be part of its path.
    """
    parts = urlsplit(experiment_location)
    if parts.scheme and ("?" in experiment_location or "#" in experiment_location):
        raise ArtifactLocationError(
            f"the experiment's artifact location {experiment_location!r} has a query or "
            "fragment, so its runs would share one folder; log into a new experiment "
            "(create_experiment with a plain artifact_location)."
        )
    return f"{experiment_location.rstrip('/')}/{run_id}/artifacts"


def run_folder(artifact_uri: str, run_id: str, roots: Sequence[Path]) -> Path:
    """The real path of a run's artifact folder, once it is known to be inside a root.

    A run whose location is in the allowed S3 root raises :class:`ArtifactsInBucket`
    with that location. Raises ArtifactLocationError for a location that is not a plain local folder
    or that resolves outside every allowed root (links followed, then compared
    as paths).
    """
    if is_s3_uri(artifact_uri):
        location = _in_bucket(artifact_uri, f"run {run_id}'s artifact location", strictly=True)
        raise ArtifactsInBucket(
            f"run {run_id}'s artifacts are in {str(location)!r}, not a local folder; read "
            "and write them through carnet.Client.",
            location=location,
        )
    parts = urlsplit(artifact_uri)
    if parts.scheme == "file":
        if "?" in artifact_uri or "#" in artifact_uri or parts.netloc not in ("", "localhost"):
            raise ArtifactLocationError(
                f"run {run_id}'s artifact location {artifact_uri!r} is not a plain local "
                "folder URI (it has a host, query or fragment); its artifacts are not read."
            )
        path = unquote(parts.path)
    elif parts.scheme and len(parts.scheme) > 1:
        raise ArtifactLocationError(
            f"run {run_id}'s artifact location {artifact_uri!r} is not a local folder; "
            f"Carnet stores artifacts in files (set {ENV_ROOT} to a shared folder for teams)."
        )
    else:
        path = artifact_uri
    if not path or _has_nul(path):
        raise ArtifactLocationError(f"run {run_id} has no usable artifact location.")
    real = Path(os.path.realpath(path))
    if not _contains(roots, real, strictly=True):
        raise ArtifactLocationError(
            f"run {run_id}'s artifact location {artifact_uri!r} is outside the allowed "
            f"artifact roots, so its artifacts are neither read nor written. {_HOW_TO_ALLOW}"
        )
    return real


__all__ = [
    "DEFAULT_FOLDER",
    "ENV_ROOT",
    "ENV_ROOTS",
    "ArtifactsInBucket",
    "allowed_roots",
    "bucket_root",
    "configured_root",
    "default_root",
    "experiment_location",
    "new_experiment_location",
    "run_artifact_uri",
    "run_folder",
]
