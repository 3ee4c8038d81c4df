"""The Models page through AppTest, on a store whose registry the SDK wrote.

The list and its registry filter (a bad filter shown inline), a model's versions
with links to their source runs and those runs' metrics, aliases, the chosen
version's signature, example, URIs and serve command, markup kept as text, a
shared link that opens the same model and version, and an empty registry.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from carnet import Client
from carnet.store.engine import dispose_engines
from dashboard import registry_frames
from dashboard.app_pages import models
from tests.conftest import reset_tracking_state
from tests.dashboard.conftest import MakeApp, make_app, no_exceptions
from tests.dashboard.registry_data import (
    FOLDER_MODEL,
    MARKUP_MODEL,
    MARKUP_TEXT,
    MODEL,
    OTHER_MODEL,
    RegistryInfo,
    write_registry,
)
from tests.dashboard.store_data import StoreInfo


@pytest.fixture(scope="module")
def template_registry(tmp_path_factory: pytest.TempPathFactory) -> RegistryInfo:
    """Written once per module; each test gets its own copy of the database file."""
    folder = tmp_path_factory.mktemp("registry-store")
    info = write_registry(f"sqlite:///{folder / 'carnet.db'}")
    reset_tracking_state()
    dispose_engines()  # checkpoints the WAL, so the .db file alone is the whole store
    return info


@pytest.fixture
def registry(
    template_registry: RegistryInfo, uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RegistryInfo:
    """A private copy of the registry store, found by the app through CARNET_TRACKING_URI;
    the runs' artifacts stay in the template's folder, an allowed artifact root."""
    source = Path(template_registry.uri.removeprefix("sqlite:///"))
    shutil.copyfile(source, tmp_path / "carnet.db")
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    location = Client(uri, read_only=True).get_experiment(template_registry.experiment_id)
    experiment_folder = Path(unquote(urlsplit(location.artifact_location).path))
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", str(experiment_folder.parent))
    monkeypatch.delenv("CARNET_UI_PASSWORD", raising=False)
    return dataclasses.replace(template_registry, uri=uri)


def frames_of(at: AppTest) -> list[pd.DataFrame]:
    return [element.value for element in at.dataframe]


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    found = [f for f in frames_of(at) if column in f.columns]
    assert found, [list(f.columns) for f in frames_of(at)]
    return found[0]


def codes(at: AppTest) -> list[str]:
    return [element.value for element in at.code]


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def written(at: AppTest) -> dict[str, Any]:
    return dict(at.query_params.items())


def test_the_list_shows_every_model_with_its_latest_version_aliases_and_tags(
    registry: RegistryInfo,
) -> None:
    at = make_app("models")
    no_exceptions(at)
    table = frame_with(at, "latest")
    assert list(table["name"]) == sorted([MODEL, OTHER_MODEL, MARKUP_MODEL, FOLDER_MODEL])
    row = table[table["name"] == MODEL].iloc[0]
    assert row["latest"] == 3
    assert row["aliases"] == "challenger → v3, champion → v2"
    assert row["tags"] == "team=med"
    assert row["description"] == "Predicts disease progression."
    assert row["open"] == "models?model=diabetes"
    assert pd.notna(row["updated"])


def test_the_search_box_filters_with_the_registry_filter(registry: RegistryInfo) -> None:
    at = make_app("models")
    at.text_input(key="w.model_filter").input("name LIKE 'dia%'").run()
    no_exceptions(at)
    assert list(frame_with(at, "latest")["name"]) == [MODEL]
    assert written(at)["model_filter"] == "name LIKE 'dia%'"
    at.text_input(key="w.model_filter").input("tags.team = 'risk'").run()
    assert list(frame_with(at, "latest")["name"]) == [OTHER_MODEL]


def test_a_bad_filter_is_shown_inline_not_as_a_traceback(registry: RegistryInfo) -> None:
    at = make_app("models", model_filter="name LIKE")
    no_exceptions(at)
    assert len(at.error) == 1
    assert "This model filter does not parse" in at.error[0].value
    assert any("^" in code for code in codes(at))  # the caret under the position
    at.text_input(key="w.model_filter").input("colour = 'red'").run()
    no_exceptions(at)
    assert "unknown registered model attribute" in at.error[0].value


def test_a_model_shows_its_versions_with_run_links_metrics_and_aliases(
    registry: RegistryInfo,
) -> None:
    at = make_app("models", model=MODEL)
    no_exceptions(at)
    versions = frame_with(at, "run")
    assert list(versions["version"]) == [3, 2, 1]
    assert list(versions["run"]) == [f"run?run={r}" for r in reversed(registry.run_ids)]
    assert list(versions["metrics.MSE"]) == list(reversed(registry.mse))
    assert list(versions["aliases"]) == ["challenger", "champion", ""]
    assert versions["description"].iloc[1] == "alpha 0.01, the best MSE"
    assert versions["tags"].iloc[1] == "validated=yes"
    assert set(versions["status"]) == {"READY"}
    aliases = frame_with(at, "alias")
    assert list(aliases["alias"]) == ["challenger", "champion"]
    assert list(aliases["version"]) == [3, 2]
    assert "Predicts disease progression." in texts(at)


def test_the_champion_opens_first_with_its_signature_example_uris_and_serve_command(
    registry: RegistryInfo,
) -> None:
    at = make_app("models", model=MODEL)
    assert at.selectbox(key="w.version").value == "2"  # the champion
    assert written(at)["version"] == "2"
    signature = frame_with(at, "type")
    assert list(signature["name"]) == ["age", "bmi"]
    assert list(signature["type"]) == ["double", "double"]
    shown = codes(at)
    assert "models:/diabetes/2\nmodels:/diabetes@champion" in shown
    assert "carnet models serve -m models:/diabetes@champion" in shown
    example = next(code for code in shown if '"age"' in code)  # the saved input example
    assert "0.1" in example and '"bmi"' in example
    link = next(p for p in at.get("page_link") if p.proto.label == "Open the source run")
    assert (link.proto.page, link.proto.query_string) == ("run", f"run={registry.run_ids[1]}")


def test_a_model_without_signature_says_so(registry: RegistryInfo) -> None:
    at = make_app("models", model=MODEL, version="3")
    no_exceptions(at)
    assert any("logged without a signature" in info.value for info in at.info)
    assert "carnet models serve -m models:/diabetes@challenger" in codes(at)


def test_markup_in_names_descriptions_and_tags_is_shown_as_text(registry: RegistryInfo) -> None:
    at = make_app("models", model=MARKUP_MODEL)
    no_exceptions(at)
    assert at.selectbox(key="w.model").value == MARKUP_MODEL
    assert MARKUP_TEXT in texts(at)  # the description, as text
    tags = frame_with(at, "key")
    assert list(tags["value"]) == [MARKUP_TEXT]
    assert frame_with(at, "run")["tags"].iloc[0] == f"k={MARKUP_TEXT}"
    heading = at.header[0].value
    assert "<img" not in heading.replace("\\<img", "")  # escaped, so shown literally
    assert f"models:/{MARKUP_MODEL}/1" in codes(at)[0]
    for element in at.markdown:
        assert "<img" not in element.value.replace("\\<img", "")


def test_a_shared_link_opens_the_same_model_and_version(registry: RegistryInfo) -> None:
    first = make_app("models")
    first.selectbox(key="w.model").set_value(MODEL).run()
    first.selectbox(key="w.version").set_value("1").run()
    no_exceptions(first)
    link = {k: v for k, v in written(first).items()}
    assert link["model"] == MODEL and link["version"] == "1"
    assert set(link) <= {k.name for k in models.URL_KEYS}
    second = make_app("models", **link)
    no_exceptions(second)
    assert second.selectbox(key="w.model").value == MODEL
    assert second.selectbox(key="w.version").value == "1"
    assert written(second) == link
    assert "models:/diabetes/1" in codes(second)


def test_a_version_not_registered_from_a_run_is_not_opened(registry: RegistryInfo) -> None:
    at = make_app("models", model=FOLDER_MODEL)
    no_exceptions(at)
    assert "carnet models serve -m models:/from-a-folder/2" in codes(at)
    at.selectbox(key="w.version").set_value("1").run()
    no_exceptions(at)
    assert any("registered from a run" in info.value for info in at.info)
    assert "/models/elsewhere" in texts(at)  # its source, shown as text


def test_a_version_whose_run_has_no_such_model_says_so(registry: RegistryInfo) -> None:
    at = make_app("models", model=FOLDER_MODEL, version="2")
    no_exceptions(at)
    assert any("has no model files at" in info.value for info in at.info)
    assert not any("/tmp" in info.value for info in at.info)  # no server path


def test_model_uris_and_the_serve_command_quote_what_a_shell_would_split() -> None:
    assert registry_frames.model_uris("my model", "4", ["b", "a"]) == [
        "models:/my model/4",
        "models:/my model@a",
        "models:/my model@b",
    ]
    assert registry_frames.serve_command("my model", "4", ["b", "a"]) == (
        "carnet models serve -m 'models:/my model@a'"
    )
    assert registry_frames.serve_command("diabetes", "4", []) == (
        "carnet models serve -m models:/diabetes/4"
    )
    assert registry_frames.model_link("a b&c") == "models?model=a%20b%26c"


def test_a_link_to_a_missing_model_warns(registry: RegistryInfo) -> None:
    at = make_app("models", model="no-such-model")
    no_exceptions(at)
    assert any("does not have" in w.value for w in at.warning)


def test_an_empty_registry_says_how_to_register_a_model(app: MakeApp, store: StoreInfo) -> None:
    at = app("models")
    no_exceptions(at)
    assert at.info[0].value == models.EMPTY_REGISTRY
    assert any('carnet.register_model("runs:/<run_id>/model"' in code for code in codes(at))
    assert any("registered_model_name=" in code for code in codes(at))
