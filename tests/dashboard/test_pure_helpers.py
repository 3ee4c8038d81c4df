"""Downsampling, frame helpers, parameter importance and URL parsing: no Streamlit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import analysis, data, frames, series, state
from dashboard.ui import code_span, escape_md, unknown_keys
from tests.dashboard.store_data import StoreInfo

# -- series -----------------------------------------------------------------------------


def test_short_series_are_untouched() -> None:
    values = np.arange(10, dtype=float)
    assert series.minmax_indices(values, 100).tolist() == list(range(10))


def test_minmax_keeps_extremes_first_and_last() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=100_003)
    values[77_777] = 99.0
    values[5] = -99.0
    keep = series.minmax_indices(values, 1000)
    assert len(keep) <= 1002
    assert {0, 5, 77_777, 100_002} <= set(keep.tolist())
    assert (np.diff(keep) > 0).all()


def test_minmax_never_picks_nan_or_inf() -> None:
    values = np.linspace(0, 1, 10_000)
    values[::7] = np.nan
    values[3] = np.inf
    keep = series.minmax_indices(values, 200)
    inner = keep[(keep != 0) & (keep != len(values) - 1)]
    assert np.isfinite(values[inner]).all()


def test_ema_zero_is_identity_and_debiased_start() -> None:
    values = np.array([10.0, 0.0, 0.0, 0.0])
    assert series.ema(values, 0.0) is values
    smooth = series.ema(values, 0.5)
    assert smooth[0] == 10.0  # debiased: the first point is not pulled to zero
    assert smooth[1] == pytest.approx(10 / 3)


def test_prepare_curve_drops_non_finite_and_has_every_axis() -> None:
    steps = np.arange(5)
    stamps = 1_700_000_000_000 + steps * 2000
    curve = series.prepare_curve(steps, stamps, np.array([1.0, np.nan, 3.0, np.inf, 5.0]))
    assert curve["step"].tolist() == [0, 2, 4]
    assert curve["relative"].tolist() == [0.0, 4.0, 8.0]
    assert str(curve["time"].dt.tz) == "UTC"


# -- frames -----------------------------------------------------------------------------


def test_numeric_params_and_text_params() -> None:
    assert frames.numeric(pd.Series(["0.1", "1e-3", None])).tolist()[:2] == [0.1, 0.001]
    assert frames.numeric(pd.Series(["lbfgs", "1"])) is None
    assert frames.numeric(pd.Series([None, None])) is None
    assert frames.numeric(pd.Series([True, False])) is None


def test_differing_columns_count_missing_as_a_value() -> None:
    frame = pd.DataFrame({"a": ["1", "1"], "b": ["1", None], "c": [1.0, 2.0]})
    assert frames.differing(frame, ["a", "b", "c", "zz"]) == ["b", "c"]


def test_order_clauses_round_trip() -> None:
    assert frames.parse_order("metrics.`val loss` DESC") == ("metrics.val loss", False)
    assert frames.parse_order("attributes.start_time") == ("start_time", True)
    assert frames.order_clause("metrics.val loss", True) == "metrics.`val loss` ASC"
    assert frames.order_clause("metrics.MSE", False) == "metrics.MSE DESC"
    assert frames.split_clauses("metrics.`a,b` ASC, start_time DESC") == [
        "metrics.`a,b` ASC",
        "start_time DESC",
    ]
    assert frames.quote_text("it's") == "'it''s'"
    assert frames.column_ref("tags.mlflow.user") == "tags.`mlflow.user`"


def test_metric_direction_guess() -> None:
    assert frames.lower_is_better("val_loss") and frames.lower_is_better("MSE")
    assert not frames.lower_is_better("accuracy") and not frames.lower_is_better("r2")


def test_keys_and_default_columns() -> None:
    frame = pd.DataFrame(
        columns=["run_id", "metrics.MSE", "params.alpha", "tags.team", "tags.mlflow.user"]
    )
    keys = frames.keys_of(frame)
    assert keys == frames.Keys(("MSE",), ("alpha",), ("mlflow.user", "team"))
    columns = frames.default_columns(keys)
    assert "tags.team" in columns and "tags.mlflow.user" not in columns
    assert frames.label("tags.team") == "tag: team"


def test_run_labels_disambiguate_repeated_names() -> None:
    frame = pd.DataFrame(
        {"run_id": ["aaaaaa11", "bbbbbb22", "cccccc33"], "run_name": ["x", "x", "y"]}
    )
    assert frames.run_labels(frame).tolist() == ["x · aaaaaa", "x · bbbbbb", "y"]


# -- ui text helpers --------------------------------------------------------------------


def test_escape_md_neutralises_markup() -> None:
    assert escape_md("<script>") == "\\<script\\>"
    assert escape_md("**x** :red[y]") == "\\*\\*x\\*\\* \\:red\\[y\\]"


def test_code_span_shows_any_text_as_it_is() -> None:
    # No markdown escapes inside backticks: they would be shown as backslashes.
    assert code_span("python -m pytest -q tests/x_y.py --basetemp=/tmp") == (
        "`python -m pytest -q tests/x_y.py --basetemp=/tmp`"
    )
    assert code_span("echo `date` ``x``") == "``` echo `date` ``x`` ```"
    assert code_span("`edge`") == "`` `edge` ``"
    assert code_span("a\nb\r\nc") == "`a b  c`"
    assert code_span("x" * 500) == "`" + "x" * 300 + "`"


def test_unknown_keys_suggestions() -> None:
    keys = frames.Keys(("MSE", "loss"), ("alpha",), ())
    found = unknown_keys("metrics.MES < 1 and params.alpha > 0 and metrics.loss.min < 2", keys)
    assert found == [("metrics.MES", ["metrics.MSE"])]
    assert unknown_keys("metrics.`loss` < 1", keys) == []


def test_unknown_keys_read_the_filter_as_the_search_does() -> None:
    keys = frames.Keys(("MSE", "loss"), ("alpha",), ("team",))
    # A back-ticked name is a metric of that name, never an aggregate of another.
    assert unknown_keys("metrics.`loss.min` < 1", keys) == [
        ("metrics.`loss.min`", ["metrics.loss"])
    ]
    assert unknown_keys("metric.MES < 1 or tag.teem = 'a'", keys) == [
        ("metrics.MES", ["metrics.MSE"]),
        ("tags.teem", ["tags.team"]),
    ]
    assert unknown_keys("metrics.MSE <", keys) == []  # a bad filter is reported elsewhere


def test_keys_with_quotes_and_back_ticks_sort_and_filter_as_themselves() -> None:
    from carnet.query import parse_filter, parse_order_by

    for column in ("metrics.a`b", 'params.x "y" `z`', "tags.it's, here"):
        clause = frames.order_clause(column, False)
        assert frames.split_clauses(clause + ", start_time") == [clause, "start_time"]
        assert frames.parse_order(clause) == (column, False)
        (key,) = parse_order_by([clause])
        assert key.field.key == frames.key_of(column)
        assert parse_filter(f"{frames.column_ref(column)} IS NULL") is not None


def test_a_sort_by_a_metric_aggregate_is_not_mistaken_for_a_column() -> None:
    assert frames.parse_order("metrics.loss.min DESC") is None
    assert frames.parse_order("metrics.loss.last DESC") == ("metrics.loss", False)
    assert frames.parse_order("metrics.`loss.min` DESC") == ("metrics.loss.min", False)
    assert frames.parse_order("tags.mlflow.runName") == ("run_name", True)
    assert frames.parse_order("metrics.MSE UP") is None
    assert frames.split_clauses("metrics.MSE UP") == ["metrics.MSE UP"]  # the search says why


# -- state ------------------------------------------------------------------------------


def test_repeated_url_params_join_only_for_list_keys() -> None:
    listed = state.UrlKey[tuple[str, ...]]("experiments", (), state.words, many=True)
    single = state.UrlKey("filter", "", str)
    assert listed.text_of(["1", "2"]) == "1,2" and single.text_of(["a", "b"]) == "b"
    assert listed.text_of([]) == single.text_of([]) == ""
    assert state.words(" a, ,b ,") == ("a", "b")
    assert state.flag("On") and state.flag("1") and not state.flag("0") and not state.flag("")
    assert state.text_of(True) == "1" and state.text_of(["a", "b"]) == "a,b"


# -- analysis ---------------------------------------------------------------------------


def test_importance_finds_the_param_that_matters() -> None:
    rng = np.random.default_rng(0)
    n = 200
    alpha = rng.uniform(0, 1, n)
    noise = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "params.alpha": alpha.astype(str),
            "params.noise": noise.astype(str),
            "params.solver": rng.choice(["a", "b"], n),
            "params.const": ["1"] * n,
            "metrics.MSE": 10 * alpha + rng.normal(0, 0.1, n),
        }
    )
    table = analysis.param_importance(
        frame, ["params.alpha", "params.noise", "params.solver", "params.const"], "metrics.MSE"
    )
    assert table["param"].iloc[0] == "alpha"
    assert "const" not in table["param"].tolist()  # does not vary
    assert table.set_index("param").loc["alpha", "correlation"] > 0.9
    assert table["forest"].sum() == pytest.approx(1.0)


def test_importance_needs_enough_runs() -> None:
    frame = pd.DataFrame({"params.a": ["1", "2"], "metrics.m": [1.0, 2.0]})
    assert analysis.param_importance(frame, ["params.a"], "metrics.m").empty


# -- data (through the SDK, outside Streamlit) ---------------------------------------------


def test_csv_export_has_every_matching_run(store: StoreInfo) -> None:
    csv = data.export_csv(
        store.uri,
        [store.experiment_id],
        "params.l1_ratio = '1.0'",
        ["metrics.MSE ASC"],
        ["run_name", "metrics.MSE", "params.alpha"],
    )
    lines = csv.decode().splitlines()
    assert lines[0] == "run_id,run_name,metrics.MSE,params.alpha"
    assert len(lines) == 1 + 4
    assert lines[1].endswith(",a0.01-l1.0,3000.0,0.01")
