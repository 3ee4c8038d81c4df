"""The real ``mlflow`` client drives ``carnet server``'s model registry: MLflow's documented
snippets (``register_model``, aliases, searches, rename, delete) and ``pyfunc.load_model``
of ``models:/<name>@champion`` for a model Carnet's SDK logged through the same server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import carnet
import carnet.pyfunc
import carnet.sklearn
from tests.server.served import Server, run_mlflow


@pytest.fixture(scope="module")
def seen(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A sklearn model logged by Carnet's SDK over HTTP, then ``scripts/registry.py``."""
    carnet.set_tracking_uri(server.base)
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with carnet.start_run() as run:
        carnet.sklearn.log_model(LinearRegression().fit(X, 3 * X[:, 0] + 1), name="model")
    carnet.set_tracking_uri(None)
    folder: Path = tmp_path_factory.mktemp("mlflow-registry")
    result: dict[str, Any] = run_mlflow(server, "registry.py", folder, run.info.run_id)
    result["run_id"] = run.info.run_id
    return result


def test_register_model_and_aliases(seen: dict[str, Any]) -> None:
    run_id = seen["run_id"]
    assert seen["registered"][:2] == ["diabetes", "1"]
    # MLflow 3's client registers the run's logged model: the source is models:/<model_id>.
    assert seen["registered"][3] == run_id and seen["registered"][2].startswith("models:/m-")
    assert seen["second_version"] == "2"
    assert seen["champion"] == ["diabetes", "1", ["champion"]]
    assert seen["aliases"] == {"champion": "1"}
    assert seen["latest"] == ["2"]
    assert seen["create_again"] == "RESOURCE_ALREADY_EXISTS"
    assert seen["download_uri"] == seen["registered"][2]


def test_tags_descriptions_and_searches(seen: dict[str, Any]) -> None:
    assert seen["demo"] == ["second", {"team": "risk", "stage": "dev"}]
    assert seen["demo_v1"] == ["v1", {"k": "v", "checked": "yes"}, "READY", "None"]
    assert seen["search_models"] == ["demo", "diabetes"]
    assert seen["search_models_fluent"] == ["demo", "diabetes"]
    assert seen["search_versions"] == ["1", "2"]
    assert [tuple(v) for v in seen["search_run"]] == [
        ("demo", "1"),
        ("diabetes", "1"),
        ("diabetes", "2"),
    ]
    assert seen["bad_filter"] == "INVALID_PARAMETER_VALUE"


def test_mlflow_loads_carnets_model_by_alias(seen: dict[str, Any], server: Server) -> None:
    assert seen["prediction"] == pytest.approx([4.0, 7.0])
    # and Carnet loads the version MLflow registered (its source is the server's
    # mlflow-artifacts:/ location of the run's model)
    loaded = carnet.pyfunc.load_model("models:/diabetes/1", tracking_uri=server.base)
    assert [float(x) for x in loaded.predict(np.array([[1.0], [2.0]]))] == pytest.approx([4.0, 7.0])


def test_rename_and_deletes(seen: dict[str, Any], server: Server) -> None:
    assert seen["renamed"] == ["demo-renamed", {"k": "v", "checked": "yes"}]
    assert seen["old_name"] == "RESOURCE_DOES_NOT_EXIST"
    assert seen["alias_gone"] == "INVALID_PARAMETER_VALUE"  # MLflow's code for a missing alias
    assert seen["deleted_version"] == "RESOURCE_DOES_NOT_EXIST"
    assert seen["tags_after_delete"] == [{"team": "risk"}, {"k": "v"}]
    assert seen["deleted_model"] == "RESOURCE_DOES_NOT_EXIST"
    assert seen["remaining"] == ["diabetes"]
    store = carnet.Client(server.uri, read_only=True)
    assert [v.version for v in store.search_model_versions("name = 'diabetes'")] == ["1"]
