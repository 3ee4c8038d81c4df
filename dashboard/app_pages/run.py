"""Run page: everything about one run, and how to reproduce it.

Params, the metric summary and curves, tags, the source and environment
captured at start, artifacts (download, and inline previews of text, JSON, CSV
and images), parent and child runs. Logged text is shown as text: HTML
artifacts are offered for download, never rendered. Artifacts are read as bytes
through the client, which refuses a run whose artifact location lies outside
the allowed artifact roots and never follows a link in a run's folder; what a
viewer sees of a refusal or a read error is a plain sentence, never a server
path or a traceback.
"""

from __future__ import annotations

import io
import json
from pathlib import PurePosixPath

import pandas as pd
import streamlit as st

import carnet
from carnet.entities import FileInfo
from carnet.errors import ArtifactLocationError, ArtifactNotFoundError, ArtifactPathError
from carnet.sysinfo import (
    ERROR_MESSAGE_TAG,
    ERROR_TYPE_TAG,
    GIT_DIRTY_TAG,
    HOST_TAG,
    PLATFORM_TAG,
    PYTHON_TAG,
    SOURCE_COMMAND_TAG,
    SOURCE_CWD_TAG,
)
from dashboard import charts, data, frames, reproduce_section, shared_keys, state, ui
from dashboard.shared_keys import CURVE_X, FILTER, RUN, SMOOTHING, SORT
from dashboard.state import UrlKey

TABS = ("Overview", "Metrics", "Params & tags", "Artifacts", "System")
# This page's URL keys (the short names in aliases are what older links carry).
#: The open tab, by its title (``tab`` is the compare page's).
RUN_TAB = UrlKey("run_tab", TABS[0], str, aliases=("rtab",))
#: The metric keys drawn as curves (default: the first few logged at several steps).
CURVES = UrlKey[tuple[str, ...]]("curves", (), state.words, aliases=("rm",), many=True)
URL_KEYS = (*shared_keys.EVERY_PAGE, RUN, RUN_TAB, CURVES, CURVE_X, SMOOTHING)
PREVIEW_BYTES = 2_000_000
#: Metrics under this prefix (MLflow's system metrics) get their own section of curves.
SYSTEM_METRICS_PREFIX = "system/"
TEXT_SUFFIXES = {
    ".txt": None,
    ".log": None,
    ".md": "markdown",
    ".py": "python",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".cfg": None,
    ".ini": None,
    ".sh": "bash",
    ".sql": "sql",
    ".html": "html",
    ".xml": "xml",
    ".svg": "xml",
    ".json": "json",
    ".csv": None,
    ".tsv": None,
}
NAMED_TEXT = {"MLmodel": "yaml", "Dockerfile": "docker", "MLproject": "yaml", "LICENSE": None}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
LOCATION_REFUSED = (
    "This run's artifacts are not shown: its artifact location is outside the folders "
    "this dashboard reads artifacts from. If the location is genuine, the dashboard's "
    "administrator can add its folder to CARNET_ARTIFACT_ROOTS."
)
UNREADABLE = "This run's artifacts cannot be read by the dashboard."
SYSTEM_TAGS = (
    ("source", "mlflow.source.name"),
    ("command", SOURCE_COMMAND_TAG),
    ("working directory", SOURCE_CWD_TAG),
    ("git commit", "mlflow.source.git.commit"),
    ("git branch", "mlflow.source.git.branch"),
    ("uncommitted changes", GIT_DIRTY_TAG),
    ("python", PYTHON_TAG),
    ("platform", PLATFORM_TAG),
    ("host", HOST_TAG),
    ("user", "mlflow.user"),
)


def pick_run(ctx: ui.Context) -> str | None:
    """No run in the URL: choose one of the matching runs."""
    try:
        frame = data.page(
            ctx.uri,
            ctx.version,
            ctx.exp_ids,
            FILTER.read(),
            tuple(frames.split_clauses(SORT.read())),
            0,
            1000,
        )
    except carnet.FilterError:
        frame = data.page(ctx.uri, ctx.version, ctx.exp_ids, "", (), 0, 1000)
    if frame.empty:
        st.info("No runs in the chosen experiments.")
        return None
    names = dict(zip(frame["run_id"], frames.run_labels(frame), strict=True))
    chosen = st.selectbox(
        "Choose a run", [None, *names], format_func=lambda r: names.get(r, "—") if r else "—"
    )
    return str(chosen) if chosen else None


