"""Where a project's files come from: a local folder, or a git repository cloned with git.

MLflow's rules (``mlflow/projects/utils.py``, ``_fetch_project``):

- ``URI#sub/dir`` runs the project in ``sub/dir`` of the folder or repository; the
  subdirectory may not contain ``.`` (so never ``..``);
- a local folder (a path or a ``file://`` URI) runs in place; with ``--version`` it must
  be a git repository, which is cloned and checked out at that commit, branch or tag;
- anything else (``https://``, ``ssh://``, ``git@host:path``) is cloned with git into a
  temporary folder, at ``--version`` or at the default branch.

git runs as a program with its arguments as a list (never through a shell), with ``--``
before the URI, prompts for credentials turned off and a time limit; a version or URI that
starts with ``-`` is refused, so neither can pass options to git.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from carnet.errors import ProjectError

#: How long one git command may take, in seconds.
GIT_TIMEOUT = 600.0
#: The longest project URI taken.
MAX_URI_LENGTH = 2000
_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/@^~+-]{0,249}")
_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+")
_REMOTE_SCHEMES = ("https", "http", "ssh", "git", "file")


@dataclass(frozen=True)
class Fetched:
    """A project ready to run: its folder, the URI it came from (without the subdirectory),
    the subdirectory, and the temporary clone to remove afterwards (None when in place)."""

    directory: Path
    uri: str
    subdirectory: str
    clone: Path | None

    def cleanup(self) -> None:
        """Remove the temporary clone, if any."""
        if self.clone is not None:
            shutil.rmtree(self.clone, ignore_errors=True)


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``"repo#sub/dir"`` as ``("repo", "sub/dir")``; a subdirectory with ``.`` is refused."""
    text = uri.strip().strip("'\"")
    if not text or len(text) > MAX_URI_LENGTH:
        raise ProjectError(f"the project URI must be 1 to {MAX_URI_LENGTH} characters.")
    base, _, sub = text.partition("#")
    sub = sub.strip("/")
    if "." in sub or sub.startswith("-") or "\\" in sub:
        raise ProjectError(
            f"project subdirectory {sub[:80]!r} is not allowed: '.' may not appear in it "
            "(MLflow's rule), so it cannot leave the project."
        )
    return base, sub


def local_path(uri: str) -> Path | None:
    """The folder a local URI (a path or ``file://``) names, or None for a remote one."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.netloc + parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        return None
    if _SCP_LIKE.fullmatch(uri) and not Path(uri).exists():
        return None
    return Path(uri).expanduser()


def fetch_project(uri: str, version: str | None = None) -> Fetched:
    """The project ``uri`` names, cloned when it is remote or a ``version`` is asked for."""
    base, sub = split_subdirectory(uri)
    if version is not None and not _VERSION.fullmatch(version):
        raise ProjectError(f"version {version[:80]!r} is not a git commit, branch or tag name.")
    folder = local_path(base)
    if folder is not None:
        if not folder.exists():
            raise ProjectError(f"project {base} does not exist; give a folder or a git URI.")
        folder = folder.resolve()
        if version is None:
            return Fetched(_subfolder(folder, sub), base, sub, None)
        if not is_git_work_tree(folder):
            raise ProjectError(
                f"--version needs a git repository, and {folder} is not one; drop --version "
                "to run the folder as it is."
            )
        source = str(folder)
    else:
        scheme = urlparse(base).scheme
        if base.startswith("-") or (
            scheme not in _REMOTE_SCHEMES and not _SCP_LIKE.fullmatch(base)
        ):
            raise ProjectError(
                f"project URI {base[:80]!r} is neither a folder nor a git URI "
                "(https://, ssh://, git@host:path or file://)."
            )
        source = base
    clone = Path(tempfile.mkdtemp(prefix="carnet-project-"))
    try:
        _clone(source, version, clone)
        return Fetched(_subfolder(clone, sub), base, sub, clone)
    except BaseException:
        shutil.rmtree(clone, ignore_errors=True)
        raise


def _subfolder(root: Path, sub: str) -> Path:
    target = (root / sub).resolve() if sub else root
    if sub and (root.resolve() not in target.parents or not target.is_dir()):
        raise ProjectError(f"the project has no subdirectory {sub!r}.")
    return target


def git(args: list[str], cwd: Path | None = None) -> str:
    """Run git with ``args`` (no shell, no prompts, a time limit) and return its output;
    a failure is a ProjectError carrying git's own last lines."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "echo"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise ProjectError("git is not installed; install git to run projects from git.") from None
    except subprocess.TimeoutExpired:
        raise ProjectError(f"git {args[0]} took more than {GIT_TIMEOUT:g} s.") from None
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[:500]
        raise ProjectError(f"git {args[0]} failed: {tail or 'exit status ' + str(done.returncode)}")
    return done.stdout.strip()


def is_git_work_tree(folder: Path) -> bool:
    """Whether ``folder`` is inside a git working tree."""
    try:
        return git(["rev-parse", "--is-inside-work-tree"], cwd=folder) == "true"
    except ProjectError:
        return False


def _clone(source: str, version: str | None, into: Path) -> None:
    git(["clone", "--quiet", "--no-checkout", "--", source, str(into)])
    if version is None:
        git(["checkout", "--quiet"], cwd=into)
    else:
        try:
            git(["checkout", "--quiet", version, "--"], cwd=into)
        except ProjectError as exc:
            raise ProjectError(
                f"version {version!r} of {source} cannot be checked out: check that the "
                f"commit, branch or tag exists ({exc})"
            ) from None


def git_facts(directory: Path, version: str | None) -> dict[str, str]:
    """The commit, repository URL and (when ``version`` names a branch) branch of the
    folder a project runs in, as MLflow's ``mlflow.source.git.*`` tags; {} outside git."""
    if not is_git_work_tree(directory):
        return {}
    facts: dict[str, str] = {}
    try:
        facts["mlflow.source.git.commit"] = git(["rev-parse", "HEAD"], cwd=directory)
    except ProjectError:
        return {}
    try:
        facts["mlflow.source.git.repoURL"] = git(
            ["config", "--get", "remote.origin.url"], cwd=directory
        )
    except ProjectError:
        pass
    if version is not None:
        try:
            git(["rev-parse", "--verify", "--quiet", f"refs/heads/{version}"], cwd=directory)
            facts["mlflow.source.git.branch"] = version
        except ProjectError:
            pass
    return facts


__all__ = [
    "GIT_TIMEOUT",
    "MAX_URI_LENGTH",
    "Fetched",
    "fetch_project",
    "git",
    "git_facts",
    "is_git_work_tree",
    "local_path",
    "split_subdirectory",
]
