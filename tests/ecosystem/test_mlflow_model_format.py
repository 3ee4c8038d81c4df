"""MLflow's model format: MLflow loads Carnet's models, Carnet loads MLflow's, and
pyfunc enforces the signature."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression

import carnet
import carnet.models
import carnet.pyfunc
import carnet.sklearn
from carnet.errors import ModelError, SchemaError
from carnet.models import ColSpec, ModelSignature, Schema, infer_signature

MLFLOW_PYTHON = os.environ.get("CARNET_MLFLOW_PYTHON")
needs_mlflow = pytest.mark.skipif(not MLFLOW_PYTHON, reason="CARNET_MLFLOW_PYTHON is not set")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [30.0, 41.0, 52.0, 23.0], "visits": [1, 4, 2, 7]})


@pytest.fixture
def model(frame: pd.DataFrame) -> LinearRegression:
    return LinearRegression().fit(frame, [1.0, 2.0, 3.0, 4.0])


def run_mlflow(code: str, cwd: Path) -> str:
    assert MLFLOW_PYTHON
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    done = subprocess.run(
        [MLFLOW_PYTHON, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_signature_json_is_mlflows(frame: pd.DataFrame, model: LinearRegression) -> None:
    signature = infer_signature(frame, model.predict(frame))
    assert json.loads(signature.to_dict()["inputs"] or "") == [
        {"type": "double", "name": "age", "required": True},
        {"type": "long", "name": "visits", "required": True},
    ]
    assert json.loads(signature.to_dict()["outputs"] or "") == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}
    ]
    assert ModelSignature.from_dict(signature.to_dict()) == signature


def test_pyfunc_enforces_the_signature(
    tracking: str, frame: pd.DataFrame, model: LinearRegression
) -> None:
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, name="model", input_example=frame.head(2))
    assert info.signature is not None and info.signature.inputs is not None
    loaded = carnet.pyfunc.load_model(info.model_uri)
    expected = model.predict(frame)
    np.testing.assert_allclose(loaded.predict(frame), expected)
    as_ints = frame.assign(age=frame["age"].astype("int64"))  # int -> double is safe
    np.testing.assert_allclose(loaded.predict(as_ints), expected)
    np.testing.assert_allclose(loaded.predict(frame.astype(object).to_numpy().tolist()), expected)
    np.testing.assert_allclose(loaded.predict({"age": 30.0, "visits": 1}), expected[:1])
    with pytest.raises(SchemaError, match=r"lacks required column\(s\): visits \(long\)") as err:
        loaded.predict(frame[["age"]])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(SchemaError, match=r"\['extra'\] that the model does not take"):
        loaded.predict(frame.assign(extra=1))
    with pytest.raises(SchemaError, match="column 'visits' should be 'long' but has dtype float"):
        loaded.predict(frame.assign(visits=frame["visits"] + 0.5))
    with pytest.raises(SchemaError, match="column 'age' should be 'double' but has dtype "):
        loaded.predict(frame.assign(age=["a", "b", "c", "d"]))


def test_explicit_signature_and_tensor_schema(tracking: str, model: LinearRegression) -> None:
    signature = ModelSignature(Schema([ColSpec("double", "age"), ColSpec("long", "visits")]))
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, "m", signature=signature)
    assert carnet.pyfunc.load_model(info.model_uri).signature == signature
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    plain = LinearRegression().fit(array, [1.0, 2.0])
    with carnet.start_run():
        info = carnet.sklearn.log_model(plain, artifact_path="t", input_example=array)
    loaded = carnet.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(array.astype("float32")), plain.predict(array))
    with pytest.raises(SchemaError, match=r"shape \(2, 3\) but the model takes shape \(-1, 2\)"):
        loaded.predict(np.ones((2, 3)))


@needs_mlflow
@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_mlflow_loads_a_carnet_model(
    tracking: str, tmp_path: Path, frame: pd.DataFrame, model: LinearRegression, fmt: str
) -> None:
    with carnet.start_run():
        info = carnet.sklearn.log_model(
            model, name="model", input_example=frame.head(2), serialization_format=fmt
        )
    folder = carnet.models.resolve_model_folder(info.model_uri)
    frame.to_csv(tmp_path / "x.csv", index=False)
    out = run_mlflow(
        f"""
import json, mlflow.pyfunc, mlflow.sklearn, pandas as pd
x = pd.read_csv("x.csv")
py = mlflow.pyfunc.load_model({str(folder)!r})
sk = mlflow.sklearn.load_model({str(folder)!r})
print(json.dumps({{"pyfunc": py.predict(x).tolist(), "sklearn": sk.predict(x).tolist(),
    "inputs": py.metadata.get_input_schema().input_names()}}))
""",
        tmp_path,
    )
    result = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(result["pyfunc"], model.predict(frame))
    np.testing.assert_allclose(result["sklearn"], model.predict(frame))
    assert result["inputs"] == ["age", "visits"]


@needs_mlflow
@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle"])
def test_carnet_loads_an_mlflow_model(
    tmp_path: Path, frame: pd.DataFrame, model: LinearRegression, fmt: str
) -> None:
    with (tmp_path / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    run_mlflow(
        f"""
