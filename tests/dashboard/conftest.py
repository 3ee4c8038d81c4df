"""Dashboard fixtures: a store written by the SDK and a factory of AppTest apps."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from carnet import Client
from carnet.store.engine import dispose_engines
from tests.conftest import reset_tracking_state
from tests.dashboard.store_data import StoreInfo, write_store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 60  # the first run imports pandas, Altair and scikit-learn

MakeApp = Callable[..., AppTest]


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> StoreInfo:
    """Written once per session through the SDK; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("dashboard-store")
    info = write_store(f"sqlite:///{folder / 'carnet.db'}", folder / "scratch")
    reset_tracking_state()
    dispose_engines()  # checkpoints the WAL, so the .db file alone is the whole store
    return info


@pytest.fixture
def store(
    template_store: StoreInfo, uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> StoreInfo:
    """A private copy of the test store; the app finds it through CARNET_TRACKING_URI.

    Artifacts stay in the template's folder (the runs record absolute locations),
    which the copy's dashboard is allowed to read through CARNET_ARTIFACT_ROOTS;
    the dashboard only reads them.
    """
    source = Path(template_store.uri.removeprefix("sqlite:///"))
    shutil.copyfile(source, tmp_path / "carnet.db")
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    location = Client(uri, read_only=True).get_experiment(template_store.experiment_id)
    experiment_folder = Path(unquote(urlsplit(location.artifact_location).path))
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", str(experiment_folder.parent))
    monkeypatch.delenv("CARNET_UI_PASSWORD", raising=False)
    return dataclasses.replace(template_store, uri=uri)


def make_app(page: str | None = None, **params: str) -> AppTest:
    """Run the app as a first visit with ``params`` in the URL, then open ``page``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(f"app_pages/{page}.py").run()
    return at


@pytest.fixture
def app(store: StoreInfo) -> MakeApp:
    return make_app


def no_exceptions(at: AppTest) -> None:
    """Fail with the app's own traceback text when a page raised."""
    assert not at.exception, [e.value for e in at.exception]
