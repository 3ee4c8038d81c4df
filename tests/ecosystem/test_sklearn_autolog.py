"""carnet.sklearn.autolog on real estimators, searches and failure paths."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import carnet
import carnet.sklearn
from carnet.entities import Run

REGRESSION_METRICS = {
    "training_score",
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
}
CLASSIFICATION_METRICS = {
    "training_score",
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
}


@pytest.fixture(autouse=True)
def _autolog(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Autolog into a SQLite store; tests that take ``tracking`` also run on PostgreSQL."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    carnet.set_tracking_uri(uri)
    carnet.sklearn.autolog()
    yield
    carnet.sklearn.autolog(disable=True)


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_diabetes(return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(x), y


def all_runs() -> list[Run]:
    runs = carnet.search_runs(search_all_experiments=True, output_format="list")
    assert isinstance(runs, list)
    return runs


def last_run() -> Run:
    run = carnet.last_active_run()
    assert run is not None
    return run


def test_linear_regression_logs_params_metrics_tags_and_model(
    tracking: str, diabetes: tuple
) -> None:
    x, y = diabetes
    model = LinearRegression()
    assert model.fit(x, y) is model
    run = last_run()
    assert carnet.active_run() is None, "autolog must end the run it started"
    assert run.info.status == "FINISHED"
    assert run.data.params["fit_intercept"] == "True"
    assert set(run.data.params) == set(model.get_params(deep=True))
    assert set(run.data.metrics) >= REGRESSION_METRICS
    mse = float(np.mean((model.predict(x) - y) ** 2))
    assert run.data.metrics["training_mean_squared_error"] == pytest.approx(mse)
    assert run.data.metrics["training_root_mean_squared_error"] == pytest.approx(mse**0.5)
    assert run.data.tags["estimator_name"] == "LinearRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._base.LinearRegression"
    loaded = carnet.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))


def test_logistic_regression_logs_classification_metrics(iris: tuple) -> None:
    x, y = iris
    LogisticRegression(max_iter=1000).fit(x, y)
    run = last_run()
    assert set(run.data.metrics) >= CLASSIFICATION_METRICS
    assert 0.9 < run.data.metrics["training_accuracy_score"] <= 1.0
    assert run.data.params["C"] == "1.0"


def test_binary_classifier_logs_roc_auc(iris: tuple) -> None:
    x, y = iris
    LogisticRegression().fit(x[y < 2], y[y < 2])
    assert last_run().data.metrics["training_roc_auc"] == pytest.approx(1.0)


def test_pipeline_is_logged_once_with_step_params(iris: tuple) -> None:
    x, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5))])
    pipe.fit(x, y)
    runs = all_runs()
    assert len(runs) == 1, "the steps' own fit calls must not log runs of their own"
    params = runs[0].data.params
    assert params["clf__C"] == "0.5"
    assert params["scale__with_mean"] == "True"
    assert params["clf"].startswith("LogisticRegression(")
    assert runs[0].data.tags["estimator_name"] == "Pipeline"
    assert set(runs[0].data.metrics) >= CLASSIFICATION_METRICS


def test_grid_search_logs_one_child_per_candidate(tracking: str, iris: tuple) -> None:
    x, y = iris
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    search = GridSearchCV(LogisticRegression(), grid, cv=3, return_train_score=True)
    search.fit(x, y)
    parent = last_run()
    runs = all_runs()
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 5 and len(children) == 4
    by_c = {r.data.params["C"]: r for r in children}
    assert set(by_c) == {"0.01", "0.1", "1.0", "10.0"}
    for i, c in enumerate(grid["C"]):
        child = by_c[str(c)]
        metrics = child.data.metrics
        assert metrics["mean_test_score"] == pytest.approx(search.cv_results_["mean_test_score"][i])
        assert metrics["std_test_score"] == pytest.approx(search.cv_results_["std_test_score"][i])
        assert "mean_train_score" in metrics and "mean_fit_time" in metrics
        assert child.info.status == "FINISHED"
    best = by_c[str(search.best_params_["C"])]
    assert best.data.tags["mlflow.carnet.autolog.best_candidate"] == "true"
    assert sum("mlflow.carnet.autolog.best_candidate" in r.data.tags for r in children) == 1
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert set(parent.data.metrics) >= CLASSIFICATION_METRICS
    names = {f.path for f in carnet.Client().list_artifacts(parent.info.run_id)}
    assert {"model", "best_estimator", "cv_results.csv"} <= names
    best_model = carnet.sklearn.load_model(f"runs:/{parent.info.run_id}/best_estimator")
    assert best_model.get_params()["C"] == search.best_params_["C"]


def test_randomized_search_keeps_the_best_max_tuning_runs(diabetes: tuple) -> None:
    carnet.sklearn.autolog(max_tuning_runs=2, log_models=False)
    x, y = diabetes
    search = RandomizedSearchCV(
        Ridge(), {"alpha": [0.001, 0.01, 0.1, 1.0, 10.0]}, n_iter=5, cv=3, random_state=0
    )
    search.fit(x, y)
    parent = last_run()
    children = [r for r in all_runs() if r.info.run_id != parent.info.run_id]
    assert len(children) == 2
    ranks = sorted(int(r.data.metrics["rank_test_score"]) for r in children)
    assert ranks == [1, 2]
    assert parent.data.tags["mlflow.carnet.autolog.candidates"] == "5"
    assert carnet.Client().list_artifacts(parent.info.run_id, "model") == []


def test_fit_inside_an_active_run_logs_there_and_second_fit_nests(
    tracking: str, diabetes: tuple
) -> None:
    x, y = diabetes
    with carnet.start_run(run_name="outer") as outer:
        LinearRegression().fit(x, y)
        Ridge(alpha=0.5).fit(x, y)
        assert carnet.active_run() is not None
        assert carnet.active_run().info.run_id == outer.info.run_id  # type: ignore[union-attr]
    runs = {r.info.run_name: r for r in all_runs()}
    assert runs["outer"].data.tags["estimator_name"] == "LinearRegression"
    assert runs["outer"].info.status == "FINISHED"
    (child,) = [r for r in runs.values() if r.info.run_name != "outer"]
    assert child.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert child.data.params["alpha"] == "0.5"


def test_fit_raises_exactly_as_without_autolog_and_the_run_fails() -> None:
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers"):
        LinearRegression().fit([[1.0], [2.0]], [1.0])
    (run,) = all_runs()
    assert run.info.status == "FAILED"
    assert carnet.active_run() is None


def test_tracking_failure_is_a_warning_and_fit_still_returns(
    diabetes: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(carnet.sklearn, "log_model", broken)
    x, y = diabetes
    model = LinearRegression()
    with pytest.warns(carnet.sklearn.AutologWarning, match="log the model.*disk full"):
        assert model.fit(x, y) is model
    run = last_run()
    assert run.info.status == "FINISHED"
    assert "training_r2_score" in run.data.metrics


def test_silent_suppresses_the_warning(diabetes: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    carnet.sklearn.autolog(silent=True)
    monkeypatch.setattr(carnet.sklearn, "log_model", lambda *a, **k: 1 / 0)
    x, y = diabetes
    LinearRegression().fit(x, y)  # filterwarnings=error: any warning would fail here
    assert last_run().info.status == "FINISHED"


def test_a_store_that_cannot_start_a_run_does_not_break_fit(
    diabetes: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise carnet.CarnetError("store is read-only")

    monkeypatch.setattr(carnet, "start_run", refuse)
    x, y = diabetes
    with pytest.warns(carnet.sklearn.AutologWarning, match="start a run"):
        model = LinearRegression().fit(x, y)
    assert model.coef_.shape == (10,)


def test_input_example_is_logged_when_asked(diabetes: tuple) -> None:
    carnet.sklearn.autolog(log_input_examples=True)
    x, y = diabetes
    LinearRegression().fit(x, y)
    from carnet.models import load_input_example

    example = load_input_example(f"runs:/{last_run().info.run_id}/model")
    np.testing.assert_allclose(example, x[:5])


def test_disable_restores_the_original_methods(diabetes: tuple) -> None:
    assert getattr(LinearRegression.fit, "__carnet_autolog__", False)
    carnet.sklearn.autolog(disable=True)
    assert not hasattr(LinearRegression.fit, "__carnet_autolog__")
    assert not hasattr(GridSearchCV.fit, "__carnet_autolog__")
    x, y = diabetes
    LinearRegression().fit(x, y)
    assert all_runs() == []


def test_autolog_twice_patches_once(diabetes: tuple) -> None:
    carnet.sklearn.autolog()
    x, y = diabetes
    LinearRegression().fit(x, y)
    assert len(all_runs()) == 1


def test_importing_carnet_sklearn_does_not_import_sklearn() -> None:
    code = "import sys, carnet.sklearn; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_search_without_refit_and_with_several_scorers(iris: tuple) -> None:
    x, y = iris
    search = GridSearchCV(
        LogisticRegression(),
        {"C": [0.01, 1.0]},
        cv=3,
        scoring={"acc": "accuracy", "f1": "f1_macro"},
        refit=False,
    )
    search.fit(x, y)
    parent = last_run()
    children = [r for r in all_runs() if r.info.run_id != parent.info.run_id]
    assert len(children) == 2
    for child in children:
        assert {"mean_test_acc", "std_test_acc", "mean_test_f1", "rank_test_f1"} <= set(
            child.data.metrics
        )
    assert "best_cv_score" not in parent.data.metrics
    assert not any(k.startswith("training_") for k in parent.data.metrics)
    names = {f.path for f in carnet.Client().list_artifacts(parent.info.run_id)}
    assert "best_estimator" not in names and "model" in names


def test_ridge_cv_is_not_mistaken_for_a_search(diabetes: tuple) -> None:
    from sklearn.linear_model import RidgeCV

    x, y = diabetes
    RidgeCV(alphas=[0.1, 1.0], store_cv_results=True).fit(x, y)
    (run,) = all_runs()
    assert run.data.tags["estimator_name"] == "RidgeCV"
    assert "training_r2_score" in run.data.metrics


# -- only the user's own fits are runs (checked against MLflow's autolog) ------------------


def test_mlflow_random_forest_example_with_classification_report_is_one_run(
    tracking: str, iris: tuple
) -> None:
    """MLflow's documented example: the LabelEncoder fits inside sklearn.metrics add no run."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import classification_report, confusion_matrix
    from sklearn.model_selection import train_test_split

    x, y = iris
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    with carnet.start_run() as run:
        forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x_train, y_train)
        predicted = forest.predict(x_test)
        assert "precision" in classification_report(y_test, predicted)
        confusion_matrix(y_test, predicted)
    (only,) = all_runs()
    assert only.info.run_id == run.info.run_id
    assert only.data.tags["estimator_name"] == "RandomForestClassifier"
    assert [f.path for f in carnet.Client().list_artifacts(run.info.run_id)] == ["model"]


