"""Pure pandas helpers over ``search_runs`` frames: column groups, labels, types.

Kept apart from Streamlit so the table and chart logic is unit-tested directly,
and shared by the runs table, the charts and the CSV export so they agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carnet import query
from carnet.entities import RunInputs
from carnet.errors import FilterError
from carnet.sysinfo import FORMER_TAG_NAMES

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
#: The compare page's derived column naming the datasets each run used (``log_input``).
DATASET_COLUMN = "dataset"
_TRAINING = "training"
SYSTEM_TAG_PREFIXES = ("mlflow.", "carnet.")
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
        """The keys of both sets, each group sorted."""
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
    """Which group a frame column belongs to (``metrics.MSE`` -> ``metrics``)."""
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


def system_tag(tags: Mapping[str, str], key: str) -> str:
    """A start tag such as ``mlflow.system.host``, read under its former ``carnet.*``
    name too (a run imported from an older export); empty text when neither is set."""
    return tags.get(key) or tags.get(FORMER_TAG_NAMES.get(key, ""), "")


def is_system_tag(key: str) -> bool:
    """Tags the tracker writes itself (``mlflow.*``, ``carnet.*``), hidden by default."""
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


def quote_text(text: str) -> str:
    """A filter string literal (a doubled quote stands for itself)."""
    return query.quote_string(text)


def column_ref(column: str) -> str:
    """``metrics.val loss`` -> ``metrics.`val loss``` for filters and order_by."""
    group = group_of(column)
    if group in PREFIX:
        return query.quote_key(group, key_of(column))
    return column


def split_clauses(text: str) -> list[str]:
    """``a ASC, b DESC`` -> two clauses (commas inside quotes or back-ticks stay).

    Text the language cannot split stays one clause, so the search reports what is
    wrong with it where search errors are shown.
    """
    try:
        return query.split_order_by(text)
    except FilterError:
        return [text.strip()] if text.strip() else []


def parse_order(clause: str) -> tuple[str, bool] | None:
    """``metrics.`val loss` DESC`` -> (``metrics.val loss``, False): the column a clause
    sorts by and whether ascending; None when it is unreadable or sorts by something no
    column holds (a metric's min, max or count)."""
    try:
        (key,) = query.parse_order_by([clause])
    except FilterError:
        return None
    field = key.field
    if field.kind is query.Kind.ATTRIBUTE:
        return field.key, not key.descending
    if field.aggregate not in (None, query.Aggregate.LAST):
        return None
    return PREFIX[field.kind.value] + field.key, not key.descending


def order_clause(column: str, ascending: bool) -> str:
    """The ``order_by`` clause that sorts by a table column."""
    return query.format_order_clause(column_ref(column), ascending)


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of a frame, UTF-8, ISO times (what a spreadsheet expects)."""
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ").encode("utf-8")


def dataset_label(inputs: RunInputs) -> str | None:
    """The datasets a run used, as one category: ``name (digest)``, training inputs only
    when there are some (the data a model learnt from is what runs are grouped by)."""
    items = inputs.dataset_inputs
    training = [i for i in items if dict(i.tags).get("mlflow.data.context") == _TRAINING]
    chosen = training or items
    if not chosen:
        return None
    names = dict.fromkeys(f"{i.dataset.name} ({i.dataset.digest[:8]})" for i in chosen)
    return " + ".join(names)


def with_datasets(frame: pd.DataFrame, inputs: Mapping[str, RunInputs]) -> pd.DataFrame:
    """The frame with a ``dataset`` column when some of its runs logged inputs."""
    if not inputs:
        return frame
    labels = {run_id: dataset_label(item) for run_id, item in inputs.items()}
    out = frame.copy()
    out[DATASET_COLUMN] = frame["run_id"].map(labels).astype(object)
    return out
