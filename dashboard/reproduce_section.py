"""The run page's "Reproduce" section: the command, the packages, the reproductions.

For a run that recorded its environment (:mod:`carnet.capture`) it shows the
exact ``carnet reproduce`` command, what the recorded patch holds, the packages
whose versions differ from the machine serving this dashboard, and links
between the run and its reproductions (runs tagged ``carnet.reproduces``), both
ways. An older run shows the commands it started from, as recorded. The store's
URI is never shown: it may hold a password.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

import carnet
from carnet import capture, reproduce_plan
from carnet.sysinfo import GIT_DIRTY_TAG, SOURCE_COMMAND_TAG, SOURCE_CWD_TAG
from dashboard import data, frames, ui

#: At most this many reproductions are listed.
MAX_REPRODUCTIONS = 50
_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def show(run: carnet.Run, ctx: ui.Context) -> None:
    """The section, under the page's own "Reproduce" heading."""
    tags = run.data.tags
    run_id = run.info.run_id
    original = tags.get(capture.REPRODUCES_TAG)
    if original and _SAFE_ID.fullmatch(original):
        st.page_link(
            ui.RUN_PAGE,
            label=f"Reproduces run {ui.escape_md(original)}",
            icon=":material/replay:",
            query_params={"run": original},
        )
    if capture.ENTRY_POINT_TAG not in tags:
        _recorded_commands(tags)
    else:
        st.code(f"carnet reproduce {run_id}", language="bash")
        st.caption(
            f"Runs {ui.code_span(tags[capture.ENTRY_POINT_TAG])} again at its commit "
            "in a fresh environment, against the same store (`--db` or "
            "`CARNET_TRACKING_URI`); `--dry-run` shows the plan."
        )
        _patch_note(tags.get(capture.PATCH_TAG, ""))
        _differing_packages(ctx.uri, run_id)
    _reproductions(run, ctx)


def _patch_note(status: str) -> None:
    if status == "included":
        st.caption("Uncommitted changes were recorded as a patch; the reproduction applies it.")
    elif status == "omitted":
        st.warning(
            "The uncommitted changes were too large to record: this run cannot be reproduced."
        )
    elif status == "no-git":
        st.caption("The script was not in a git repository: its code is run as it is now.")


@st.cache_data(show_spinner=False, max_entries=16)
def _recorded(uri: str, run_id: str) -> tuple[bytes, bytes | None] | None:
    """The run's environment record (JSON, as kept) and uncommitted patch; None when
    unreadable."""
    client = data.client(uri)
    try:
        record, patch = reproduce_plan.recorded_environment(client, client.get_run(run_id))
    except (carnet.CarnetError, ValueError, KeyError, TypeError):
        return None
    return json.dumps(record, indent=1).encode(), patch


def _recorded_versions(record: bytes) -> dict[str, str] | None:
    """The record's distributions (name -> version), None when not in Carnet's layout."""
    try:
        dists = json.loads(record)["distributions"]
        return {str(d["name"]): str(d["version"]) for d in dists[:10_000]}
    except (ValueError, KeyError, TypeError):
        return None


def differing_packages(recorded: dict[str, str], here: dict[str, str]) -> pd.DataFrame:
    """Distributions whose version differs between the run and this machine (either side
    missing counts), by name; names compare case-insensitively."""
    ours = {k.lower(): v for k, v in here.items()}
    theirs = {k.lower(): (k, v) for k, v in recorded.items()}
    rows = [
        (theirs[k][0] if k in theirs else k, theirs.get(k, ("", "—"))[1], ours.get(k, "—"))
        for k in sorted(set(ours) | set(theirs))
        if ours.get(k) != theirs.get(k, ("", None))[1]
    ]
    return pd.DataFrame(rows, columns=["package", "run", "this dashboard's machine"])


def _differing_packages(uri: str, run_id: str) -> None:
    found = _recorded(uri, run_id)
    recorded = None if found is None else _recorded_versions(found[0])
    if found is None or recorded is None:
        st.caption("The run's recorded packages cannot be read.")
        return
    record, patch = found
    here = {d["name"]: d["version"] for d in capture.distributions()}
    table = differing_packages(recorded, here)
    if table.empty:
        st.caption(f"Same {len(recorded)} packages as the machine serving this dashboard.")
    else:
        st.caption(f"{len(table)} packages differ from the machine serving this dashboard")
        st.dataframe(table, hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.download_button(
        "Environment record (JSON)",
        record,
        file_name=f"{run_id}-environment.json",
        mime="application/json",
        icon=":material/download:",
    )
    if patch is not None:
        right.download_button(
            "Uncommitted changes (patch)",
            patch,
            file_name=f"{run_id}-uncommitted.patch",
            mime="text/x-diff",
            icon=":material/download:",
        )


def _reproductions(run: carnet.Run, ctx: ui.Context) -> None:
    run_id = run.info.run_id
    if not _SAFE_ID.fullmatch(run_id):
        return
    flt = f"{frames.column_ref('tags.' + capture.REPRODUCES_TAG)} = {frames.quote_text(run_id)}"
    ids = tuple(sorted({e.experiment_id for e in ctx.experiments} | {run.info.experiment_id}))
    found = data.page(ctx.uri, ctx.version, ids, flt, ("start_time DESC",), 0, MAX_REPRODUCTIONS)
    if found.empty:
        return
    st.caption(f"{len(found)} reproductions")
    for rid, name in zip(found["run_id"], frames.run_labels(found), strict=True):
        st.page_link(
            ui.RUN_PAGE,
            label=ui.escape_md(name),
            icon=":material/replay:",
            query_params={"run": str(rid)},
        )


def _recorded_commands(tags: dict[str, str]) -> None:
    """A run from before environments were recorded: its command line and commit."""
    recorded = frames.system_tag(tags, SOURCE_COMMAND_TAG)
    command = recorded or tags.get("mlflow.source.name")
    if not command:
        st.caption("This run recorded no source command.")
        return
    lines = []
    cwd = frames.system_tag(tags, SOURCE_CWD_TAG)
    if cwd:
        lines.append(f"cd {cwd}")
    commit = tags.get("mlflow.source.git.commit")
    if commit:
        lines.append(f"git checkout {commit}")
    lines.append(command if recorded else f"python {command}")
    st.code("\n".join(lines), language="bash")
    if frames.system_tag(tags, GIT_DIRTY_TAG).lower() in ("true", "1", "yes"):
        st.warning(
            "The working tree had uncommitted changes when this run started; the "
            "commit alone does not reproduce it."
        )
    elif not commit:
        st.caption("No git commit was recorded (the script was not in a git repository).")