import pickle, pandas as pd, mlflow.sklearn
from mlflow.models import infer_signature
x = pd.DataFrame({{"age": [30.0, 41.0], "visits": [1, 4]}})
m = pickle.load(open("model.pkl", "rb"))
mlflow.sklearn.save_model(m, "saved", serialization_format={fmt!r}, input_example=x,
                          signature=infer_signature(x, m.predict(x)))
""",
        tmp_path,
    )
    folder = tmp_path / "saved"
    assert yaml.safe_load((folder / "MLmodel").read_text())["mlflow_version"]
    np.testing.assert_allclose(
        carnet.sklearn.load_model(folder).predict(frame), model.predict(frame)
    )
    loaded = carnet.pyfunc.load_model(folder)
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))
    with pytest.raises(SchemaError, match="visits"):
        loaded.predict(frame[["age"]])
    example = carnet.models.load_input_example(folder)
    pd.testing.assert_frame_equal(example, frame.head(2))


def test_a_model_in_the_earlier_carnet_format_keeps_loading(
    tmp_path: Path, model: LinearRegression, frame: pd.DataFrame
) -> None:
    """A folder as Carnet wrote it before MLflow's format: JSON descriptor, model_file."""
    folder = tmp_path / "old"
    folder.mkdir()
    with (folder / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    descriptor = {
        "artifact_path": "model",
        "run_id": "0" * 32,
        "model_uuid": "f" * 32,
        "utc_time_created": "2026-01-01T00:00:00.000000Z",
        "format_version": 1,
        "flavors": {
            "sklearn": {
                "serialization_format": "pickle",
                "model_file": "model.pkl",
                "sha256": carnet.models.sha256_file(folder / "model.pkl"),
            },
            "python_function": {"loader_module": "carnet.sklearn"},
        },
        "versions": {},
        "saved_input_example_info": {"artifact_path": "input_example.json", "type": "dataframe"},
    }
    (folder / "MLmodel").write_text(json.dumps(descriptor, indent=2))
    (folder / "input_example.json").write_text(
        json.dumps({"type": "dataframe", "columns": ["age", "visits"],
                    "dtypes": {"age": "float64", "visits": "int64"}, "data": [[30.0, 1]]})
    )  # fmt: skip
    np.testing.assert_allclose(
        carnet.sklearn.load_model(folder).predict(frame), model.predict(frame)
    )
    np.testing.assert_allclose(
        carnet.pyfunc.load_model(folder).predict(frame), model.predict(frame)
    )
    pd.testing.assert_frame_equal(carnet.models.load_input_example(folder), frame.head(1))


def test_save_model_refuses_a_non_empty_folder(tmp_path: Path, model: LinearRegression) -> None:
    carnet.sklearn.save_model(model, tmp_path / "m")
    assert (tmp_path / "m" / "MLmodel").is_file()
    with pytest.raises(ModelError, match="is not empty"):
        carnet.sklearn.save_model(model, tmp_path / "m")
    with pytest.raises(ModelError, match="serialization_format 'joblib' is not supported"):
        carnet.sklearn.save_model(model, tmp_path / "n", serialization_format="joblib")
    bad = LinearRegression()
    bad.hook = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(ModelError, match="cannot be pickled"):
        carnet.sklearn.save_model(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()  # a failed save writes nothing
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="cannot be stored as JSON"):
        carnet.sklearn.save_model(model, tmp_path / "empty", input_example={1, 2})
    assert list((tmp_path / "empty").iterdir()) == []


def test_models_uri_with_the_model_id(
    uri: str, tmp_path: Path, frame: pd.DataFrame, model: LinearRegression
) -> None:
    carnet.set_tracking_uri(uri)
    carnet.set_experiment("elsewhere")
    with carnet.start_run():
        carnet.sklearn.log_model(model, "first")
        info = carnet.sklearn.log_model(model, "second")
    assert info.model_id is not None and info.model_id.startswith("m-")
    folder = carnet.models.resolve_model_folder(f"models:/{info.model_id}")
    assert folder.parts[-3:] == ("models", info.model_id, "artifacts")  # MLflow 3's layout
    assert yaml.safe_load((folder / "MLmodel").read_text())["model_id"] == info.model_id
    loaded = carnet.pyfunc.load_model(f"models:/{info.model_id}")
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ModelError, match="no logged model with id"):
        carnet.models.load_model("models:/m-" + "0" * 32)
    with pytest.raises(ModelError, match="registered model 'diabetes' not found"):
        carnet.pyfunc.load_model("models:/diabetes@champion")


@needs_mlflow
def test_an_mlflow_skops_model_needs_skops(
    tmp_path: Path, frame: pd.DataFrame, model: LinearRegression
) -> None:
    """MLflow's default format is skops; without skops installed Carnet says what to do."""
    with (tmp_path / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    run_mlflow(
        "import pickle, mlflow.sklearn\n"
        'mlflow.sklearn.save_model(pickle.load(open("model.pkl", "rb")), "saved")\n',
        tmp_path,
    )
    assert (
        yaml.safe_load((tmp_path / "saved" / "MLmodel").read_text())["flavors"]["sklearn"][
            "serialization_format"
        ]
        == "skops"
    )
    if importlib.util.find_spec("skops") is None:
        with pytest.raises(ModelError, match=r"install skops \(pip install skops\)"):
            carnet.sklearn.load_model(tmp_path / "saved")
    else:
        loaded = carnet.sklearn.load_model(tmp_path / "saved")
        np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))
