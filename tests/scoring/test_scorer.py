"""The scorer without a server: tensor models, NaN on the way in and out, and the same
answers with and without orjson."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import carnet.sklearn
from carnet.pyfunc import load_model
from carnet.scoring import codec
from carnet.scoring.errors import ScoringError
from carnet.scoring.invocations import Scorer
from carnet.scoring.output import predictions_json
from tests.scoring.served import LoggedModel

JSON = "application/json"


@pytest.fixture
def tensor_scorer(tmp_path: Path) -> Scorer:
    x = np.arange(40, dtype="float64").reshape(10, 4)
    model = LinearRegression().fit(x, x.sum(axis=1))
    carnet.sklearn.save_model(model, tmp_path / "m", input_example=x[:2])
    return Scorer.of(load_model(tmp_path / "m"), 100)


def test_tensor_models_take_inputs_and_instances(tensor_scorer: Scorer) -> None:
    rows = [[1.0, 2.0, 3.0, 4.0], [0, 0, 0, 1]]
    for key in ("inputs", "instances"):
        got = json.loads(tensor_scorer.answer(json.dumps({key: rows}).encode(), JSON))
        np.testing.assert_allclose(got["predictions"], [10.0, 1.0], atol=1e-9)
    with pytest.raises(ScoringError, match=r"shape \(1, 3\).*\(-1, 4\)") as err:
        tensor_scorer.predict(json.dumps({"inputs": [[1.0, 2.0, 3.0]]}).encode(), JSON)
    assert err.value.status == 400 and err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(ScoringError, match="dtype float64") as err:
        tensor_scorer.predict(b'{"inputs": [["a", "b", "c", "d"]]}', JSON)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_nan_literals_and_nan_predictions(logged: LoggedModel) -> None:
    scorer = Scorer.of(load_model(logged.folder), 100)
    columns = list(logged.frame.columns)
    values = ", ".join(["0.1"] * 9)
    body = f'{{"dataframe_split": {{"columns": {json.dumps(columns)}, "data": [[NaN, {values}]]}}}}'
    with pytest.raises(ScoringError, match=r"evaluating the model.*NaN") as err:
        scorer.predict(body.encode(), JSON)
    assert err.value.error_code == "BAD_REQUEST"
    assert predictions_json(np.array([1.5, np.nan])) == b'{"predictions": [1.5, NaN]}'
    assert json.loads(predictions_json(np.array([1.5, 2.0]))) == {"predictions": [1.5, 2.0]}


def test_the_same_answers_without_orjson(
    logged: LoggedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = Scorer.of(load_model(logged.folder), 2000)
    rows = logged.frame.sample(50, random_state=4)
    body = json.dumps({"dataframe_records": rows.to_dict(orient="records")}).encode()
    fast = json.loads(scorer.answer(body, JSON))
    monkeypatch.setattr(codec, "orjson", None)
    plain = scorer.answer(body, JSON)
    assert plain.startswith(b'{"predictions": [')  # the standard library wrote it
    assert json.loads(plain) == fast
    with pytest.raises(ScoringError, match="valid JSON"):
        scorer.predict(b'{"inputs": [1,', JSON)


def test_a_pipeline_selecting_columns_by_name_gets_a_frame(
    logged: LoggedModel, tmp_path: Path
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = logged.frame
    pick = ColumnTransformer([("scaled", StandardScaler(), ["bmi", "bp", "s5"])])
    model = make_pipeline(pick, LinearRegression()).fit(x, x["bmi"] * 3 + x["s5"])
    carnet.sklearn.save_model(model, tmp_path / "p", input_example=x.head(3))
    scorer = Scorer.of(load_model(tmp_path / "p"), 100)
    assert scorer.numeric is not None and scorer.on_block is None
    rows = x.sample(20, random_state=9)
    body = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
    got = json.loads(scorer.answer(json.dumps(body).encode(), JSON))["predictions"]
    np.testing.assert_allclose(got, model.predict(rows), rtol=1e-12)


def test_a_meta_estimator_gets_a_frame_for_its_inner_estimator(
    logged: LoggedModel, tmp_path: Path
) -> None:
    """The demo's champion: a TransformedTargetRegressor over a pipeline fitted on names.
    Its inner scaler wants the names, so it gets a DataFrame (no warning, same answers)."""
    import warnings

    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = logged.frame
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), LinearRegression()),
        transformer=StandardScaler(),
    ).fit(x, x["bmi"] * 3 + x["s5"])
    carnet.sklearn.save_model(model, tmp_path / "t", input_example=x.head(3))
    scorer = Scorer.of(load_model(tmp_path / "t"), 100)
    assert scorer.numeric is not None and scorer.on_block is None
    rows = x.sample(20, random_state=9)
    body = {"dataframe_records": rows.to_dict(orient="records")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's "X does not have valid feature names"
        got = json.loads(scorer.answer(json.dumps(body).encode(), JSON))["predictions"]
    np.testing.assert_allclose(got, model.predict(rows), rtol=1e-12)
