"""What ``carnet reproduce RUN_ID`` will do, read from the run's record and checked first.

:func:`make_plan` reads what :mod:`carnet.capture` stored at the run's start
and decides, before anything is built: which commit of which repository, the
patch, the packages (pins from the index; local folders and VCS URLs as their
own requirements; the rest skipped with a reason), the command and its folder,
and the warnings (another OS or Python, code outside git). Whatever cannot be
had raises a :class:`~carnet.errors.CarnetError` naming it: a run without a
record, an interactive run, a patch that was too large to record, a commit no
repository here has.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from carnet import capture
from carnet.client import Client
from carnet.errors import ArtifactNotFoundError, NotFoundError, StateError
from carnet.validation import validate_run_id

__all__ = ["Plan", "make_plan", "repo_root_of"]


@dataclass(frozen=True)
class Plan:
    """Everything a reproduction needs, decided up front (``--dry-run`` prints it)."""

    run_id: str
    experiment_id: str
    python: str
    #: The repository holding the commit on this machine, or None outside git.
    repository: Path | None
    commit: str | None
    patch: bytes | None
    #: The command after ``python``: ``[script, *args]``, ``["-m", module, *args]``...
    command: list[str]
    #: Where the command runs: relative to the source copy when ``in_repo``, else absolute.
    cwd: str
    in_repo: bool
    #: Requirements for the new environment: pins, then folders and URLs.
    requirements: list[str]
    #: Local folders installed from (requirement text -> how it was chosen).
    local_notes: list[str]
    skipped: list[str]
    env: dict[str, str]
    run_index: int
    warnings: list[str] = field(default_factory=list)
    #: The recorded distributions: name (lower case) -> version.
    versions: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The plan as lines a person reads before running it (the warnings apart: the
        reproduction says them as it starts)."""
        lines = [f"reproduce run {self.run_id}"]
        if self.commit:
            lines.append(f"  code:     commit {self.commit} of {self.repository}")
            size = f"{len(self.patch):,} bytes of uncommitted changes" if self.patch else "none"
            lines.append(f"  patch:    {size}")
        else:
            lines.append(f"  code:     {self.cwd} as it is now (the run was not in git)")
        lines.append(f"  python:   {self.python}")
        lines.append(f"  packages: {len(self.requirements)} to install")
        lines.extend(f"            {note}" for note in self.local_notes)
        lines.extend(f"            skipped {name}" for name in self.skipped)
        lines.append(f"  command:  python {' '.join(self.command)}")
        lines.append(f"  in:       {self.cwd}" + (" (of the source copy)" if self.in_repo else ""))
        if self.env:
            lines.append(f"  env:      {', '.join(sorted(self.env))}")
        return "\n".join(lines)


def make_plan(client: Client, run_id: str) -> Plan:
    """Read ``run_id``'s record and decide the reproduction; raise a CarnetError naming
    what cannot be had."""
    validate_run_id(run_id)
    run = client.get_run(run_id)
    try:
        record: dict[str, Any] = json.loads(client.read_artifact(run_id, capture.ENVIRONMENT_FILE))
    except ArtifactNotFoundError:
        raise NotFoundError(
            f"run {run_id} has no {capture.ENVIRONMENT_FILE}: it started with "
            "CARNET_CAPTURE=off or before Carnet recorded environments, so it cannot be "
            "reproduced."
        ) from None
    entry = record["entry_point"]
    if entry["kind"] == "interactive":
        raise StateError(
            f"run {run_id} was started interactively (a notebook or a REPL): there is no "
            "command to run again. Put the code in a script and run that."
        )
    if entry.get("cut"):
        raise StateError(f"run {run_id}'s command line was too long to record whole.")
    git = record["git"]
    if git["patch"] == "omitted":
        raise StateError(
            f"run {run_id}'s uncommitted changes ({git.get('patch_bytes', '?')} bytes) were "
            f"larger than {capture.MAX_PATCH_BYTES:,} bytes and were not recorded, so its "
            "code cannot be rebuilt. Commit changes before runs you want to reproduce."
        )
    warnings: list[str] = []
    commit = git.get("commit")
    repository = _find_commit(commit, git.get("root")) if commit else None
    patch = None
    if git["patch"] == "included":
        patch = client.read_artifact(run_id, capture.PATCH_FILE)
    if commit is None:
        warnings.append(
            "the run was not in a git working tree: its code is run as it is now"
            + _script_changed(entry, record["cwd"])
        )
    untracked = git.get("untracked") or []
    if untracked:
        shown = ", ".join(untracked[:5]) + (" ..." if len(untracked) > 5 else "")
        warnings.append(
            f"the original working tree had {len(untracked)} untracked file(s), which were "
            f"not recorded: {shown}"
        )
    if record["system"] != platform.system():
        warnings.append(f"the run ran on {record['system']}, this is {platform.system()}")
    requirements, notes, skipped = _requirements(record["distributions"], git.get("root"))
    return Plan(
        run_id=run_id,
        experiment_id=run.info.experiment_id,
        python=record["python"],
        repository=repository,
        commit=commit,
        patch=patch,
        command=_command(entry),
        cwd=record["cwd"],
        in_repo=bool(record["in_repo"]) and commit is not None,
        requirements=requirements,
        local_notes=notes,
        skipped=skipped,
        env=dict(record.get("env") or {}),
        run_index=int(record["run_index"]),
        warnings=warnings,
        versions={d["name"].lower(): d["version"] for d in record["distributions"]},
    )


