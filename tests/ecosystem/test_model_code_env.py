"""MLflow's ``conda_env=``, ``code_paths=`` and ``model_id=`` of ``log_model``/``save_model``:
the folder MLflow writes, loaded by Carnet's pyfunc and by the real MLflow from a working
directory where the model's own module is not importable otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import carnet
import carnet.models
import carnet.pyfunc
import carnet.sklearn
from carnet import model_code
from carnet.errors import ModelError

MLFLOW_PYTHON = os.environ.get("CARNET_MLFLOW_PYTHON")
needs_mlflow = pytest.mark.skipif(not MLFLOW_PYTHON, reason="CARNET_MLFLOW_PYTHON is not set")
#: A module name no other test uses, so the import below is this test's own.
MODULE = "carnet_test_featurize"
CONDA = {
    "name": "churn-env",
    "channels": ["conda-forge"],
    "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn>=1.3", "numpy"]}],
}
X = np.array([[1.0], [2.0], [3.0], [4.0]])
Y = np.array([3.0, 5.0, 7.0, 9.0])


@pytest.fixture
def helper_module(tmp_path: Path) -> Iterator[Path]:
    """A package the model's transformer imports, importable only while the test builds
    the model; afterwards only the model's ``code/`` folder can provide it."""
    source = tmp_path / "src"
    package = source / MODULE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            def featurize(x):
                return x * 10.0
            """
        )
    )
    saved = list(sys.path)
    sys.path.insert(0, str(source))
    try:
        yield package
    finally:  # loading put models' code/ folders on sys.path: leave it as it was
        sys.path[:] = saved
        for name in [n for n in sys.modules if n == MODULE or n.startswith(MODULE + ".")]:
            del sys.modules[name]


def fitted_model() -> object:
    """A pipeline whose first step calls the helper module's function (pickled by name)."""
    import importlib

    featurize = importlib.import_module(MODULE).featurize
    return make_pipeline(FunctionTransformer(featurize), LinearRegression()).fit(X, Y)


def forget_module(folder: Path) -> None:
    """Leave this process as a fresh one would be: the module unloaded, no path to it."""
    for name in [n for n in sys.modules if n == MODULE or n.startswith(MODULE + ".")]:
        del sys.modules[name]
    code = str(folder / "code")
    while code in sys.path:
        sys.path.remove(code)


