"""Pure pandas helpers over ``search_runs`` frames: column groups, labels, types.

Kept apart from Streamlit so the table and chart logic is unit-tested directly,
and shared by the runs table, the charts and the CSV export so they agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

GROUPS = ("attributes", "metrics", "params", "tags")
PREFIX = {"metrics": "metrics.", "params": "params.", "tags": "tags."}
# Attributes a user may show in the table, in display order. "duration" is derived.
ATTRIBUTES = (
    "run_name",
    "status",
    "start_time",
    "duration",
    "end_time",
    "user_id",
    "run_id",
    "experiment_id",
    "parent_run_id",
    "artifact_uri",
)
DEFAULT_ATTRIBUTES = ("run_name", "status", "start_time", "duration")
SYSTEM_TAG_PREFIXES = ("mlflow.", "carnet.")
_ORDER = re.compile(r"^\s*(?P<col>.+?)(?:\s+(?P<dir>asc|desc))?\s*$", re.I | re.S)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOWER_IS_BETTER = re.compile(
    r"(loss|err|mse|mae|rmse|mape|perplex|cost|regret|time|latency)", re.I
)
_HIGHER_IS_BETTER = re.compile(r"(acc|auc|r2|f1|precision|recall|score|reward|iou|map|bleu)", re.I)


@dataclass(frozen=True)
class Keys:
    """The metric, param and tag keys present in a set of runs (sorted)."""

    metrics: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def columns(self, group: str) -> list[str]:
        """Frame column names of one group (``metrics.MSE`` ...)."""
        if group == "attributes":
            return list(ATTRIBUTES)
        return [PREFIX[group] + k for k in getattr(self, group)]

    def merged(self, other: Keys) -> Keys:
        return Keys(
            tuple(sorted(set(self.metrics) | set(other.metrics))),
            tuple(sorted(set(self.params) | set(other.params))),
            tuple(sorted(set(self.tags) | set(other.tags))),
        )


def keys_of(frame: pd.DataFrame) -> Keys:
    """The keys a runs frame (read without summaries) has columns for."""
    metrics, params, tags = set(), set(), set()
    for col in frame.columns:
        if col.startswith("metrics."):
            metrics.add(col[len("metrics.") :])
        elif col.startswith("params."):
            params.add(col[len("params.") :])
        elif col.startswith("tags."):
            tags.add(col[len("tags.") :])
    return Keys(tuple(sorted(metrics)), tuple(sorted(params)), tuple(sorted(tags)))


def group_of(column: str) -> str:
    for group, prefix in PREFIX.items():
        if column.startswith(prefix):
            return group
    return "attributes"


def key_of(column: str) -> str:
    """``metrics.MSE`` -> ``MSE``; attributes are their own key."""
    group = group_of(column)
    return column[len(PREFIX[group]) :] if group in PREFIX else column


def label(column: str) -> str:
    """Short human label used in tables and chart titles."""
    group = group_of(column)
    key = key_of(column)
    if group == "tags":
        return f"tag: {key}"
    if group == "attributes":
        return key.replace("_", " ")
    return key


def is_system_tag(key: str) -> bool:
    return key.startswith(SYSTEM_TAG_PREFIXES)


def default_columns(keys: Keys) -> list[str]:
    """What the table shows before a user picks: names, status, every param and metric,
    and user tags (system tags stay one click away)."""
    return (
        list(DEFAULT_ATTRIBUTES)
        + keys.columns("metrics")
        + keys.columns("params")
        + ["tags." + k for k in keys.tags if not is_system_tag(k)]
    )


def lower_is_better(metric: str) -> bool:
    """Guess the direction of a metric from its name (loss, error: lower; accuracy: higher)."""
    if _LOWER_IS_BETTER.search(metric):
        return True
    return not _HIGHER_IS_BETTER.search(metric)


def numeric(series: pd.Series) -> pd.Series | None:
    """The series as floats when every present value is a number, else None.

    Params are stored as text; a grid of alphas must still sort and plot as numbers.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    present = series.dropna()
    if present.empty:
        return None
    converted = pd.to_numeric(present.astype(str), errors="coerce")
    if converted.isna().any():
        return None
    out = pd.to_numeric(series.astype(object).where(series.notna(), None), errors="coerce")
    return out.astype("float64")


