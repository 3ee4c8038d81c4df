"""Safe mode: with it on, a training job survives any failure of its tracker.

The decorator is tested on its own and wrapped around the real fluent
functions; a test checks that carnet.fluent applies ``safe`` to every name in
``SAFE_FLUENT_FUNCTIONS``; the end-to-end tests run real training processes
against a store that refuses their mistakes (a param changed, a metric that
is text) and against a server that is not there at all.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import carnet
import carnet.fluent
from carnet import safe_mode
from carnet.errors import ActiveRunError, InvalidValueError, ParamOverwriteError, StoreError
from carnet.safe_mode import NullRun, safe

from .conftest import dump_store, finish, start_worker, worker_env


@pytest.fixture(autouse=True)
def strict_again() -> Iterator[None]:
    """Every test starts strict and leaves the process strict."""
    safe_mode.disable_safe_mode()
    safe_mode._failures.clear()
    yield
    safe_mode.disable_safe_mode()


def boom(kind: type[BaseException] = ValueError) -> None:
    raise kind("tracker broke")


def test_strict_by_default_and_the_decorator_passes_errors_through() -> None:
    assert not safe_mode.is_safe_mode_enabled()
    with pytest.raises(ValueError, match="tracker broke"):
        safe()(boom)()


def test_enabled_failures_become_warnings_on_the_carnet_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    safe_mode.enable_safe_mode()
    caplog.set_level(logging.WARNING, logger="carnet")
    assert safe()(boom)() is None
    assert safe(fallback=lambda *a, **k: 42)(boom)() == 42
    [record] = caplog.records  # the same failure again is counted, not logged
    assert record.name == "carnet" and record.levelno == logging.WARNING
    assert "boom failed and was skipped: ValueError: tracker broke" in record.getMessage()


def test_interrupts_and_exits_are_never_swallowed() -> None:
    safe_mode.enable_safe_mode()
    with pytest.raises(KeyboardInterrupt):
        safe()(boom)(KeyboardInterrupt)
    with pytest.raises(SystemExit):
        safe()(boom)(SystemExit)


def test_a_failure_in_a_loop_logs_1_10_100_times_not_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    safe_mode.enable_safe_mode()
    caplog.set_level(logging.WARNING, logger="carnet")
    wrapped = safe()(boom)
    for _ in range(1000):
        wrapped()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4
    assert [" (10 times so far)" in m for m in messages] == [False, True, False, False]
    assert "(1000 times so far)" in messages[-1]


def test_after_a_store_failure_calls_are_skipped_for_the_backoff(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that hangs on each attempt must not be retried by every log call."""
    now = [1000.0]
    monkeypatch.setattr(safe_mode, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setenv("CARNET_SAFE_MODE_BACKOFF", "30")
    caplog.set_level(logging.WARNING, logger="carnet")
    calls = []

    def log(x: int) -> None:
        calls.append(x)
        raise StoreError("connection refused")

    wrapped = safe()(log)
    safe_mode.enable_safe_mode()
    wrapped(1)
    now[0] += 29.0
    wrapped(2)  # skipped: the store failed 29 s ago
    now[0] += 2.0
    wrapped(3)  # tried again
    assert calls == [1, 3]
    assert "StoreDown" in caplog.records[1].getMessage()


def test_disable_makes_it_strict_again() -> None:
    safe_mode.enable_safe_mode()
    safe()(boom)()
    safe_mode.disable_safe_mode()
    with pytest.raises(ValueError):
        safe()(boom)()


def test_null_run_works_where_an_active_run_is_expected() -> None:
    with NullRun() as run:
        assert run.info.run_id == "" and run.data.metrics == {}
    assert "tracking failed" in repr(run)


def test_real_fluent_calls_skip_their_failure_and_write_nothing(
    tracking: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The real fluent functions, wrapped here as carnet.fluent is to wrap them."""
    caplog.set_level(logging.WARNING, logger="carnet")
    log_param = safe()(carnet.fluent.log_param)
    log_metric = safe()(carnet.fluent.log_metric)
    start_run = safe(NullRun)(carnet.fluent.start_run)
    with carnet.start_run() as run:
        carnet.log_param("lr", 0.1)
        with pytest.raises(ParamOverwriteError):
            log_param("lr", 0.2)
        safe_mode.enable_safe_mode()
        before = dump_store(tracking)
        assert log_param("lr", 0.2) is None
        assert log_metric("loss", "high") is None  # type: ignore[arg-type]
        nested = start_run()  # a second top-level run: ActiveRunError, skipped
        assert isinstance(nested, NullRun)
        assert dump_store(tracking) == before
        log_metric("loss", 0.5)
    got = carnet.get_run(run.info.run_id)
    assert got.data.params == {"lr": "0.1"} and got.data.metrics == {"loss": 0.5}
    names = [m.split(" failed")[0] for m in (r.getMessage() for r in caplog.records)]
    assert names == [
        "carnet safe mode: log_param",
        "carnet safe mode: log_metric",
        "carnet safe mode: start_run",
    ]
    assert issubclass(ActiveRunError, carnet.CarnetError)
    assert issubclass(InvalidValueError, carnet.CarnetError)


def test_the_environment_variable_turns_it_on() -> None:
    code = "import carnet.safe_mode as s; print(s.is_safe_mode_enabled())"
    for value, expected in (("true", "True"), ("1", "True"), ("", "False"), ("no", "False")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=worker_env(CARNET_SAFE_MODE=value),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert out.stdout.strip() == expected, value


# -- as wired into carnet.fluent ---------------------------------------------------------------


def test_the_public_api_exposes_the_switches() -> None:
    assert carnet.enable_safe_mode is safe_mode.enable_safe_mode
    assert carnet.disable_safe_mode is safe_mode.disable_safe_mode
    for name in carnet.fluent.SAFE_FLUENT_FUNCTIONS:
        assert getattr(getattr(carnet, name), "__carnet_safe__", False), name


def test_a_store_failure_when_a_with_block_ends_is_skipped_too(
    tracking: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ending the run fails: a warning, no exception, and nothing written by it or after."""

    def disk_full(*args: object, **kwargs: object) -> None:
        raise StoreError("the store could not complete the operation: disk full.")

    caplog.set_level(logging.WARNING, logger="carnet")
    safe_mode.enable_safe_mode()
    with monkeypatch.context() as broken:
        with carnet.start_run() as run:
            carnet.log_metric("loss", 0.5)
            broken.setattr(carnet.Client, "set_terminated", disk_full)
            before = dump_store(tracking)
        carnet.log_metric("after", 1.0)  # training goes on (skipped: the store is "down")
    assert dump_store(tracking) == before
    got = carnet.Client(tracking).get_run(run.info.run_id)
    assert got.info.status == "RUNNING" and got.data.metrics == {"loss": 0.5}
    [ending, after] = [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.WARNING and r.name == "carnet" for r in caplog.records)
    assert ending.startswith("carnet safe mode: ") and " failed and was skipped: " in ending
    assert ending.endswith("StoreError: the store could not complete the operation: disk full.")
    assert after.startswith("carnet safe mode: log_metric failed and was skipped: StoreDown")
    safe_mode.disable_safe_mode()  # the store is back: the run still ends, strictly
    carnet.end_run()
    assert carnet.Client(tracking).get_run(run.info.run_id).info.status == "FINISHED"


def test_a_training_job_survives_its_own_tracking_mistakes(any_uri: str) -> None:
    proc = start_worker(
        "safe_training",
        {"uri": any_uri, "points": 40, "experiment": "safe"},
        CARNET_SAFE_MODE="true",
    )
    code, out, err = finish(proc)
    assert code == 0, err
    assert json.loads(out) == {"steps": 40}
    assert "ParamOverwriteError" in err and "InvalidValueError" in err
    runs = carnet.Client(any_uri).search_runs(
        [carnet.Client(any_uri).get_experiment_by_name("safe").experiment_id]  # type: ignore[union-attr]
    )
    [run] = runs
    assert run.data.params == {"lr": "0.1"}
    assert run.summaries["loss"].count == 40
    assert run.info.status == "FINISHED"


def test_a_training_job_survives_a_tracker_that_is_down(tmp_path: Path) -> None:
    """Nothing listens on port 1: every tracking call fails, the training finishes."""
    proc = start_worker(
        "safe_training",
        {"uri": "postgresql+psycopg://nobody@127.0.0.1:1/none", "points": 200},
        CARNET_SAFE_MODE="true",
    )
    code, out, err = finish(proc)
    assert code == 0, err
    assert json.loads(out) == {"steps": 200}
    warnings = [line for line in err.splitlines() if "carnet safe mode" in line]
    assert warnings and len(warnings) < 20, err


def test_without_safe_mode_the_same_job_stops_at_the_first_mistake(uri: str) -> None:
    proc = start_worker("safe_training", {"uri": uri, "points": 40, "experiment": "strict"})
    code, _, err = finish(proc)
    assert code == 3 and "ParamOverwriteError" in err
