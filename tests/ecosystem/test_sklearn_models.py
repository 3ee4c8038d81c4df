"""Logged models: round trips, runs:/ URIs, version warnings and refusals."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import carnet
import carnet.models
import carnet.sklearn
from carnet.errors import ModelError, NotFoundError
from carnet.models import ModelVersionWarning


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    frame = load_diabetes(as_frame=True)
    return frame.data, frame.target


@pytest.fixture
def fitted(data: tuple[pd.DataFrame, pd.Series]) -> object:
    x, y = data
    return make_pipeline(StandardScaler(), Ridge(alpha=0.3)).fit(x, y)


def model_folder(uri: str) -> Path:
    return carnet.models.resolve_model_folder(uri)


def test_round_trip_with_a_dataframe_example(
    tracking: str, data: tuple[pd.DataFrame, pd.Series], fitted: Ridge
) -> None:
    x, _ = data
    with carnet.start_run() as run:
        info = carnet.sklearn.log_model(fitted, "model", input_example=x.head(3))
    assert info.model_uri == f"models:/{info.model_id}"  # MLflow 3's URI
    assert info.run_id == run.info.run_id and info.artifact_path == "model"
    loaded = carnet.sklearn.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(x), fitted.predict(x))
    by_run = carnet.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(by_run.predict(x), fitted.predict(x))
    generic = carnet.models.load_model(info.model_uri)
    np.testing.assert_allclose(generic.predict(x), fitted.predict(x))
    example = carnet.models.load_input_example(info.model_uri)
    pd.testing.assert_frame_equal(example, x.head(3))


def test_folder_layout_and_descriptor(tracking: str, fitted: Ridge) -> None:
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "regressor", input_example=np.ones((2, 10)))
    folder = model_folder(info.model_uri)
    assert sorted(p.name for p in folder.iterdir()) == [
        "MLmodel", "conda.yaml", "input_example.json", "model.pkl", "python_env.yaml",
        "requirements.txt", "serving_input_example.json",
    ]  # fmt: skip
    descriptor = yaml.safe_load((folder / "MLmodel").read_text())
    assert descriptor["run_id"] == info.run_id
    assert descriptor["flavors"]["sklearn"]["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert descriptor["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert set(descriptor["versions"]) == {"python", "sklearn", "numpy"}
    import sklearn

    assert descriptor["versions"]["sklearn"] == sklearn.__version__
    assert descriptor["versions"]["numpy"] == np.__version__
    assert f"scikit-learn=={sklearn.__version__}" in (folder / "requirements.txt").read_text()
    example = carnet.models.load_input_example(info.model_uri)
    assert isinstance(example, np.ndarray) and example.shape == (2, 10)
    assert descriptor["model_id"] == info.model_id
    model = carnet.get_logged_model(info.model_id)
    assert (model.name, model.source_run_id, model.status) == ("regressor", info.run_id, "READY")
    assert carnet.models.get_model_info(info.model_uri)["model_uuid"] == info.model_uuid


def test_version_mismatch_warns(tracking: str, fitted: Ridge) -> None:
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "model")
    descriptor_path = model_folder(info.model_uri) / "MLmodel"
    descriptor = yaml.safe_load(descriptor_path.read_text())
    descriptor["versions"]["sklearn"] = "0.20.0"
    descriptor_path.write_text(yaml.safe_dump(descriptor))
    with pytest.warns(ModelVersionWarning, match=r"sklearn 0\.20\.0 -> ") as caught:
        carnet.sklearn.load_model(info.model_uri)
    assert issubclass(caught[0].category, UserWarning)


def test_same_versions_do_not_warn(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "model")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        carnet.sklearn.load_model(info.model_uri)


def test_log_model_with_explicit_run_id_and_local_folder(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    client = carnet.Client(uri)
    run = client.create_run(client.create_experiment("models"))
    info = carnet.sklearn.log_model(fitted, "nested/model", run_id=run.info.run_id)
    assert carnet.active_run() is None
    assert info.model_uri == f"models:/{info.model_id}"
    folder = model_folder(f"runs:/{run.info.run_id}/nested/model")
    assert folder == model_folder(info.model_uri)
    assert type(carnet.sklearn.load_model(folder)).__name__ == "Pipeline"
    assert type(carnet.models.load_model(folder.as_uri())).__name__ == "Pipeline"


def test_a_changed_model_file_is_refused(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "model")
    pkl = model_folder(info.model_uri) / "model.pkl"
    pkl.write_bytes(pkl.read_bytes() + b"\x00")
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        carnet.sklearn.load_model(info.model_uri)


def test_refusals_say_what_to_do(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    with carnet.start_run() as run:
        first = carnet.sklearn.log_model(fitted, "model")
        second = carnet.sklearn.log_model(fitted, "model")  # MLflow 3: a second model
        with pytest.raises(ModelError, match="takes a scikit-learn estimator"):
            carnet.sklearn.log_model(object(), "other")
        with pytest.raises(ModelError, match="cannot be pickled"):
            bad = Ridge()
            bad.hook = lambda: None  # type: ignore[attr-defined]
            carnet.sklearn.log_model(bad, "bad")
        with pytest.raises(ModelError, match="cannot be stored as JSON"):
            carnet.sklearn.log_model(fitted, "ex", input_example={1, 2})
    rid = run.info.run_id
    assert first.model_id != second.model_id
    assert model_folder(f"runs:/{rid}/model") == model_folder(second.model_uri)  # the newest
    failed = carnet.search_logged_models(filter_string="status = 'FAILED'", output_format="list")
    assert [m.name for m in failed] == ["ex", "bad"]  # recorded, marked FAILED, no files
    with pytest.raises(ModelError, match="no logged model"):
        carnet.sklearn.load_model(f"runs:/{rid}/nothing")
    with pytest.raises(ModelError, match="must look like 'runs:/<run_id>/<model name>'"):
        carnet.sklearn.load_model(f"runs:/{rid}")
    with pytest.raises(ModelError, match="registered model 'diabetes' not found"):
        carnet.models.load_model("models:/diabetes/1")
    with pytest.raises(NotFoundError):
        carnet.sklearn.load_model("runs:/ffffffffffffffffffffffffffffffff/model")


def test_unknown_flavour_is_refused(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "model")
    path = model_folder(info.model_uri) / "MLmodel"
    descriptor = yaml.safe_load(path.read_text())
    descriptor["flavors"] = {"pytorch": {}}
    path.write_text(json.dumps(descriptor))
    with pytest.raises(ModelError, match="none of which Carnet can load"):
        carnet.models.load_model(info.model_uri)
    with pytest.raises(ModelError, match="not a scikit-learn model"):
        carnet.sklearn.load_model(info.model_uri)


def test_a_newer_model_format_is_refused(uri: str, fitted: Ridge) -> None:
    carnet.set_tracking_uri(uri)
    with carnet.start_run():
        info = carnet.sklearn.log_model(fitted, "model")
    path = model_folder(info.model_uri) / "MLmodel"
    descriptor = yaml.safe_load(path.read_text())
    descriptor["format_version"] = 99
    path.write_text(json.dumps(descriptor))
    with pytest.raises(ModelError, match="upgrade Carnet"):
        carnet.models.load_model(info.model_uri)


def test_load_model_copies_to_dst_path_as_mlflow_does(tmp_path: Path) -> None:
    """MLflow's loaders take ``dst_path``: the model's folder is copied there and loaded."""
    import carnet.pyfunc

    x = np.array([[0.0], [1.0], [2.0]])
    model = Ridge(alpha=1e-9).fit(x, 2 * x[:, 0])
    carnet.set_tracking_uri(f"sqlite:///{tmp_path / 'c.db'}")
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, name="m")
    loaded = carnet.sklearn.load_model(info.model_uri, dst_path=tmp_path / "copy")
    assert loaded.predict([[3.0]])[0] == pytest.approx(6.0)
    copies = list((tmp_path / "copy").iterdir())
    assert len(copies) == 1 and (copies[0] / "MLmodel").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        scorer = carnet.pyfunc.load_model(info.model_uri, suppress_warnings=True)
    assert scorer.predict(np.array([[1.0]]))[0] == pytest.approx(2.0)


def test_pyfunc_predict_fn_and_extra_requirements(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import carnet.pyfunc

    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    carnet.set_tracking_uri(f"sqlite:///{tmp_path / 'c.db'}")
    with carnet.start_run():
        info = carnet.sklearn.log_model(
            model,
            name="m",
            pyfunc_predict_fn="predict_proba",
            extra_pip_requirements=["xgboost>=2"],
            await_registration_for=0,
        )
        with pytest.raises(ModelError, match="pyfunc_predict_fn 'transform'"):
            carnet.sklearn.log_model(model, name="n", pyfunc_predict_fn="transform")
        with pytest.raises(ModelError, match="extra_pip_requirements"):
            carnet.sklearn.log_model(model, name="n", extra_pip_requirements=["a\nb"])
    scores = carnet.pyfunc.load_model(info.model_uri).predict(np.array([[3.0]]))
    np.testing.assert_allclose(scores, model.predict_proba([[3.0]]))
    folder = carnet.models.local_model_folder(info.model_uri)
    requirements = (folder / "requirements.txt").read_text().split()
    assert requirements[-1] == "xgboost>=2" and any(
        r.startswith("scikit-learn==") for r in requirements
    )