def spans_decades(values: pd.Series, decades: float = 2.0) -> bool:
    """True when positive values spread over at least ``decades`` powers of ten."""
    v = values.dropna()
    v = v[np.isfinite(v)]
    if v.empty or (v <= 0).any():
        return False
    return bool(math.log10(float(v.max()) / float(v.min())) >= decades)


def differing(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The columns whose values are not all the same in ``frame`` (missing counts as a value)."""
    out = []
    for col in columns:
        if col not in frame.columns:
            continue
        values = frame[col]
        if values.astype(str).where(values.notna(), "\0missing").nunique(dropna=False) > 1:
            out.append(col)
    return out


def with_duration(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``duration`` (seconds; running runs count up to now)."""
    if "start_time" not in frame.columns:
        return frame
    out = frame.copy()
    end = out["end_time"] if "end_time" in out.columns else pd.Series(pd.NaT, index=out.index)
    now = pd.Timestamp.now(tz="UTC")
    end = end.fillna(now) if len(out) else end
    out["duration"] = (end - out["start_time"]).dt.total_seconds()
    return out


def format_value(value: object) -> str:
    """A compact text form for axis labels and tooltips (no float noise)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def sort_categories(values: Sequence[object]) -> list[str]:
    """Distinct values as text, in numeric order when they are all numbers."""
    distinct = sorted({str(v) for v in values if v is not None and not _is_nan(v)})
    try:
        return sorted(distinct, key=float)
    except ValueError:
        return distinct


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def run_labels(frame: pd.DataFrame) -> pd.Series:
    """Run names made unique with a short id, for legends where names may repeat."""
    names = frame["run_name"].astype(object).where(frame["run_name"].notna(), "")
    ids = frame["run_id"].astype(str).str[:6]
    dup = names.duplicated(keep=False) | (names == "")
    return names.where(~dup, names + " · " + ids).astype(str)


def quote_key(key: str) -> str:
    """A key as the filter parser reads it: bare when a plain word, else back-ticked
    (so dots, spaces and dashes in it survive)."""
    if _PLAIN_KEY.match(key):
        return key
    return "`" + key.replace("`", "``") + "`"


def quote_text(text: str) -> str:
    """A filter string literal (a doubled quote stands for itself)."""
    return "'" + text.replace("'", "''") + "'"


def column_ref(column: str) -> str:
    """``metrics.val loss`` -> ``metrics.`val loss``` for filters and order_by."""
    group = group_of(column)
    if group in PREFIX:
        return PREFIX[group] + quote_key(key_of(column))
    return column


def split_clauses(text: str) -> list[str]:
    """``a ASC, b DESC`` -> two clauses (commas inside quotes or back-ticks stay)."""
    out: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "`'\"":
            quote = char
        elif char == ",":
            out.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    out.append("".join(current).strip())
    return [c for c in out if c]


def parse_order(clause: str) -> tuple[str, bool] | None:
    """``metrics.`val loss` DESC`` -> (``metrics.val loss``, False); None if unreadable."""
    match = _ORDER.match(clause)
    if match is None:
        return None
    column = match["col"].strip()
    if column.lower().startswith("attributes."):
        column = column[len("attributes.") :]
    for prefix in PREFIX.values():
        if column.lower().startswith(prefix):
            key = column[len(prefix) :]
            if len(key) >= 2 and key[0] == key[-1] and key[0] in '`"':
                key = key[1:-1].replace(key[0] * 2, key[0])
            column = prefix + key
    return column, (match["dir"] or "ASC").upper() == "ASC"


def order_clause(column: str, ascending: bool) -> str:
    return f"{column_ref(column)} {'ASC' if ascending else 'DESC'}"


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of a frame, UTF-8, ISO times (what a spreadsheet expects)."""
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ").encode("utf-8")