def test_metric_functions_after_a_fit_without_a_run_add_none(iris: tuple) -> None:
    from sklearn.metrics import classification_report, confusion_matrix, f1_score

    x, y = iris
    model = LogisticRegression(max_iter=1000).fit(x, y)
    classification_report(y, model.predict(x), output_dict=True)
    confusion_matrix(y, model.predict(x))
    f1_score(y, model.predict(x), average="macro")
    (run,) = all_runs()
    assert run.data.tags["estimator_name"] == "LogisticRegression"


def test_data_manipulating_estimators_make_no_run(iris: tuple) -> None:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder

    x, y = iris
    StandardScaler().fit(x)
    StandardScaler().fit_transform(x)
    LabelEncoder().fit(y)
    OneHotEncoder().fit(y.reshape(-1, 1))
    SimpleImputer().fit(x)
    assert all_runs() == []


def test_a_model_fitted_inside_a_feature_selector_is_not_a_run(iris: tuple) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import SelectFromModel

    x, y = iris
    SelectFromModel(RandomForestClassifier(n_estimators=3, random_state=0)).fit(x, y)
    assert all_runs() == []


def test_make_pipeline_fit_is_one_run(iris: tuple) -> None:
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    x, y = iris
    x_train, _, y_train, _ = train_test_split(x, y, random_state=0)
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    (run,) = all_runs()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["logisticregression__max_iter"] == "1000"


