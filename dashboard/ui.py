"""Streamlit pieces the pages share: context, query field, safe text, table config.

Everything a user logged (run names, params, tags) reaches the screen through
``st.dataframe``, ``st.text``, ``st.code`` or :func:`escape_md`, never as HTML
or live markdown.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from carnet.errors import FilterError
from carnet.query import Kind, filter_keys, quote_key
from dashboard import data, frames, state
from dashboard.shared_keys import FILTER

CTX = "carnet.ctx"
RUN_PAGE = "app_pages/run.py"
RUNS_PAGE = "app_pages/runs.py"
COMPARE_PAGE = "app_pages/compare.py"
ATTRIBUTE_NAMES = (
    "run_name",
    "status",
    "start_time",
    "end_time",
    "duration",
    "user_id",
    "run_id",
    "artifact_uri",
)
# Plain symbols rather than emoji: they render in every font, headless browsers included.
STATUS_ICONS = {
    "FINISHED": "✓",
    "RUNNING": "●",
    "SCHEDULED": "○",
    "FAILED": "✗",
    "KILLED": "■",
    "CRASHED": "✗",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'@])")
QUERY_EXAMPLES = (
    ("metrics.MSE < 3000", "a metric's last value"),
    ("params.alpha < 0.05 and params.l1_ratio = '1.0'", "params compare as numbers or text"),
    ("metrics.loss.min < 0.1", "an aggregate over the whole history (min, max, count)"),
    ("tags.team LIKE 'med%'", "LIKE / ILIKE patterns: % any text, _ one character"),
    ("status = 'FAILED' or status = 'CRASHED'", "OR, NOT and parentheses"),
    ("params.solver IN ('lbfgs', 'adam')", "IN / NOT IN lists"),
    ("tags.`mlflow.note.content` IS NOT NULL", "back-ticks around keys with dots or spaces"),
    ("start_time > '2025-01-31'", "times accept ISO dates"),
)


@dataclass(frozen=True)
class Context:
    """What every page needs, set by the router before the page runs."""

    uri: str
    exp_ids: tuple[str, ...]
    experiments: tuple[data.ExperimentRow, ...]
    live: bool

    @property
    def version(self) -> data.Version:
        """The store's cheap change counter; cached loaders key on it, so a change shows."""
        return data.version(self.uri)

    def names(self) -> list[str]:
        """The names of the chosen experiments, in the sidebar's order (for page titles)."""
        chosen = set(self.exp_ids)
        return [e.name for e in self.experiments if e.experiment_id in chosen]


def set_context(ctx: Context) -> None:
    """Hand the router's context to the page it runs next (kept in session state)."""
    st.session_state[CTX] = ctx


def context() -> Context:
    """The router's context for this page; stops the page if it was opened on its own."""
    ctx = st.session_state.get(CTX)
    if not isinstance(ctx, Context):  # a page opened without the router (should not happen)
        st.error("Open the dashboard through dashboard/app.py.")
        st.stop()
    return ctx


