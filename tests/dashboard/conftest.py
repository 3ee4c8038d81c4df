"""Dashboard fixtures: a store written by the SDK and a factory of AppTest apps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.store_data import StoreInfo, write_store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 60  # the first run imports pandas, Altair and scikit-learn

MakeApp = Callable[..., AppTest]


@pytest.fixture
def store(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StoreInfo:
    """The shared test store; the app finds it through CARNET_TRACKING_URI."""
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    monkeypatch.delenv("CARNET_UI_PASSWORD", raising=False)
    return write_store(uri, tmp_path / "scratch")


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
