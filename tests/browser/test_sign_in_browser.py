"""Signing in with the shared password, in a real headless Chromium against ``carnet ui``.

A teammate pastes a link to a run; the dashboard asks for the password, then
opens that run (page and query string intact). The browser stays signed in on
a reload and in a new tab, through an HttpOnly cookie that page scripts cannot
read; a made-up or altered cookie gets the sign-in page, not the runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

import carnet
from carnet.store.engine import dispose_engines
from tests.dashboard.served import carnet_ui, streamlit_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
RUN_NAME = "linked-run"


@dataclass(frozen=True)
class Served:
    base: str
    run_id: str

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def cookie_name(self) -> str:
        return f"carnet_session_{self.port}"


def write_runs(uri: str) -> str:
    """Two runs in one experiment; returns the id of the one a link points at."""
    client = carnet.Client(uri)
    experiment = client.create_experiment("sign-in")
    for name, loss in (("other-run", 0.7), (RUN_NAME, 0.3)):
        run = client.create_run(experiment, run_name=name)
        client.log_batch(run.info.run_id, metrics=[("loss", loss, 0, 0)], params=[("lr", "0.1")])
        client.set_terminated(run.info.run_id)
    dispose_engines()
    return run.info.run_id


@pytest.fixture
def served(uri: str, tmp_path: Path) -> Iterator[Served]:
    """The two runs, served by ``carnet ui --password-env``."""
    run_id = write_runs(uri)
    with carnet_ui(uri, tmp_path, password=PASSWORD) as (base, _log):
        yield Served(base, run_id)


def test_sign_in_from_a_link_keeps_the_link_and_the_session(
    browser: object, served: Served
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    link = f"{served.base}/run?run={served.run_id}&run_tab={quote('Params & tags')}"

    page.goto(link)
    expect(page).to_have_url(re.compile(r"/carnet/sign-in\?next="))
    password = page.get_by_label("Password", exact=True)
    password.fill("not it")
    page.get_by_role("button", name="Open").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    assert not context.cookies()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Open").click()
    expect(page.locator("h1").first).to_have_text(RUN_NAME, timeout=30_000)
    expect(page).to_have_url(re.compile(rf"/run\?.*run={served.run_id}"))
    expect(page).to_have_url(re.compile(r"run_tab=Params"))
    assert "/carnet/sign-in" not in page.url

    (cookie,) = [c for c in context.cookies() if c["name"] == served.cookie_name]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert 11.9 * 3600 < cookie["expires"] - time.time() <= 12 * 3600
    assert served.cookie_name not in page.evaluate("document.cookie")

    page.reload()
    expect(page.locator("h1").first).to_have_text(RUN_NAME, timeout=30_000)
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)

    tab = context.new_page()
    tab.goto(f"{served.base}/")
    expect(tab.get_by_text("matching runs")).to_be_visible(timeout=30_000)
    assert "/carnet/sign-in" not in tab.url
    assert not page.get_by_test_id("stException").count()
    assert not tab.get_by_test_id("stException").count()
    assert errors == [], errors

    # The same cookie with a later expiry is a forgery: the viewer is asked again.
    expiry, mac = cookie["value"].split(".")
    for forged in (f"{int(expiry) + 3600}.{mac}", f"{expiry}.{'0' * len(mac)}", "garbage"):
        stranger = browser.new_context()  # type: ignore[attr-defined]
        stranger.add_cookies([{"name": served.cookie_name, "value": forged, "url": served.base}])
        other = stranger.new_page()
        other.goto(link)
        expect(other).to_have_url(re.compile(r"/carnet/sign-in\?next="))
        expect(other.get_by_label("Password", exact=True)).to_be_visible()
        expect(other.get_by_text(RUN_NAME)).to_have_count(0)
        stranger.close()
    context.close()


def test_the_in_page_form_also_keeps_the_link(browser: object, uri: str, tmp_path: Path) -> None:
    """Under a plain ``streamlit run`` (no sign-in page) the form asks instead; signing
    in there also lands on the linked run, not on the runs page."""
    from playwright.sync_api import expect

    run_id = write_runs(uri)
    with streamlit_run(uri, tmp_path, password=PASSWORD) as (base, _log):
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"{base}/run?run={run_id}&run_tab={quote('Params & tags')}")
        password = page.get_by_label("Password", exact=True)
        expect(password).to_be_visible(timeout=30_000)
        password.fill(PASSWORD)
        page.get_by_role("button", name="Open").click()
        expect(page.locator("h1").first).to_have_text(RUN_NAME, timeout=30_000)
        expect(page).to_have_url(re.compile(rf"/run\?.*run={run_id}"))
        expect(page).to_have_url(re.compile(r"run_tab=Params"))
        page.close()
