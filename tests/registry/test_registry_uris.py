"""``models:/<name>/<version>``, ``models:/<name>@<alias>`` and ``models:/<name>/latest`` load
the registered model everywhere a model URI is taken; unknown ones say what is missing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import carnet
import carnet.pyfunc
import carnet.sklearn
from carnet.errors import ModelError


def test_registered_uris_load_the_version_they_name(tracking: str) -> None:
    X = np.arange(6.0).reshape(-1, 1)
    infos = []
    for slope in (2.0, 3.0):
        with carnet.start_run():
            model = LinearRegression().fit(X, slope * X[:, 0])
            infos.append(carnet.sklearn.log_model(model, name="m", registered_model_name="lin"))
    assert [i.registered_model_version for i in infos] == ["1", "2"]
    client = carnet.MlflowClient()
    client.set_registered_model_alias("lin", "champion", 1)

    def slope(uri: str) -> float:
        return float(carnet.pyfunc.load_model(uri).predict(np.array([[1.0]]))[0])

    assert slope("models:/lin/1") == pytest.approx(2.0)
    assert slope("models:/lin/2") == pytest.approx(3.0)
    assert slope("models:/lin/latest") == pytest.approx(3.0)
    assert slope("models:/lin@champion") == pytest.approx(2.0)
    loaded = carnet.sklearn.load_model("models:/lin@champion")
    assert loaded.coef_[0] == pytest.approx(2.0)
    client.set_registered_model_alias("lin", "champion", 2)
    assert slope("models:/lin@champion") == pytest.approx(3.0)
    assert slope(f"models:/{infos[0].model_id}") == pytest.approx(2.0)
    by_version = carnet.register_model(f"models:/{infos[0].model_id}", "by-id")
    assert by_version.model_id == infos[0].model_id
    assert slope("models:/by-id/1") == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("models:/nope/1", "registered model 'nope' not found"),
        ("models:/lin/7", "model version 7 of 'lin' not found"),
        ("models:/lin@ghost", "no alias 'ghost'"),
        ("models:/lin/abc", "whole number"),
        ("models:/empty/latest", "no versions yet"),
        ("models:/a/b/c", "is not supported"),
    ],
)
def test_unknown_names_versions_and_aliases_are_clear(tracking: str, uri: str, says: str) -> None:
    client = carnet.MlflowClient()
    client.create_registered_model("lin")
    client.create_model_version("lin", "runs:/abc/model")
    client.create_registered_model("empty")
    with pytest.raises(ModelError, match=says):
        carnet.pyfunc.load_model(uri)