def test_cross_val_score_logs_each_fold_as_mlflow_does(iris: tuple) -> None:
    """MLflow's autolog makes a run per fold here (cross_val_score fits clones of the
    user's estimator); Carnet matches it rather than hiding the folds."""
    from sklearn.model_selection import cross_val_score

    x, y = iris
    scores = cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=3)
    assert len(scores) == 3
    runs = all_runs()
    assert len(runs) == 3
    assert {r.data.tags["estimator_name"] for r in runs} == {"LogisticRegression"}


def test_search_candidates_record_every_param_of_the_estimator(iris: tuple) -> None:
    """As MLflow's autolog: each candidate run holds the searched estimator's full params,
    with the candidate's values over them, and its estimator name and class."""
    x, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"clf__C": [0.1, 10.0]}, cv=3)
    search.fit(x, y)
    children = [r for r in all_runs() if "mlflow.parentRunId" in r.data.tags]
    assert sorted(r.data.params["clf__C"] for r in children) == ["0.1", "10.0"]
    for child in children:
        assert child.data.params["clf__max_iter"] == "500"
        assert child.data.params["scale__with_mean"] == "True"
        assert set(child.data.params) == set(pipe.get_params(deep=True))
        assert child.data.tags["estimator_name"] == "Pipeline"
        assert child.data.tags["estimator_class"] == "sklearn.pipeline.Pipeline"
