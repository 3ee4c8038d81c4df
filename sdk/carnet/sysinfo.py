"""What a run records about where it came from, computed once per process."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import random
import shlex
import socket
import subprocess
import sys
from pathlib import Path

_ADJECTIVES = [
    "amber",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "crisp",
    "eager",
    "fair",
    "gentle",
    "glad",
    "golden",
    "grand",
    "keen",
    "kind",
    "lively",
    "lucky",
    "merry",
    "noble",
    "polite",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "shiny",
    "silent",
    "smart",
    "snowy",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
    "zesty",
]
_NOUNS = [
    "ant",
    "bat",
    "bear",
    "bee",
    "carp",
    "cat",
    "crane",
    "crow",
    "deer",
    "dove",
    "eagle",
    "eel",
    "elk",
    "fox",
    "frog",
    "goat",
    "hare",
    "hawk",
    "heron",
    "ibis",
    "jay",
    "koala",
    "lark",
    "lion",
    "lynx",
    "mole",
    "moth",
    "newt",
    "otter",
    "owl",
    "panda",
    "pike",
    "quail",
    "ram",
    "robin",
    "seal",
    "shrew",
    "slug",
    "snail",
    "swan",
    "tern",
    "toad",
    "trout",
    "wasp",
    "whale",
    "wolf",
    "wren",
    "yak",
]


def generate_run_name() -> str:
    """A readable name such as ``brave-otter-482`` for runs the user did not name."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randrange(1000):03d}"


@functools.cache
def current_user() -> str:
    """The login name recorded as a run's user (MLflow's ``mlflow.user``), looked up once."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


#: Where a run's start details are recorded. Every name starts with ``mlflow.``, the
#: prefix by which MLflow (its UI, and code such as ``k.startswith("mlflow.")``) tells
#: system tags from user tags, so these never pass for tags the user set. MLflow's own
#: name is used where it has one; the others follow its ``mlflow.source.*`` naming, or
#: sit under ``mlflow.system.*`` for the machine.
SOURCE_COMMAND_TAG = "mlflow.source.command"
SOURCE_CWD_TAG = "mlflow.source.cwd"
GIT_DIRTY_TAG = "mlflow.source.git.dirty"
PYTHON_TAG = "mlflow.system.python"
PLATFORM_TAG = "mlflow.system.platform"
HOST_TAG = "mlflow.system.host"

#: Tags Carnet writes about a run's life, under MLflow's system prefix too: MLflow's own
#: name where it has one (``mlflow.autologging``), else ``mlflow.carnet.*``.
ERROR_TYPE_TAG = "mlflow.carnet.error.type"
ERROR_MESSAGE_TAG = "mlflow.carnet.error.message"
AUTOLOG_TAG = "mlflow.autologging"
AUTOLOG_CANDIDATE_TAG = "mlflow.carnet.autolog.candidate"
AUTOLOG_BEST_CANDIDATE_TAG = "mlflow.carnet.autolog.best_candidate"
AUTOLOG_CANDIDATES_TAG = "mlflow.carnet.autolog.candidates"
HEARTBEAT_TAG = "mlflow.carnet.heartbeat"

#: The names older Carnet versions used for the same tags (new name -> old name); the
#: store's migration renames them, and readers of old exports may fall back to them.
FORMER_TAG_NAMES = {
    ERROR_TYPE_TAG: "carnet.error.type",
    ERROR_MESSAGE_TAG: "carnet.error.message",
    AUTOLOG_TAG: "carnet.autolog",
    AUTOLOG_CANDIDATE_TAG: "carnet.autolog.candidate",
    AUTOLOG_BEST_CANDIDATE_TAG: "carnet.autolog.best_candidate",
    AUTOLOG_CANDIDATES_TAG: "carnet.autolog.candidates",
    HEARTBEAT_TAG: "carnet.heartbeat",
    SOURCE_COMMAND_TAG: "carnet.source.command",
    SOURCE_CWD_TAG: "carnet.source.cwd",
    GIT_DIRTY_TAG: "carnet.source.git.dirty",
    PYTHON_TAG: "carnet.python",
    PLATFORM_TAG: "carnet.platform",
    HOST_TAG: "carnet.host",
}


@functools.cache
def system_tags() -> tuple[tuple[str, str], ...]:
    """Source, command line, git state, Python, host and user of this process.

    All are ``mlflow.``-prefixed, so MLflow's rule classifies them as system tags.
    """
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>"
    source = str(Path(argv0).resolve()) if argv0 not in ("-c", "<interactive>", "") else argv0
    tags: dict[str, str] = {
        "mlflow.user": current_user(),
        "mlflow.source.name": source,
        "mlflow.source.type": "LOCAL",
        SOURCE_COMMAND_TAG: shlex.join([sys.executable, *sys.argv])[:8000],
        SOURCE_CWD_TAG: os.getcwd(),
        PYTHON_TAG: platform.python_version(),
        PLATFORM_TAG: platform.platform(),
        HOST_TAG: socket.gethostname(),
    }
    where = Path(source).parent if Path(source).exists() else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], where)
    if commit:
        tags["mlflow.source.git.commit"] = commit
        status = _git(["status", "--porcelain", "--untracked-files=no"], where)
        tags[GIT_DIRTY_TAG] = "true" if status else "false"
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
        if branch:
            tags["mlflow.source.git.branch"] = branch
        remote = _git(["config", "--get", "remote.origin.url"], where)
        if remote:
            tags["mlflow.source.git.repoURL"] = remote
    return tuple(tags.items())