def header(run: carnet.Run, ctx: ui.Context) -> None:
    """Name, id, experiment, status, start, duration and user: what a glance needs."""
    info = run.info
    st.title(ui.escape_md(info.run_name or info.run_id))
    exp = {e.experiment_id: e.name for e in ctx.experiments}.get(
        info.experiment_id, info.experiment_id
    )
    st.caption(f"run {ui.escape_md(info.run_id)} in experiment {ui.escape_md(exp)}")
    start = pd.to_datetime(info.start_time, unit="ms", utc=True) if info.start_time else None
    end = info.end_time or (
        int(pd.Timestamp.now(tz="UTC").timestamp() * 1000) if info.status == "RUNNING" else None
    )
    seconds = (end - info.start_time) / 1000 if end and info.start_time else None
    cols = st.columns([2, 3, 2, 2])
    for col, (name, value) in zip(
        cols,
        (
            ("status", ui.status_text(info.status)),
            ("started (UTC)", start.strftime("%Y-%m-%d %H:%M") if start is not None else "—"),
            ("duration", duration_text(seconds)),
            ("user", info.user_id or "—"),
        ),
        strict=True,
    ):
        col.metric(name, ui.escape_md(value))


def duration_text(seconds: float | None) -> str:
    """A duration people read at a glance: seconds, minutes or hours."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {sec:02d} s"


def overview(run: carnet.Run, ctx: ui.Context) -> None:
    """The first tab: error and note, params and metrics, family, how to reproduce."""
    tags = run.data.tags
    error_type = frames.system_tag(tags, ERROR_TYPE_TAG)
    if error_type:
        st.error(f"The run failed with {ui.escape_md(error_type)}")
        st.code(frames.system_tag(tags, ERROR_MESSAGE_TAG), language=None, wrap_lines=True)
    note = tags.get("mlflow.note.content")
    if note:
        st.caption("Note")
        st.text(note)
    left, right = st.columns(2)
    with left:
        st.subheader("Params")
        params_table(run)
    with right:
        st.subheader("Metrics")
        summary_table(run)
    datasets_table(run)
    family(run, ctx)
    st.subheader("Reproduce")
    reproduce_section.show(run, ctx)


def dataset_rows(run: carnet.Run) -> pd.DataFrame:
    """One row per dataset the run used: name, digest, context, source and schema as text."""
    rows = []
    for item in run.inputs.dataset_inputs:
        d, tags = item.dataset, dict(item.tags)
        try:
            source = json.loads(d.source)
            where = source.get("uri") or source.get("url") or ""
            if not where and isinstance(source.get("tags"), dict):
                where = source["tags"].get("mlflow.source.name", "")
        except (ValueError, AttributeError):
            where = d.source
        rows.append(
            {
                "name": d.name,
                "digest": d.digest,
                "context": tags.get("mlflow.data.context", ""),
                "source": f"{d.source_type}: {where}" if where else d.source_type,
                "schema": schema_text(d.schema),
            }
        )
    return pd.DataFrame(rows, columns=["name", "digest", "context", "source", "schema"])


def schema_text(schema: str | None) -> str:
    """``name: type`` per column (or tensor dtype and shape), from MLflow's schema JSON."""
    if not schema:
        return ""
    try:
        parsed = json.loads(schema)
        if "mlflow_colspec" in parsed:
            return ", ".join(f"{c.get('name')}: {c.get('type')}" for c in parsed["mlflow_colspec"])
        specs = []
        for role, text in parsed.get("mlflow_tensorspec", {}).items():
            for t in json.loads(text) if text else []:
                spec = t.get("tensor-spec", {})
                name = f"{role}.{t['name']}" if t.get("name") else role
                specs.append(f"{name}: {spec.get('dtype')} {spec.get('shape')}")
        return ", ".join(specs)
    except (ValueError, TypeError, AttributeError, KeyError):
        return schema


def datasets_table(run: carnet.Run) -> None:
    """The datasets the run used (``log_input``), shown as text."""
    rows = dataset_rows(run)
    if rows.empty:
        return
    st.subheader("Datasets")
    st.dataframe(rows, hide_index=True, width="stretch")


def params_table(run: carnet.Run) -> None:
    """The run's params as a table of text (values are never rendered as markup)."""
    if not run.data.params:
        st.caption("No params logged.")
        return
    table = pd.DataFrame(sorted(run.data.params.items()), columns=["param", "value"])
    st.dataframe(table, hide_index=True, width="stretch")


def summary_table(run: carnet.Run) -> None:
    """Last, min, max and point count per metric, read from the summary (no history)."""
    if not run.summaries:
        st.caption("No metrics logged.")
        return
    rows = [
        {
            "metric": s.key,
            "last": s.last,
            "min": s.min,
            "max": s.max,
            "points": s.count,
            "last step": s.step,
            "logged": pd.to_datetime(s.timestamp, unit="ms", utc=True),
        }
        for s in sorted(run.summaries.values(), key=lambda s: s.key)
    ]
    number = st.column_config.NumberColumn(format="%.6g")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "last": number,
            "min": number,
            "max": number,
            "logged": st.column_config.DatetimeColumn(format="distance"),
        },
    )


