"""Before any page: a missing or empty store, the password gate and OIDC sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import carnet
from dashboard.app import resolve_experiments, store_argument
from dashboard.data import ExperimentRow
from tests.dashboard.conftest import APP, TIMEOUT, MakeApp, make_app, no_exceptions
from tests.dashboard.store_data import StoreInfo, write_store


def fresh(uri: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    return at


def test_missing_store_shows_how_to_log_a_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_TRACKING_URI", f"sqlite:///{tmp_path / 'nothing-here.db'}")
    at = fresh().run()
    no_exceptions(at)
    code = [c.value for c in at.code]
    assert any("carnet.start_run()" in c and "log_metric" in c for c in code)
    assert len(next(c for c in code if "import carnet" in c).splitlines()) == 3
    assert not (tmp_path / "nothing-here.db").exists()  # read-only: nothing created


def test_empty_store_shows_the_welcome_page(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    carnet.Client(uri).create_experiment("empty")
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    at = fresh().run()
    no_exceptions(at)
    assert "no runs yet" in at.info[0].value


def test_invalid_store_uri_is_an_inline_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_TRACKING_URI", "mysql://nope/db")
    at = fresh().run()
    no_exceptions(at)
    assert "not valid" in at.error[0].value


def test_password_gate(store: StoreInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_UI_PASSWORD", "s3cret")
    at = fresh().run()
    no_exceptions(at)
    assert not at.dataframe  # nothing of the store before the password
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password."
    assert not at.dataframe
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    no_exceptions(at)
    assert any("matching runs" in m.value for m in at.markdown)


def test_password_from_streamlit_secrets(store: StoreInfo) -> None:
    at = fresh()
    at.secrets["carnet"] = {"password": "from-secrets"}
    at.run()
    assert at.text_input[0].label == "Password"


def oidc_app(**carnet_section: object) -> AppTest:
    """The app with an ``[auth]`` section (OIDC) and the given ``[carnet]`` allow-lists."""
    at = fresh()
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x",
        "client_id": "id",
        "client_secret": "s",
        "server_metadata_url": "https://idp.example/.well-known",
    }
    at.secrets["carnet"] = carnet_section
    return at


def test_oidc_sign_in(store: StoreInfo) -> None:
    at = oidc_app(allowed_domains=["example.org"])
    at.user = {"is_logged_in": False}
    at.run()
    no_exceptions(at)
    assert at.button[0].label == "Sign in"
    assert not at.dataframe
    at.user = {"is_logged_in": True, "email": "ana@example.org", "email_verified": True}
    at.run()
    no_exceptions(at)
    assert any("matching runs" in m.value for m in at.markdown)
    assert "ana@example.org" in [t.value for t in at.sidebar.text]
    at.user = {"is_logged_in": True, "email": "eve@elsewhere.com", "email_verified": True}
    at.run()
    assert "not allowed" in at.error[0].value


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        ("boss@example.org", False),  # the provider did not confirm the address
        ("boss@example.org", None),  # ... or did not say
        ("boss@example.org", "false"),
        ("example.org", True),  # no local part at all
        ("@example.org", True),
        ("a@b@example.org", True),  # two @: which domain is it?
        ("boss@example.org.evil.com", True),
        ("boss@evilexample.org", True),  # a suffix is not the domain
        ("boss@sub.example.org", True),
        ("", True),
    ],
)
def test_oidc_refuses_unverified_and_malformed_addresses(
    store: StoreInfo, email: str, verified: object
) -> None:
    at = oidc_app(allowed_domains=["example.org"], allowed_emails=["guest@partner.com"])
    user: dict[str, object] = {"is_logged_in": True, "email": email}
    if verified is not None:
        user["email_verified"] = verified
    at.user = user
    at.run()
    no_exceptions(at)
    assert "not allowed" in at.error[0].value
    assert not at.dataframe and not any("matching runs" in m.value for m in at.markdown)


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        ("Ana@Example.ORG", True),  # domains compare without case
        ("ana@example.org", "true"),  # some providers send the flag as text
        ("GUEST@partner.com", True),  # an allowed address, not its whole domain
    ],
)
def test_oidc_lets_verified_allowed_addresses_in(
    store: StoreInfo, email: str, verified: object
) -> None:
    at = oidc_app(allowed_domains=["@Example.org"], allowed_emails=["guest@partner.com"])
    at.user = {"is_logged_in": True, "email": email, "email_verified": verified}
    at.run()
    no_exceptions(at)
    assert not at.error
    assert any("matching runs" in m.value for m in at.markdown)


def test_oidc_without_allow_lists_lets_every_signed_in_account_in(store: StoreInfo) -> None:
    """No allow-list: whoever the identity provider signs in may look (its own policy)."""
    at = oidc_app()
    at.user = {"is_logged_in": True, "email": "anyone@anywhere.net"}
    at.run()
    no_exceptions(at)
    assert any("matching runs" in m.value for m in at.markdown)


def test_store_argument_after_double_dash() -> None:
    assert store_argument(["--db", "runs.db"]) == "runs.db"
    assert store_argument(["-x", "tests/", "--dbx"]) is None
    assert store_argument([]) is None


def test_experiments_from_url_by_id_or_name() -> None:
    rows = [ExperimentRow("1", "alpha", 3, 0), ExperimentRow("2", "beta", 0, 0)]
    assert resolve_experiments(["beta", "1", "zzz", "2"], rows) == ["2", "1"]


def test_store_shown_without_its_password(app: MakeApp) -> None:
    from dashboard.ui import redact

    assert redact("postgresql+psycopg://ana:pw@db/carnet") == (
        "postgresql+psycopg://ana:***@db/carnet"
    )
    at = app()
    assert at.sidebar.text[0].value.startswith("sqlite:///")


@pytest.mark.postgres
def test_pages_on_postgresql(pg_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same pages over a PostgreSQL store (what teams share on several machines)."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    info = write_store(pg_uri, tmp_path / "scratch")
    monkeypatch.setenv("CARNET_TRACKING_URI", pg_uri)
    at = make_app(filter="params.l1_ratio = '1.0'", sort="metrics.MSE ASC", best_by="MSE")
    no_exceptions(at)
    assert any(m.value == f"**4** matching runs of {info.runs}" for m in at.markdown)
    assert at.metric[0].value == "3000"
    at = make_app("compare", tab="Heat map")
    no_exceptions(at)
    assert at.get("vega_lite_chart")
    at = make_app("run", run=info.script_run_id, run_tab="Artifacts")
    no_exceptions(at)
    assert "postgresql+psycopg://" in at.sidebar.text[0].value


def test_a_password_change_ends_every_sign_in(
    store: StoreInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_UI_PASSWORD", "first")
    at = fresh().run()
    at.text_input[0].input("first")
    at.button[0].click().run()
    assert any("matching runs" in m.value for m in at.markdown)
    monkeypatch.setenv("CARNET_UI_PASSWORD", "second")
    at.run()
    no_exceptions(at)
    assert at.text_input[0].label == "Password"
    assert not at.dataframe


def test_a_malformed_secrets_file_lets_nobody_in(
    store: StoreInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It may hold the password: reading it as "no password" would show every run."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[carnet]\npassword = "unclosed\n')
    monkeypatch.chdir(tmp_path)
    at = fresh().run()
    no_exceptions(at)
    assert "could not be read" in at.error[0].value
    assert not at.dataframe and not at.text_input