def run_mlflow(code: str, cwd: Path) -> str:
    assert MLFLOW_PYTHON
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    env.pop("PYTHONPATH", None)  # nothing of the test's paths: only the model's code/ folder
    done = subprocess.run(
        [MLFLOW_PYTHON, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_conda_env_and_code_paths_make_mlflows_folder(
    tracking: str, tmp_path: Path, helper_module: Path
) -> None:
    model = fitted_model()
    expected = model.predict(X)  # type: ignore[attr-defined]
    (tmp_path / "env.yaml").write_text(yaml.safe_dump(CONDA))
    with carnet.start_run():
        info = carnet.sklearn.log_model(
            model, name="model", conda_env=str(tmp_path / "env.yaml"),
            code_paths=[str(helper_module)],
        )  # fmt: skip
    folder = carnet.models.resolve_model_folder(info.model_uri)
    assert yaml.safe_load((folder / "conda.yaml").read_text()) == CONDA
    assert (folder / "requirements.txt").read_text().splitlines() == ["scikit-learn>=1.3", "numpy"]
    python_env = yaml.safe_load((folder / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]
    descriptor = yaml.safe_load((folder / "MLmodel").read_text())
    pyfunc = descriptor["flavors"]["python_function"]
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert pyfunc["code"] == "code" and descriptor["flavors"]["sklearn"]["code"] == "code"
    assert (folder / "code" / MODULE / "__init__.py").is_file()
    assert info.flavors["python_function"]["code"] == "code"

    forget_module(folder)
    sys.path.remove(str(helper_module.parent))
    try:
        with pytest.raises(ModuleNotFoundError):
            __import__(MODULE)
        loaded = carnet.pyfunc.load_model(info.model_uri)
        np.testing.assert_allclose(loaded.predict(X), expected)
        forget_module(folder)
        np.testing.assert_allclose(carnet.sklearn.load_model(info.model_uri).predict(X), expected)
    finally:
        sys.path.insert(0, str(helper_module.parent))


@needs_mlflow
@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_mlflow_loads_the_model_with_its_code(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper_module: Path, fmt: str
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    carnet.set_tracking_uri(uri)
    model = fitted_model()
    with carnet.start_run():
        info = carnet.sklearn.log_model(
            model, name="model", conda_env=CONDA, code_paths=[helper_module],
            serialization_format=fmt,
        )  # fmt: skip
    folder = carnet.models.resolve_model_folder(info.model_uri)
    fresh = tmp_path / "elsewhere"
    fresh.mkdir()
    out = run_mlflow(
        f"""
import json, importlib.util, numpy as np, mlflow.pyfunc, mlflow.sklearn
assert importlib.util.find_spec({MODULE!r}) is None
x = np.array([[1.0], [2.0], [3.0], [4.0]])
py = mlflow.pyfunc.load_model({str(folder)!r})
sk = mlflow.sklearn.load_model({str(folder)!r})
print(json.dumps({{"pyfunc": py.predict(x).tolist(), "sklearn": sk.predict(x).tolist()}}))
""",
        fresh,
    )
    result = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(result["pyfunc"], model.predict(X))  # type: ignore[attr-defined]
    np.testing.assert_allclose(result["sklearn"], model.predict(X))  # type: ignore[attr-defined]


@needs_mlflow
def test_carnet_loads_mlflows_model_with_code_paths(tmp_path: Path, helper_module: Path) -> None:
    """The other way: MLflow saves with code_paths, Carnet's pyfunc finds the code."""
    fresh = tmp_path / "elsewhere"
    fresh.mkdir()
    run_mlflow(
        f"""
import sys
sys.path.insert(0, {str(helper_module.parent)!r})
import numpy as np, mlflow.sklearn
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from {MODULE} import featurize
x = np.array([[1.0], [2.0], [3.0], [4.0]])
m = make_pipeline(FunctionTransformer(featurize), LinearRegression()).fit(x, x[:, 0] * 2 + 1)
mlflow.sklearn.save_model(m, "saved", serialization_format="pickle",
                          code_paths=[{str(helper_module)!r}], conda_env={CONDA!r})
""",
        fresh,
    )
    folder = fresh / "saved"
    forget_module(folder)
    sys.path.remove(str(helper_module.parent))
    try:
        loaded = carnet.pyfunc.load_model(folder)
        np.testing.assert_allclose(loaded.predict(X), Y)
    finally:
        sys.path.insert(0, str(helper_module.parent))
        forget_module(folder)


def test_save_model_takes_mlflows_positional_conda_env_and_code_paths(
    tmp_path: Path, helper_module: Path
) -> None:
    model = fitted_model()
    carnet.sklearn.save_model(model, tmp_path / "m", CONDA, [str(helper_module)])
    descriptor = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert descriptor["flavors"]["python_function"]["code"] == "code"
    assert yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text()) == CONDA


def test_model_id_fills_an_initialized_model(tracking: str) -> None:
    model = LinearRegression().fit(X, Y)
    with carnet.start_run() as run:
        carnet.log_metric("rmse", 0.5)
        pending = carnet.initialize_logged_model(name="churn", model_type="regressor")
        info = carnet.sklearn.log_model(model, model_id=pending.model_id, params={"k": "3"})
    assert info.model_id == pending.model_id
    assert info.model_uri == f"models:/{pending.model_id}"
    assert info.run_id == run.info.run_id
    assert info.artifact_path == "churn"
    found = carnet.get_logged_model(pending.model_id)
    assert found.status.name == "READY" and found.name == "churn" and found.params == {"k": "3"}
    assert [m.key for m in found.metrics] == ["rmse"]
    descriptor = carnet.models.get_model_info(info.model_uri)
    assert descriptor["model_id"] == pending.model_id == descriptor["model_uuid"]
    loaded = carnet.pyfunc.load_model(f"models:/{pending.model_id}")
    np.testing.assert_allclose(loaded.predict(X), Y)
    outputs = carnet.get_run(run.info.run_id).outputs
    assert outputs is not None
    assert pending.model_id in [o.model_id for o in outputs.model_outputs]
    # the model has its files now: they cannot be replaced
    with pytest.raises(ModelError, match="already holds files"):
        carnet.sklearn.log_model(model, model_id=pending.model_id)


def test_model_id_of_an_external_model_drops_the_external_tag(tracking: str) -> None:
    external = carnet.create_external_model(name="outside")
    assert external.tags["mlflow.model.isExternal"] == "true"
    info = carnet.sklearn.log_model(LinearRegression().fit(X, Y), model_id=external.model_id)
    found = carnet.get_logged_model(external.model_id)
    assert "mlflow.model.isExternal" not in found.tags
    assert found.status.name == "READY"
    assert info.run_id is None  # no run active, none given: the model is linked to none
    np.testing.assert_allclose(carnet.pyfunc.load_model(info.model_uri).predict(X), Y)


def test_bad_model_ids_are_refused_and_nothing_is_written(tracking: str) -> None:
    model = LinearRegression().fit(X, Y)
    with carnet.start_run() as run:
        with pytest.raises(ModelError, match="model_id must be a logged model's id"):
            carnet.sklearn.log_model(model, model_id="model-7")
        with pytest.raises(ModelError, match="initialize_logged_model"):
            carnet.sklearn.log_model(model, model_id="m-" + "0" * 32)
    assert carnet.search_logged_models(output_format="list") == []
    assert not carnet.get_run(run.info.run_id).outputs.model_outputs  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conda_env": 3}, "conda_env takes a dict or the path"),
        ({"conda_env": "missing.yaml"}, "is not an existing file"),
        ({"conda_env": {"name": "x"}}, "'dependencies' list"),
        ({"conda_env": {"dependencies": ["pip", {"pip": "numpy"}]}}, "'pip' takes a list"),
        ({"conda_env": {"dependencies": [{"pip": ["-r reqs.txt"]}]}}, "refers to a file"),
        ({"conda_env": {"dependencies": [{"conda": ["x"]}]}}, r"one \{'pip': \[...\]\}"),
        ({"conda_env": CONDA, "pip_requirements": ["numpy"]}, "only one of conda_env"),
        ({"pip_requirements": ["numpy"], "extra_pip_requirements": ["x"]}, "only one of"),
        ({"code_paths": "helpers.py"}, "code_paths takes a list"),
        ({"code_paths": ["no_such_module.py"]}, "is not an existing file or folder"),
        ({"code_paths": [None]}, "entries are paths"),
        ({"code_paths": ["/"]}, "is a file system root"),
        ({"code_paths": ["a.py"] * 101}, "more than 100"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tracking: str, tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    model = LinearRegression().fit(X, Y)
    with carnet.start_run() as run, pytest.raises(ModelError, match=message):
        carnet.sklearn.log_model(model, name="model", **kwargs)  # type: ignore[arg-type]
    assert carnet.search_logged_models(output_format="list") == []
    assert not carnet.get_run(run.info.run_id).outputs.model_outputs  # type: ignore[union-attr]
    with pytest.raises(ModelError, match=message):
        carnet.sklearn.save_model(model, tmp_path / "saved", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "saved").exists()


def test_code_paths_bounds_and_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = LinearRegression().fit(X, Y)
    first, second = tmp_path / "one" / "util.py", tmp_path / "two" / "util.py"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("X = 1\n")
    with pytest.raises(ModelError, match=r"two code paths are named 'util\.py'"):
        carnet.sklearn.save_model(model, tmp_path / "a", code_paths=[first, second])
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "leak.txt").symlink_to(secret)
    with pytest.raises(ModelError, match="which is not a file inside"):
        carnet.sklearn.save_model(model, tmp_path / "b", code_paths=[package])
    (package / "leak.txt").unlink()
    (package / "loop").symlink_to(package, target_is_directory=True)
    with pytest.raises(ModelError, match="which is not a file inside"):
        carnet.sklearn.save_model(model, tmp_path / "c", code_paths=[package])
    (package / "loop").unlink()
    (package / "alias.py").symlink_to(package / "__init__.py")  # a link inside is copied
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"\0")
    carnet.sklearn.save_model(model, tmp_path / "d", code_paths=[package])
    copied = tmp_path / "d" / "code" / "pkg"
    assert sorted(p.name for p in copied.iterdir()) == ["__init__.py", "alias.py"]
    assert not (copied / "alias.py").is_symlink()
    with pytest.raises(ModelError, match="holds the model's own folder"):
        carnet.sklearn.save_model(model, package / "model", code_paths=[package])
    assert not (package / "model").exists()
    monkeypatch.setattr(model_code, "MAX_CODE_BYTES", 10)
    (package / "big.py").write_text("#" * 20)
    with pytest.raises(ModelError, match="MiB; list only the modules"):
        carnet.sklearn.save_model(model, tmp_path / "e", code_paths=[package])
    assert not (tmp_path / "e").exists()


def test_a_forged_code_entry_is_refused(tmp_path: Path) -> None:
    model = LinearRegression().fit(X, Y)
    carnet.sklearn.save_model(model, tmp_path / "m")
    descriptor_path = tmp_path / "m" / "MLmodel"
    descriptor = yaml.safe_load(descriptor_path.read_text())
    descriptor["flavors"]["python_function"]["code"] = "../../elsewhere"
    descriptor_path.write_text(yaml.safe_dump(descriptor))
    with pytest.raises(ModelError, match=r"contains '\.\.'"):
        carnet.pyfunc.load_model(tmp_path / "m")


def test_a_failed_write_into_a_model_id_marks_it_failed(tracking: str) -> None:
    """As MLflow 3: the model whose files could not be written is FAILED, and has none."""
    pending = carnet.initialize_logged_model(name="broken")
    bad = LinearRegression().fit(X, Y)
    bad.hook = lambda: None  # type: ignore[attr-defined]
    with pytest.raises(ModelError, match="cannot be pickled"):
        carnet.sklearn.log_model(bad, model_id=pending.model_id)
    assert carnet.get_logged_model(pending.model_id).status.name == "FAILED"
    assert carnet.Client(tracking).list_logged_model_artifacts(pending.model_id) == []