def escape_md(text: object) -> str:
    """Text that Streamlit's markdown shows literally (names may hold ``*``, ``<``, ``:``)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def code_span(text: object, limit: int = 300) -> str:
    """Text as a markdown code span, shown exactly as it is, on one line, cut at ``limit``
    characters. Inside backticks markdown's escapes do not apply (``escape_md`` would show
    its backslashes), so the span's fence is one backtick longer than any run in the text."""
    value = str(text).replace("\r", " ").replace("\n", " ")[:limit]
    fence = "`" * (max((len(run) for run in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def redact(uri: str) -> str:
    """A store URI fit to show: a PostgreSQL password is hidden."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", uri)


def filter_error(exc: Exception, what: str = "query") -> None:
    """Show a FilterError inline: the message, then the caret lines as code."""
    message = str(exc)
    head, _, rest = message.partition("\n")
    st.error(f"This {what} does not parse: {escape_md(head)}", icon="⚠️")
    if rest.strip():
        st.code(rest, language=None)


def query_help(keys: frames.Keys) -> None:
    """The popover next to the query field: examples and the keys of these runs."""
    with st.popover("Examples", icon=":material/help:", width="stretch"):
        st.markdown("**Filter examples** (MLflow's syntax and more; see `docs/query.md`)")
        st.dataframe(
            pd.DataFrame(QUERY_EXAMPLES, columns=["filter", "what it shows"]),
            hide_index=True,
            width="stretch",
        )
        st.markdown("**Keys in these runs**")
        lines = [f"attributes: {', '.join(ATTRIBUTE_NAMES)}"]
        for group in ("metrics", "params", "tags"):
            names = [frames.column_ref(c) for c in keys.columns(group)]
            if names:
                lines.append(f"{group}: " + ", ".join(names[:200]))
        st.code("\n".join(lines), language=None, wrap_lines=True)


def query_bar(keys: frames.Keys) -> str:
    """The query field (shared by the runs and compare pages) with its help."""
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    with left:
        text = st.text_input(
            "Filter runs",
            key=state.seed(FILTER.name, FILTER.read()),
            placeholder="for example: metrics.MSE < 3000 and params.l1_ratio = '1.0'",
            help="Carnet's filter language; press Enter to apply. Open Examples for more.",
        )
    with right:
        query_help(keys)
    query = (text or "").strip()
    FILTER.write(query)
    return query


def unknown_keys(query: str, keys: frames.Keys) -> list[tuple[str, list[str]]]:
    """Keys named in ``query`` that no run has, each with close matches (as written in a
    filter). ``metrics.loss.min`` names the metric ``loss``, as in the search itself."""
    try:
        named = filter_keys(query)
    except FilterError:
        return []
    out = []
    for kind, key in named:
        if kind in (Kind.ATTRIBUTE, Kind.DATASET):
            continue
        known = list(getattr(keys, kind.value))
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
        out.append((quote_key(kind.value, key), [quote_key(kind.value, c) for c in close]))
    return out


def explain_empty(query: str, keys: frames.Keys) -> None:
    """When nothing matches, say which named keys no run has (typos are the usual cause)."""
    for name, close in unknown_keys(query, keys):
        hint = f" Did you mean {', '.join(escape_md(c) for c in close)}?" if close else ""
        st.warning(f"No run in these experiments has {escape_md(name)}.{hint}")


def status_text(status: object) -> str:
    """A run status with its icon (``✓ FINISHED``), or empty text for no status."""
    text = str(status) if status is not None else ""
    return f"{STATUS_ICONS.get(text, '')} {text}".strip()


def run_link(run_id: str) -> str:
    """A link (relative, so it works behind any base path) that opens the run page."""
    return f"run?run={run_id}"


def display_frame(
    frame: pd.DataFrame, columns: list[str], best_id: str | None = None
) -> pd.DataFrame:
    """The table as shown: chosen columns, status icons, durations, a link per run."""
    out = pd.DataFrame(index=frame.index)
    if best_id is not None:
        out["best"] = frame["run_id"].map(lambda r: "★" if r == best_id else "")
    for col in columns:
        if col not in frame.columns:
            continue
        if col == "status":
            out[col] = frame[col].map(status_text)
        elif col == "duration":  # milliseconds for short runs, whole seconds for long ones
            seconds = frame[col].astype("float64")
            shown = seconds.where(seconds < 10, seconds.round(0)).round(3)
            out[col] = pd.to_timedelta(shown, unit="s")
        else:
            out[col] = frame[col]
    out["open"] = frame["run_id"].map(run_link)
    return out.reset_index(drop=True)


def column_config(columns: list[str]) -> dict[str, Any]:
    """Formats per column: numbers with 6 significant digits, relative times, links."""
    cc = st.column_config
    config: dict[str, Any] = {
        "best": cc.TextColumn("★", width=40, help="best run for the chosen metric"),
        "run_name": cc.TextColumn("run name"),
        "status": cc.TextColumn("status"),
        "start_time": cc.DatetimeColumn("started", format="distance"),
        "end_time": cc.DatetimeColumn("ended", format="YYYY-MM-DD HH:mm:ss"),
        "duration": cc.NumberColumn("duration", format="localized"),
        "open": cc.LinkColumn("run", display_text=r"run=([0-9a-f]{8})", help="open the run's page"),
    }
    for col in columns:
        if col in config:
            continue
        group = frames.group_of(col)
        if group == "metrics":
            config[col] = cc.NumberColumn(
                frames.label(col),
                format="%.6g",
                help=f"metric {escape_md(frames.key_of(col))} (last value)",
            )
        elif group == "params":
            config[col] = cc.TextColumn(
                frames.label(col), help=f"param {escape_md(frames.key_of(col))}"
            )
        elif group == "tags":
            config[col] = cc.TextColumn(
                frames.label(col), help=f"tag {escape_md(frames.key_of(col))}"
            )
        else:
            config[col] = cc.TextColumn(frames.label(col))
    return config


def welcome(uri: str, problem: str | None) -> None:
    """The page shown when there is nothing to show yet: how to log a first run."""
    st.title("Carnet")
    if problem:
        st.info("No experiments to show yet: the store could not be opened.", icon="📭")
        st.caption("What the store said")
        st.code(problem, language=None, wrap_lines=True)
    else:
        st.info("This store has no runs yet.", icon="📭")
    st.markdown("Log a first run from Python, then reload this page:")
    st.code(
        "import carnet\n"
        'carnet.set_experiment("my-first-experiment")\n'
        'with carnet.start_run(): carnet.log_metric("loss", 0.5)',
        language="python",
    )
    st.caption("The store the dashboard reads")
    st.code(redact(uri), language=None)
    st.markdown(
        "Point your script at the same store with `CARNET_TRACKING_URI` (or "
        "`carnet.set_tracking_uri(...)`); `import carnet as mlflow` runs MLflow code unchanged."
    )


def best_caption(metric: str, lower: bool) -> str:
    """The caption over the best-run card, e.g. ``best MSE (lowest)``, escaped."""
    return f"best {escape_md(metric)} ({'lowest' if lower else 'highest'})"


def fmt(value: object) -> str:
    """A cell value as the tables show it: floats to 6 significant digits, missing as a dash."""
    return frames.format_value(value)


# -- widgets whose value lives in the URL -------------------------------------------------


def select(key: str, label: str, options: list[Any], default: Any, **kwargs: Any) -> Any:
    """A selectbox remembered in the URL under ``key`` (stale values fall back to default)."""
    if not options:
        return None
    if default not in options:
        default = options[0]
    wkey = state.widget_key(key)
    if wkey in st.session_state and st.session_state[wkey] not in options:
        del st.session_state[wkey]
    stored = state.get(key, "")
    by_text = {state.text_of(o): o for o in options}
    state.seed(key, by_text.get(stored, default))
    value = st.selectbox(label, options, key=wkey, **kwargs)
    state.put(key, value, default=default)
    return value


def multiselect(
    key: str, label: str, options: list[str], default: list[str], **kwargs: Any
) -> list[str]:
    """A multiselect remembered in the URL as a comma-separated list."""
    wkey = state.widget_key(key)
    if wkey in st.session_state and not set(st.session_state[wkey]) <= set(options):
        del st.session_state[wkey]
    stored = [v for v in state.get_list(key) if v in options]
    start = stored if state.get(key) else [d for d in default if d in options]
    state.seed(key, start)
    value: list[str] = st.multiselect(label, options, key=wkey, **kwargs)
    state.put(key, value if value != [d for d in default if d in options] else [])
    return value


def toggle(key: str, label: str, default: bool = False, **kwargs: Any) -> bool:
    """A toggle remembered in the URL under ``key``; the default value leaves the URL."""
    state.seed(key, state.get_bool(key, default))
    value = bool(st.toggle(label, key=state.widget_key(key), **kwargs))
    state.put(key, value, default=default)
    return value


def slider(
    key: str, label: str, low: float, high: float, default: float, step: float, **kwargs: Any
) -> float:
    """A slider remembered in the URL under ``key``; a stored value outside
    [``low``, ``high``] is clamped, and the default value leaves the URL.
    """
    start = min(max(state.get_float(key, default), low), high)
    state.seed(key, start)
    value = float(st.slider(label, low, high, key=state.widget_key(key), step=step, **kwargs))
    state.put(key, value, default=default)
    return value
