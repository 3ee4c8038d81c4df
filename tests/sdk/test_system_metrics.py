"""System metrics: a real sampler logs MLflow's system/ metrics into a run and stops with it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import carnet
from carnet import system_metrics

NAMES = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_usage_percentage",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}


@pytest.fixture(autouse=True)
def fast_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.1")
    monkeypatch.setattr(system_metrics, "_enabled", None)


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("carnet-system-metrics")]


def wait_for_steps(client: carnet.Client, run_id: str, steps: int) -> None:
    """Wait (not a timing assertion: only a bound on how long to wait) for sampled points."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        client.flush()
        history = client.get_metric_history(run_id, "system/cpu_utilization_percentage")
        if len(history) >= steps:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {steps} samples of run {run_id} within 30 s")


def test_a_run_with_system_metrics_logs_mlflow_names_at_steps(
    tracking: str, client: carnet.Client
) -> None:
    pytest.importorskip("psutil")
    with carnet.start_run(log_system_metrics=True) as run:
        wait_for_steps(client, run.info.run_id, 3)
    assert sampler_threads() == []  # stopped with the run
    data = client.get_run(run.info.run_id).data.metrics
    assert set(data) >= NAMES
    assert 0 <= data["system/system_memory_usage_percentage"] <= 100
    assert data["system/disk_available_megabytes"] > 0
    history = client.get_metric_history(run.info.run_id, "system/disk_usage_percentage")
    assert [p.step for p in history] == list(range(len(history)))
    # Nothing is written after the run ended.
    count = len(history)
    time.sleep(0.3)
    assert len(client.get_metric_history(run.info.run_id, "system/disk_usage_percentage")) == count


def test_switches_choose_which_runs_are_sampled(
    tracking: str, client: carnet.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psutil")
    with carnet.start_run() as plain:
        assert sampler_threads() == []
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    with carnet.start_run() as by_env:
        assert len(sampler_threads()) == 1
        wait_for_steps(client, by_env.info.run_id, 1)
    carnet.disable_system_metrics_logging()
    with carnet.start_run():
        assert sampler_threads() == []
    carnet.enable_system_metrics_logging()
    with carnet.start_run(log_system_metrics=False):
        assert sampler_threads() == []
    run = carnet.start_run()
    assert len(sampler_threads()) == 1
    carnet.end_run()
    assert sampler_threads() == []
    assert client.get_run(plain.info.run_id).data.metrics == {}
    assert run.info.run_id


def test_without_psutil_a_warning_says_how_to_install(
    tracking: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    with caplog.at_level(logging.WARNING), carnet.start_run(log_system_metrics=True) as run:
        assert sampler_threads() == []
    assert "pip install 'carnet[system-metrics]'" in caplog.text
    assert carnet.get_run(run.info.run_id).info.status == "FINISHED"


EXIT_SCRIPT = """
import time, carnet
run = carnet.start_run(log_system_metrics=True)
client = carnet.Client()
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    client.flush()
    if client.get_metric_history(run.info.run_id, "system/disk_usage_percentage"):
        break
    time.sleep(0.05)
print(run.info.run_id)
"""


def test_a_process_that_exits_stops_its_sampler_and_keeps_its_points(
    tmp_path: Path, client: carnet.Client, tracking: str
) -> None:
    pytest.importorskip("psutil")
    env = {**os.environ, "CARNET_TRACKING_URI": tracking}
    env["CARNET_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "0.1"
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "stopped" not in done.stderr
    run = client.get_run(done.stdout.strip().splitlines()[-1])
    assert run.info.status == "FINISHED"
    assert set(run.data.metrics) >= NAMES
