"""What ``carnet reproduce RUN_ID`` will do, read from the run's record and checked first.

:func:`make_plan` reads what :mod:`carnet.capture` stored at the run's start
and decides, before anything is built: which commit of which repository, the
patch, the packages (pins from the index; VCS and archive URLs as their own
requirements; local installs such as editable ones copied from the source copy or
from where they are installed here; the rest skipped with a reason), the command and its folder,
and the warnings (another OS or Python, code outside git). Whatever cannot be
had raises a :class:`~carnet.errors.CarnetError` naming it: a run without a
record, an interactive run, a patch that was too large to record, a commit no
repository here has.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carnet import capture
from carnet.client import Client
from carnet.entities import Run
from carnet.errors import (
    ArtifactNotFoundError,
    CarnetError,
    InvalidInputError,
    NotFoundError,
    StateError,
)
from carnet.record_digest import MAX_RECORD_BYTES
from carnet.validation import validate_run_id

__all__ = ["Copy", "Plan", "make_plan", "recorded_environment", "repo_root_of"]


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
    #: Requirements for the new environment: pins, then VCS and archive URLs.
    requirements: list[str]
    #: Local installs, copied into the new environment's site-packages.
    copies: list[Copy]
    #: How each local install is had.
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
    what cannot be had (InvalidInputError for a record that is not Carnet's layout)."""
    try:
        return _plan(client, run_id)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CarnetError):
            raise
        raise InvalidInputError(
            f"run {run_id}'s environment record is not a record Carnet wrote "
            f"({type(exc).__name__}: {str(exc)[:200]}); it cannot be reproduced."
        ) from None


def recorded_environment(client: Client, run: Run) -> tuple[dict[str, Any], bytes | None]:
    """The environment record of ``run`` (see :mod:`carnet.capture`) and its uncommitted
    patch: the store's record the run's tag names, or for a run recorded before records
    were kept that way, its ``carnet/environment.json`` artifact. NotFoundError naming
    why when the run has neither."""
    run_id = run.info.run_id
    tags = run.data.tags
    digest = tags.get(capture.ENVIRONMENT_TAG)
    if digest is not None:
        try:
            kept = client.store.get_environment_record(digest)
        except NotFoundError:
            raise NotFoundError(
                f"run {run_id} names environment record {digest[:12]}, which this store does "
                "not have (the store it was kept in was copied without it), so it cannot be "
                "reproduced."
            ) from None
        record: dict[str, Any] = json.loads(kept.record)
        record["run_index"] = int(tags.get(capture.RUN_INDEX_TAG, "1"))
        return record, kept.patch
    try:
        raw = client.read_artifact(run_id, capture.ENVIRONMENT_FILE)
    except ArtifactNotFoundError:
        raise NotFoundError(
            f"run {run_id} has no environment record: it started with CARNET_CAPTURE=off or "
            "before Carnet recorded environments, so it cannot be reproduced."
        ) from None
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidInputError(
            f"run {run_id}'s {capture.ENVIRONMENT_FILE} is larger than an environment record "
            f"can be ({MAX_RECORD_BYTES:,} bytes); it cannot be reproduced."
        )
    record = json.loads(raw)
    patch = None
    if isinstance(record, dict) and record.get("git", {}).get("patch") == "included":
        patch = client.read_artifact(run_id, capture.PATCH_FILE)
    return record, patch


def _plan(client: Client, run_id: str) -> Plan:
    validate_run_id(run_id)
    run = client.get_run(run_id)
    record, recorded_patch = recorded_environment(client, run)
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
    patch = recorded_patch if git["patch"] == "included" else None
    if git["patch"] == "included" and patch is None:
        raise InvalidInputError(f"run {run_id}'s record says it has a patch, and has none.")
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
    requirements, copies, notes, skipped = _requirements(record["distributions"], git.get("root"))
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
        copies=copies,
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
) -> tuple[list[str], list[Copy], list[str], list[str]]:
    """Pins for index distributions, requirement URLs for VCS and URL ones; a local one
    (an editable install, a folder) is copied, not built: each of its top-level packages,
    found where this process imports it from, comes from the same folder of the source
    copy when that lies in the recorded repository (the recorded commit), else from
    where it is installed here now. What cannot be had is skipped, with the reason."""
    pins: list[str] = []
    extra: list[str] = []
    copies: list[Copy] = []
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
            found = _local_copies(name, root)
            if found is None:
                skipped.append(f"{name} {dist['version']} (a local install not found here)")
                continue
            copies.extend(found)
            origins = ", ".join(
                f"{c.target} from "
                + (f"the source copy's {c.path}" if c.from_source else f"{c.path} as it is now")
                for c in found
                if not c.target.endswith(".dist-info")
            )
            notes.append(f"{name}: copied, not built: {origins}")
    return pins + extra, copies, notes, skipped


@dataclass(frozen=True)
class Copy:
    """A file or folder copied into the new environment's site-packages as ``target``:
    ``path`` is relative to the source copy when ``from_source``, else absolute."""

    path: str
    target: str
    from_source: bool


def _local_copies(name: str, root: str | None) -> list[Copy] | None:
    """Where this process finds the distribution's top-level packages and its metadata
    folder; None when it is not installed here."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        return None
    copies: list[Copy] = []
    for top in tops:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        if spec.submodule_search_locations:
            where = Path(next(iter(spec.submodule_search_locations)))
        elif spec.origin:
            where = Path(spec.origin)
        else:
            return None
        if root and where.is_relative_to(root):
            copies.append(Copy(where.relative_to(root).as_posix(), where.name, True))
        else:
            copies.append(Copy(str(where), where.name, False))
    info = next((f for f in dist.files or [] if f.parts[0].endswith(".dist-info")), None)
    if info is not None:
        folder = Path(str(dist.locate_file(info.parts[0])))
        copies.append(Copy(str(folder), folder.name, False))
    return copies
