"""What a run needs to be run again, recorded as it starts (``carnet reproduce`` reads it).

At each new run's start :func:`at_run_start` gathers an **environment record**:

- the installed distributions and versions (read with ``importlib.metadata``,
  no ``pip freeze``), where each came from (the index, a local folder such as
  an editable install, a VCS URL), the Python version and platform, the entry
  point (a script path relative to the git repository's root, or ``-m module``,
  or ``-c``, with its arguments), the working directory, the git commit, and
  the values of the variables named in ``$CARNET_CAPTURE_ENV`` (nothing else of
  the environment is ever read);
- the working tree's uncommitted changes: ``git diff HEAD --binary`` when the
  tracked files differ from the commit, up to :data:`MAX_PATCH_BYTES`. A larger
  diff is not stored at all (a cut patch would not apply): the tag
  ``mlflow.carnet.patch`` says ``omitted`` and ``carnet reproduce`` refuses the
  run. Untracked files are never recorded (they may be data, secrets, build
  output): their names, up to :data:`MAX_UNTRACKED_NAMES`, are listed so the
  reproduction can warn.

The record and the patch are kept in the store once per distinct content,
under their sha256 (:mod:`carnet.store.environment_records`): a process that
starts a thousand runs stores one record, and each run carries tags:
``mlflow.carnet.environment`` (the digest), ``mlflow.carnet.run_index`` (the
run's place among the runs its process started), ``mlflow.carnet.entry_point``
(the command, as ``carnet reproduce`` will run it) and ``mlflow.carnet.patch``
(``none``, ``included``, ``omitted`` or ``no-git``); a run started by
``carnet reproduce`` gets ``carnet.reproduces=<RUN_ID>``. Runs recorded before
records were kept this way have the record as their artifact
``carnet/environment.json`` (and ``carnet/uncommitted.patch``);
:func:`carnet.reproduce_plan.recorded_environment` reads either.

Cost: everything that cannot change while a process runs (distributions, git
diff, untracked names) is computed once per process: the diff is one ``git``
command, run only when the tracked files differ from the commit (the dirty flag
:mod:`carnet.sysinfo` computed already), the untracked names another, run in any
git working tree. A later run start adds four tags to the run's creation.
``CARNET_CAPTURE=off`` turns it all off.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import itertools
import json
import os
import platform
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carnet import settings
from carnet.entities import EnvironmentRecord
from carnet.record_digest import MAX_PATCH_BYTES, record_digest
from carnet.sysinfo import GIT_DIRTY_TAG, system_tags

__all__ = [
    "ENTRY_POINT_TAG",
    "ENVIRONMENT_FILE",
    "ENVIRONMENT_TAG",
    "FORMAT",
    "MAX_ENV_VALUE",
    "MAX_PATCH_BYTES",
    "MAX_UNTRACKED_NAMES",
    "PATCH_FILE",
    "PATCH_TAG",
    "REPRODUCES_TAG",
    "RUN_INDEX_TAG",
    "StartRecord",
    "at_run_start",
    "distributions",
    "entry_point",
]

#: Where runs recorded before environment records had theirs (artifact files).
ENVIRONMENT_FILE = "carnet/environment.json"
PATCH_FILE = "carnet/uncommitted.patch"
#: Tags a run gets at start.
ENVIRONMENT_TAG = "mlflow.carnet.environment"
RUN_INDEX_TAG = "mlflow.carnet.run_index"
ENTRY_POINT_TAG = "mlflow.carnet.entry_point"
PATCH_TAG = "mlflow.carnet.patch"
REPRODUCES_TAG = "carnet.reproduces"
#: The version of the record's layout.
FORMAT = 1
#: At most this many untracked file names are listed.
MAX_UNTRACKED_NAMES = 100
#: A recorded variable's value is cut to this many characters.
MAX_ENV_VALUE = 1000
#: The entry point's arguments are kept up to this many characters in all.
MAX_ARGS_CHARS = 64_000
#: How long one git command may take at a run's start, in seconds.
GIT_TIMEOUT = 5.0

_counter = itertools.count(1)
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class StartRecord:
    """What one run's start records: tags for the new run, and the environment record
    they point at (None when capture is off), to be kept in the store first."""

    tags: dict[str, str]
    environment: EnvironmentRecord | None


def at_run_start() -> StartRecord | None:
    """The record of a run starting now in this process; None when ``CARNET_CAPTURE``
    is off and no ``carnet reproduce`` launched the process. Each call counts one more
    run of the process."""
    with _counter_lock:
        index = next(_counter)
    reproduces = _reproduces(index)
    if not settings.CAPTURE.get():
        return StartRecord({REPRODUCES_TAG: reproduces}, None) if reproduces else None
    static = _process_record()
    environment = _environment(tuple(sorted(_allowed_env().items())))
    tags = {
        ENVIRONMENT_TAG: environment.digest,
        RUN_INDEX_TAG: str(index),
        ENTRY_POINT_TAG: static.command,
        PATCH_TAG: static.record["git"]["patch"],
    }
    if reproduces is not None:
        tags[REPRODUCES_TAG] = reproduces
    return StartRecord(tags=tags, environment=environment)


@functools.lru_cache(maxsize=16)
def _environment(env: tuple[tuple[str, str], ...]) -> EnvironmentRecord:
    """The process's record with these recorded variables, encoded and digested once."""
    static = _process_record()
    head = json.dumps({"env": dict(env)}, separators=(",", ":")).encode()
    encoded = head[:-1] + b"," + static.encoded[1:]
    return EnvironmentRecord(record_digest(encoded, static.patch), encoded, static.patch)