def repo_root_of(folder: Path) -> Path | None:
    """The git working tree holding ``folder`` (looked up by its ``.git``), or None."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _find_commit(commit: str, recorded_root: str | None) -> Path:
    """The repository here that has ``commit``: the one around the working directory,
    else the one the run ran in."""
    candidates = [repo_root_of(Path.cwd())]
    if recorded_root:
        candidates.append(Path(recorded_root))
    looked: list[str] = []
    for repo in candidates:
        if repo is None or not (repo / ".git").exists() or str(repo) in looked:
            continue
        looked.append(str(repo))
        try:
            found = subprocess.run(
                ["git", "cat-file", "-e", f"{commit}^{{commit}}"],
                cwd=repo,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            raise NotFoundError("git is not installed; reproducing a run needs it.") from None
        if found.returncode == 0:
            return repo
    where = ", ".join(looked) or "no git repository (none around the working directory)"
    raise NotFoundError(
        f"commit {commit} cannot be found in {where}: it may have been rebased away or not "
        "fetched. Fetch it (git fetch --all), or run carnet reproduce from a clone that has it."
    )


def _script_changed(entry: dict[str, Any], cwd: str) -> str:
    if entry["kind"] != "script" or not entry.get("sha256"):
        return ""
    import hashlib

    script = Path(cwd) / entry["target"]
    try:
        now = hashlib.sha256(script.read_bytes()).hexdigest()
    except OSError:
        return f"; its script {script} is gone"
    return f"; its script {script} changed since" if now != entry["sha256"] else ""


def _command(entry: dict[str, Any]) -> list[str]:
    kind, target, args = entry["kind"], entry["target"], list(entry["args"])
    if kind == "module":
        return ["-m", target, *args]
    if kind == "command":
        return ["-c", target, *args]
    return [target, *args]


def _requirements(
    dists: list[dict[str, str]], root: str | None
) -> tuple[list[str], list[str], list[str]]:
    """Pins for index distributions; a local folder inside the recorded repository comes
    from the same folder of the source copy (``{source}`` is replaced when it is known);
    another local folder is installed as it is now; what cannot be had is skipped."""
    pins: list[str] = []
    extra: list[str] = []
    notes: list[str] = []
    skipped: list[str] = []
    for dist in dists:
        name, source = dist["name"], dist["source"]
        if source == "index":
            pins.append(f"{name}=={dist['version']}")
        elif source in ("vcs", "url"):
            ref = f"@{dist['commit']}" if dist.get("commit") else ""
            extra.append(f"{name} @ {dist['url']}{ref}")
        else:
            path = Path(unquote(urlparse(dist.get("url", "")).path))
            if root and path.is_relative_to(root):
                rel = path.relative_to(root).as_posix()
                extra.append(f"{{source}}/{rel}" if rel != "." else "{source}")
                notes.append(f"{name}: from the source copy's {rel or '.'} (the recorded commit)")
            elif dist.get("url") and path.is_dir():
                extra.append(str(path))
                notes.append(
                    f"{name}: from a copy of {path} as it is now (installed from that folder)"
                )
            else:
                skipped.append(f"{name} {dist['version']} (a local file that is gone)")
    return pins + extra, notes, skipped