def family(run: carnet.Run, ctx: ui.Context) -> None:
    """Parent and child runs (nested runs: a search and its trials, CV folds)."""
    parent_id = run.data.tags.get("mlflow.parentRunId")
    kids = data.children(ctx.uri, ctx.version, run.info.experiment_id, run.info.run_id)
    if not parent_id and kids.empty:
        return
    st.subheader("Parent and child runs")
    if parent_id:
        try:
            parent = data.run(ctx.uri, ctx.version, parent_id)
            name = parent.info.run_name or parent_id
        except carnet.NotFoundError:
            name = f"{parent_id} (deleted)"
        st.page_link(
            ui.RUN_PAGE,
            label=f"Parent: {ui.escape_md(name)}",
            icon=":material/arrow_upward:",
            query_params={"run": parent_id},
        )
    if not kids.empty:
        metrics = [c for c in kids.columns if c.startswith("metrics.")][:8]
        columns = ["run_name", "status", "start_time", "duration", *metrics]
        table = ui.display_frame(kids, columns)
        st.caption(f"{len(kids)} child runs")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config=ui.column_config(list(table.columns)),
        )


def metrics_tab(run: carnet.Run, ctx: ui.Context) -> None:
    """Chosen metric curves, refreshed alone while the run is running."""
    every = sorted(run.summaries)
    if not every:
        st.caption("No metrics logged.")
        return
    system = [k for k in every if k.startswith(SYSTEM_METRICS_PREFIX)]
    keys = [k for k in every if not k.startswith(SYSTEM_METRICS_PREFIX)]
    stepped = [k for k in keys if run.summaries[k].count > 1] or keys
    c = st.columns([4, 2, 2], vertical_alignment="bottom")
    with c[0]:
        chosen = ui.multiselect(CURVES.name, "Curves", keys, stepped[:4])
    with c[1]:
        x = ui.select(
            CURVE_X.name,
            "x axis",
            list(charts.X_AXES),
            CURVE_X.default,
            format_func=lambda a: charts.X_AXES[a][1],
        )
    with c[2]:
        smoothing = ui.slider(SMOOTHING.name, "smoothing", 0.0, 0.99, SMOOTHING.default, 0.01)
    run_id = run.info.run_id
    label = frames.run_labels(
        pd.DataFrame({"run_id": [run_id], "run_name": [run.info.run_name]})
    ).iloc[0]

    def draw() -> None:
        fresh = data.run(ctx.uri, ctx.version, run_id)
        for title, group in (("", chosen), ("System metrics", system)):
            if title and group:
                st.subheader(title)
            grid = st.columns(2)
            for i, key in enumerate(group):
                s = fresh.summaries.get(key)
                if s is None:
                    continue
                curve = data.curve(ctx.uri, run_id, key, s.count, s.timestamp, smoothing).copy()
                curve["run_id"], curve["run"] = run_id, label
                with grid[i % 2]:
                    st.markdown(f"**{ui.escape_md(key)}** · {s.count:,} points")
                    st.altair_chart(
                        charts.curves(curve, key, x=x, smoothed=smoothing > 0), width="stretch"
                    )

    st.fragment(run_every=3 if ctx.live and run.info.status == "RUNNING" else None)(draw)()
    summary_table(run)