def _reproduces(index: int) -> str | None:
    """The run this one reproduces: ``$CARNET_REPRODUCES`` is ``RUN_ID:N`` and this is
    the process's N-th run."""
    value = settings.REPRODUCES.get()
    if not value or ":" not in value:
        return None
    run_id, _, wanted = value.rpartition(":")
    return run_id if wanted.strip() == str(index) and run_id else None


def _allowed_env() -> dict[str, str]:
    names = settings.CAPTURE_ENV.get()
    return {n: os.environ[n][:MAX_ENV_VALUE] for n in names if n in os.environ}


@dataclass(frozen=True)
class _Static:
    record: dict[str, Any]
    encoded: bytes  # the record as JSON
    command: str
    patch: bytes | None


@functools.cache
def _process_record() -> _Static:
    """Everything that stays the same for every run of this process."""
    tags = dict(system_tags())
    entry = entry_point()
    root = _repo_root(entry)
    commit = tags.get("mlflow.source.git.commit") if root is not None else None
    git: dict[str, Any] = {"commit": commit, "patch": "no-git", "root": root and str(root)}
    patch: bytes | None = None
    if root is not None and commit:
        git["patch"] = "none"
        if tags.get(GIT_DIRTY_TAG) == "true":
            diff = _git_bytes(["diff", "HEAD", "--binary", "--no-color", "--no-ext-diff"], root)
            if diff is None:
                git["patch"] = "omitted"
                git["patch_error"] = "git diff failed"
            elif len(diff) > MAX_PATCH_BYTES:
                git["patch"] = "omitted"
                git["patch_bytes"] = len(diff)
            elif diff:
                git["patch"] = "included"
                git["patch_bytes"] = len(diff)
                patch = diff
        git["untracked"] = _untracked(root)
    _relativise(entry, root)
    cwd = Path.cwd()
    dists = distributions()
    record: dict[str, Any] = {
        "format": FORMAT,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "system": platform.system(),
        "entry_point": entry,
        "cwd": _relative_or_absolute(cwd, root),
        "in_repo": root is not None and _inside(cwd, root),
        "git": git,
        "distributions": dists,
    }
    command = _command_text(entry)
    encoded = json.dumps(record, separators=(",", ":")).encode()
    return _Static(record, encoded, command, patch)


def entry_point() -> dict[str, Any]:
    """How this process was started: ``{"kind": "script", "target": path, "args": [...]}``,
    kind ``module`` (``-m``), ``command`` (``-c``) or ``interactive`` (a notebook, a REPL,
    stdin), from ``sys.orig_argv``; a script's path is absolute here."""
    if "ipykernel" in sys.modules or not sys.argv or not sys.argv[0]:
        return {"kind": "interactive", "target": None, "args": []}
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])[1:]
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-m", "-c") and i + 1 < len(argv):
            kind = "module" if arg == "-m" else "command"
            return _entry(kind, argv[i + 1], argv[i + 2 :])
        if arg.startswith(("-m", "-c")) and len(arg) > 2 and not arg.startswith("--"):
            return _entry("module" if arg[1] == "m" else "command", arg[2:], argv[i + 1 :])
        if arg in ("-W", "-X", "--check-hash-based-pycs"):
            i += 2
            continue
        if arg == "-":
            break
        if arg.startswith("-"):
            i += 1
            continue
        return _entry("script", str(Path(arg).resolve()), argv[i + 1 :])
    return {"kind": "interactive", "target": None, "args": []}


def _entry(kind: str, target: str, args: list[str]) -> dict[str, Any]:
    kept: list[str] = []
    total = 0
    for arg in args:
        total += len(arg)
        if total > MAX_ARGS_CHARS:
            return {"kind": kind, "target": target[:MAX_ARGS_CHARS], "args": kept, "cut": True}
        kept.append(arg)
    return {"kind": kind, "target": target[:MAX_ARGS_CHARS], "args": kept}


