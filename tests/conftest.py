"""Shared fixtures: a real store per test (a SQLite file, or a PostgreSQL schema).

Tests that need a system service ``pytest.skip`` with a reason on a laptop that
lacks it. Under CI (``CI`` set to ``true``, ``1`` or ``yes``) the hook below
turns every skip into a failure that carries the skip's reason, because
``.ci/run`` provides every service: a missing one must not read as a pass.
Expected failures (xfail) are not skips and are left alone.

Hypothesis keeps no example database and writes its caches to a folder of
its own that is removed at the end of the session, so a test run leaves
nothing in the working tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import configuration as hypothesis_configuration
from hypothesis import settings as hypothesis_settings

import carnet
from carnet import process_hooks, run_context
from carnet import uri as carnet_uri
from carnet.entities import RunStatus
from carnet.store.engine import dispose_engines

PG_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
# Runs record their environment as artifacts at start (carnet.capture); tests that list a
# run's artifacts expect only their own, so capture is off unless a test turns it on
# (tests/sdk/test_capture.py, tests/test_reproduce.py). Subprocesses inherit the choice.
os.environ.setdefault("CARNET_CAPTURE", "off")
#: Values of ``CI`` that mean "this is CI: every service is there, no test may skip".
CI_TRUE = frozenset({"true", "1", "yes"})

# Loaded before any test module builds its own ``settings(...)``, which inherit it.
hypothesis_settings.register_profile("carnet", database=None)
hypothesis_settings.load_profile("carnet")
_hypothesis_home: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Give Hypothesis a private cache folder, so nothing lands in the working tree."""
    _hypothesis_home.append(tempfile.mkdtemp(prefix="carnet-hypothesis-"))
    hypothesis_configuration.set_hypothesis_home_dir(_hypothesis_home[-1])


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove Hypothesis's private cache folder with the session."""
    while _hypothesis_home:
        shutil.rmtree(_hypothesis_home.pop(), ignore_errors=True)


def in_ci() -> bool:
    """Whether this run is CI's, where a skipped test means a missing service."""
    return os.environ.get("CI", "").strip().lower() in CI_TRUE


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # (path, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        report.outcome = "failed"
        report.longrepr = (
            f"skipped under CI={os.environ['CI']}, where every service must be present: "
            f"{_skip_reason(report)}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI a skipped test fails, with the skip's reason.

    It wraps pytest's own report makers, so an xfail has already been marked
    (``wasxfail``) and is left alone.
    """
    report = yield
    _fail_skip_in_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """A module skipped while it is collected fails under CI as well."""
    report = yield
    _fail_skip_in_ci(report)
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every xfail names the exception it expects (``raises=``).

    An xfail that accepts any error reads a missing service or a broken
    fixture as the known gap; this stops the run and lists the offenders.
    """
    vague = [
        item.nodeid
        for item in items
        for mark in item.iter_markers("xfail")
        if mark.kwargs.get("raises") is None
    ]
    if vague:
        raise pytest.UsageError(
            "xfail without raises= (name the exception the known gap raises, "
            "AssertionError when an assertion fails): " + ", ".join(vague)
        )


def stop_process_group(proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Stop a server a test started in its own process group: SIGTERM (it drains and
    exits), then SIGKILL when it has not exited within ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def require_service(available: bool, reason: str) -> None:
    """Skip with ``reason`` when a service is missing (under CI the skip fails the test)."""
    if not available:
        pytest.skip(reason)


def reset_tracking_state() -> None:
    """Leave nothing of one test to the next: its runs end KILLED (buffered points
    written), and the clients, the tracking URI and the active experiment are forgotten."""
    process_hooks.end_all(RunStatus.KILLED.value)
    run_context.clear()
    carnet_uri.set_tracking_uri(None)


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in (
        "CARNET_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "CARNET_ASYNC_LOGGING",
        "MLFLOW_EXPERIMENT_NAME",
        "CARNET_EXPERIMENT_NAME",
        "CARNET_EXPERIMENT_ID",
        "CARNET_ARTIFACT_ROOT",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    reset_tracking_state()
    dispose_engines()


def sqlite_uri(tmp_path: Path, name: str = "carnet.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A fresh PostgreSQL schema on the CI server, dropped after the test."""
    require_service(PG_URL is not None, "CARNET_TEST_POSTGRES_URL is not set (no PostgreSQL)")
    assert PG_URL is not None
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    dispose_engines()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def any_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_uri(tmp_path)
    return str(request.getfixturevalue("pg_uri"))


@pytest.fixture
def uri(tmp_path: Path) -> str:
    """A SQLite store file in the test's own folder."""
    return sqlite_uri(tmp_path)


@pytest.fixture
def tracking(any_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fluent API pointed at a fresh store (both backends)."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    carnet.set_tracking_uri(any_uri)
    return any_uri


@pytest.fixture
def client(tracking: str) -> carnet.Client:
    return carnet.Client(tracking)