def tags_tab(run: carnet.Run) -> None:
    """Params, then the user's tags apart from the system tags Carnet and MLflow set."""
    params_table(run)
    tags = run.data.tags
    user = {k: v for k, v in tags.items() if not frames.is_system_tag(k)}
    system = {k: v for k, v in tags.items() if frames.is_system_tag(k)}
    for title, items in (("Tags", user), ("System tags", system)):
        st.subheader(title)
        if items:
            st.dataframe(
                pd.DataFrame(sorted(items.items()), columns=["tag", "value"]),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("None.")


def system_tab(run: carnet.Run) -> None:
    """The source and environment captured at start, and where the artifacts are."""
    tags = run.data.tags
    rows = [
        (name, frames.system_tag(tags, key))
        for name, key in SYSTEM_TAGS
        if frames.system_tag(tags, key)
    ]
    if not rows:
        st.caption("This run recorded no source or environment information.")
    else:
        st.dataframe(
            pd.DataFrame(rows, columns=["captured at start", "value"]),
            hide_index=True,
            width="stretch",
        )
    st.caption("artifact location")
    st.code(run.info.artifact_uri, language=None)


def artifacts_tab(run: carnet.Run, ctx: ui.Context) -> None:
    """The run's files with a preview of one, unless its location is refused."""
    try:
        data.artifact_path(ctx.uri, run.info.run_id, "")
    except ArtifactLocationError:
        st.error(LOCATION_REFUSED)
        return
    except carnet.CarnetError:  # e.g. a bad CARNET_ARTIFACT_ROOTS: its text names server paths
        st.error(UNREADABLE)
        return
    files = data.artifacts(ctx.uri, ctx.version, run.info.run_id)
    if not files:
        st.caption("No artifacts logged.")
        return
    listing = pd.DataFrame({"path": [f.path for f in files], "size": [f.file_size for f in files]})
    st.dataframe(
        listing,
        hide_index=True,
        width="stretch",
        column_config={"size": st.column_config.NumberColumn(format="bytes")},
    )
    by_path = {f.path: f for f in files}
    path = st.selectbox("Preview", list(by_path), key="run.artifact")
    if path:
        preview(run.info.run_id, by_path[path], ctx)


def read_artifact(uri: str, run_id: str, path: str) -> bytes | None:
    """The file's bytes, or None after telling the viewer in plain words why not."""
    try:
        return data.client(uri).read_artifact(run_id, path)
    except ArtifactLocationError:
        st.error(LOCATION_REFUSED)
    except (ArtifactPathError, ArtifactNotFoundError) as exc:  # name only the artifact path
        st.error(ui.escape_md(exc))
    except carnet.CarnetError:
        st.error("This file cannot be read by the dashboard.")
    return None


def preview(run_id: str, info: FileInfo, ctx: ui.Context) -> None:
    """Download for any file; an inline view of text, JSON, CSV and images up to a size."""
    client = data.client(ctx.uri)
    name = PurePosixPath(info.path).name

    def read() -> bytes:
        return client.read_artifact(run_id, info.path)

    st.download_button(
        "Download", data=read, file_name=name, on_click="ignore", icon=":material/download:"
    )
    size = info.file_size or 0
    suffix = PurePosixPath(name).suffix.lower()
    if size > PREVIEW_BYTES:
        st.caption(f"Too large to preview ({size:,} bytes); download it instead.")
        return
    content = read_artifact(ctx.uri, run_id, info.path)
    if content is None:
        return
    try:
        if suffix in IMAGE_SUFFIXES:
            show_image(content)
        elif suffix == ".json":
            st.json(json.loads(content.decode("utf-8")))
        elif suffix in (".csv", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(io.BytesIO(content), sep=sep, nrows=1000, dtype=str)
            st.dataframe(frame, width="stretch")
        elif suffix in TEXT_SUFFIXES or name in NAMED_TEXT:
            st.code(
                content.decode("utf-8", errors="replace"),
                language=TEXT_SUFFIXES.get(suffix) or NAMED_TEXT.get(name),
            )
        else:
            st.caption("No preview for this kind of file; download it.")
    except ValueError as exc:  # JSON and CSV parsers say where the text is malformed
        st.warning(f"Could not preview this file: {ui.escape_md(exc)}")


def show_image(content: bytes) -> None:
    """An image, or a plain warning when it is not one the dashboard can decode."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
        st.image(content)
    except Exception:  # decoders raise many types, and their text shows Python objects
        st.warning("Could not preview this file: it is not an image the dashboard can read.")


def render() -> None:
    """The page: the run from the URL (or a choice of one), then the open tab."""
    state.use(URL_KEYS)
    ctx = ui.context()
    run_id = RUN.read() or pick_run(ctx)
    if not run_id:
        return
    RUN.write(run_id)
    try:
        run = data.run(ctx.uri, ctx.version, run_id)
    except carnet.NotFoundError:
        st.error(f"No run with id {ui.escape_md(run_id)} in this store.")
        return
    header(run, ctx)
    tab = RUN_TAB.read()
    containers = st.tabs(
        list(TABS),
        key=state.seed(RUN_TAB.name, tab if tab in TABS else RUN_TAB.default),
        on_change="rerun",
    )
    for name, container in zip(TABS, containers, strict=True):
        if not container.open:
            continue
        RUN_TAB.write(name)
        with container:
            if name == "Overview":
                overview(run, ctx)
            elif name == "Metrics":
                metrics_tab(run, ctx)
            elif name == "Params & tags":
                tags_tab(run)
            elif name == "Artifacts":
                artifacts_tab(run, ctx)
            else:
                system_tab(run)


if __name__ == "__main__":  # Streamlit runs a page as __main__; tests import it
    render()