def _repo_root(entry: dict[str, Any]) -> Path | None:
    """The git working tree holding the script (or the working directory), found by
    looking for ``.git`` upwards: no subprocess."""
    start = Path(entry["target"]).parent if entry["kind"] == "script" else Path.cwd()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _relative_or_absolute(path: Path, root: Path | None) -> str:
    if root is not None and _inside(path, root):
        return path.relative_to(root).as_posix()
    return str(path)


def _relativise(entry: dict[str, Any], root: Path | None) -> None:
    """A script inside the repository is named relative to its root; any script gets the
    hash of its content, so a reproduction outside git can tell it changed since."""
    if entry["kind"] != "script":
        return
    script = Path(entry["target"])
    try:
        entry["sha256"] = hashlib.sha256(script.read_bytes()).hexdigest()
    except OSError:
        entry["sha256"] = None
    entry["target"] = _relative_or_absolute(script, root)


def _command_text(entry: dict[str, Any]) -> str:
    kind = entry["kind"]
    if kind == "interactive":
        return "(interactive)"
    head = {"module": ["python", "-m"], "command": ["python", "-c"], "script": ["python"]}[kind]
    return shlex.join([*head, entry["target"], *entry["args"]])[:8000]


def _git_bytes(args: list[str], cwd: Path) -> bytes | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def _untracked(root: Path) -> list[str]:
    """Untracked, not ignored file names (at most MAX_UNTRACKED_NAMES): one git command,
    only worth it where the tree is a git working tree."""
    out = _git_bytes(["ls-files", "--others", "--exclude-standard", "-z"], root)
    if not out:
        return []
    names = out.split(b"\0")
    return [n.decode(errors="replace") for n in names[:MAX_UNTRACKED_NAMES] if n]


@functools.cache
def distributions() -> list[dict[str, str]]:
    """The installed distributions, sorted by name: ``name``, ``version`` and ``source``
    (``index``; ``local`` with the folder's ``url`` and ``editable``; ``vcs`` with its
    ``url`` and ``commit``; ``url`` for an archive installed from a URL), once per process.

    Names and versions come from the metadata folders' names (``numpy-2.1.3.dist-info``,
    as wheels name them), found by listing each ``sys.path`` folder: parsing every
    METADATA file costs a hundred times more. A folder whose name does not say its
    version (an ``.egg-info`` of a development install) is read. The first of a name
    on ``sys.path`` wins, as for imports.
    """
    found: dict[str, dict[str, str]] = {}
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:
            continue
        with listing:
            for item in listing:
                described = _described(item)
                if described is None:
                    continue
                key = described["name"].lower().replace("-", "_").replace(".", "_")
                if key not in found:
                    found[key] = described
    return [found[key] for key in sorted(found)]


#: Folders that hold installed distributions (anything else holding metadata is a checkout).
_INSTALL_FOLDERS = frozenset({"site-packages", "dist-packages"})


def _described(item: os.DirEntry[str]) -> dict[str, str] | None:
    name = item.name
    if name.endswith(".dist-info"):
        parts = name[: -len(".dist-info")].split("-")
    elif name.endswith(".egg-info"):
        parts = name[: -len(".egg-info")].split("-")
    else:
        return None
    dist: importlib.metadata.Distribution = importlib.metadata.PathDistribution(Path(item.path))
    if len(parts) >= 2 and parts[0] and parts[1]:
        described = {"name": parts[0], "version": parts[1], "source": "index"}
    else:
        meta_name, version = dist.metadata["Name"], dist.version
        if not meta_name or not version:
            return None
        described = {"name": meta_name, "version": version, "source": "index"}
    direct = _direct_url(dist)
    if direct is not None:
        described.update(direct)
    elif name.endswith(".egg-info") and Path(item.path).parent.name not in _INSTALL_FOLDERS:
        # Metadata beside its sources (a development install's ``setup.py develop`` or the
        # ``.egg-info`` an editable build leaves in the tree): that folder, not the index.
        parent = Path(item.path).parent.resolve()
        described.update({"source": "local", "url": parent.as_uri(), "editable": "true"})
    return described


def _direct_url(dist: importlib.metadata.Distribution) -> dict[str, str] | None:
    """Where a distribution installed from a URL came from (PEP 610's direct_url.json)."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
        url = str(data["url"])
    except (ValueError, KeyError, TypeError):
        return {"source": "local", "url": ""}
    if isinstance(data.get("vcs_info"), dict):
        vcs = data["vcs_info"]
        return {
            "source": "vcs",
            "url": f"{vcs.get('vcs', 'git')}+{url}",
            "commit": str(vcs.get("commit_id", "")),
        }
    if not url.startswith("file:"):  # an archive downloaded from a URL
        return {"source": "url", "url": url}
    editable = isinstance(data.get("dir_info"), dict) and bool(data["dir_info"].get("editable"))
    return {"source": "local", "url": url, "editable": "true" if editable else "false"}
