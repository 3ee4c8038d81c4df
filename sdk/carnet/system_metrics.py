"""System metrics: a background thread samples the machine into the active run.

As MLflow does, each sample is logged as ordinary metrics named
``system/cpu_utilization_percentage``, ``system/system_memory_usage_megabytes``
and so on, at steps 0, 1, 2, ... one ``CARNET_SYSTEM_METRICS_SAMPLING_INTERVAL``
apart. Points go through the run's buffered writer (``synchronous=False``), so
sampling never waits on the store. The sampler of a run stops when the run
ends (``run_context`` calls :func:`stop` before it writes the buffered points),
which covers ``end_run``, the end of a ``with`` block and process exit.

psutil is an optional dependency (``pip install 'carnet[system-metrics]'``);
GPU metrics are added when ``pynvml`` imports and finds a device.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from carnet import run_context, settings
from carnet.client import Client
from carnet.clock import now_ms

__all__ = [
    "PREFIX",
    "SystemMetricsSampler",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "is_enabled",
    "start_for_run",
    "stop",
]

logger = logging.getLogger(__name__)

#: Every system metric's key starts with this, as in MLflow.
PREFIX = "system/"

INSTALL_HINT = (
    "system metrics need psutil: install it with pip install 'carnet[system-metrics]' "
    "(or pip install psutil); the run goes on without them."
)

#: Set by enable/disable_system_metrics_logging; None defers to the environment.
_enabled: bool | None = None
_samplers: dict[str, SystemMetricsSampler] = {}
_lock = threading.Lock()


def enable_system_metrics_logging() -> None:
    """Log system metrics in every run started from now on (MLflow's function of that name)."""
    global _enabled
    _enabled = True


def disable_system_metrics_logging() -> None:
    """Stop logging system metrics in runs started from now on."""
    global _enabled
    _enabled = False


def is_enabled() -> bool:
    """Whether new runs log system metrics when ``start_run`` does not say."""
    if _enabled is not None:
        return _enabled
    return settings.SYSTEM_METRICS.get() or settings.MLFLOW_SYSTEM_METRICS.get()


def _cpu_memory(psutil: Any) -> dict[str, float]:
    memory = psutil.virtual_memory()
    return {
        "cpu_utilization_percentage": round(psutil.cpu_percent(), 1),
        "system_memory_usage_megabytes": round(memory.used / 1e6, 1),
        "system_memory_usage_percentage": round(memory.used / memory.total * 100, 1),
    }


def _disk(psutil: Any) -> dict[str, float]:
    usage = psutil.disk_usage(os.sep)
    return {
        "disk_usage_percentage": round(usage.percent, 1),
        "disk_usage_megabytes": round(usage.used / 1e6, 1),
        "disk_available_megabytes": round(usage.free / 1e6, 1),
    }


def _gpu_reader() -> Callable[[], dict[str, float]] | None:
    """A reader of every NVIDIA GPU's memory, utilisation and power, or None without one."""
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # no pynvml, no driver or no device: no GPU metrics
        return None
    if not handles:
        return None

    def read() -> dict[str, float]:
        out: dict[str, float] = {}
        for i, handle in enumerate(handles):
            try:
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"gpu_{i}_memory_usage_percentage"] = round(memory.used / memory.total * 100, 1)
                out[f"gpu_{i}_memory_usage_megabytes"] = round(memory.used / 1e6, 1)
                out[f"gpu_{i}_utilization_percentage"] = float(
                    pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
                )
                power = pynvml.nvmlDeviceGetPowerUsage(handle)
                limit = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle)
                out[f"gpu_{i}_power_usage_watts"] = power / 1000
                out[f"gpu_{i}_power_usage_percentage"] = power / limit * 100
            except pynvml.NVMLError as exc:
                logger.debug("GPU %d metrics unavailable: %s", i, exc)
        return out

    return read


class SystemMetricsSampler:
    """One run's sampler thread: a sample every ``interval`` seconds, logged at steps 0, 1, ..."""

    def __init__(self, run_id: str, client: Client, interval: float, psutil: Any) -> None:
        self.run_id = run_id
        self.client = client
        self.interval = interval
        self._psutil = psutil
        self._gpu = _gpu_reader()
        self._stop = threading.Event()
        self._step = 0
        counters = psutil.net_io_counters()
        self._net_start = (counters.bytes_recv, counters.bytes_sent)
        psutil.cpu_percent()  # the first call starts the interval the next one measures
        self._thread = threading.Thread(
            target=self._loop, name=f"carnet-system-metrics-{run_id[:8]}", daemon=True
        )

    def start(self) -> None:
        """Start sampling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for a sample being logged to be queued."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(5.0, self.interval))

    def sample(self) -> dict[str, float]:
        """The machine's current figures, keyed by MLflow's metric names (without prefix)."""
        psutil = self._psutil
        values = {**_cpu_memory(psutil), **_disk(psutil)}
        counters = psutil.net_io_counters()
        values["network_receive_megabytes"] = (counters.bytes_recv - self._net_start[0]) / 1e6
        values["network_transmit_megabytes"] = (counters.bytes_sent - self._net_start[1]) / 1e6
        if self._gpu is not None:
            values.update(self._gpu())
        return values

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                ts = now_ms()
                points = [(PREFIX + k, v, ts, self._step) for k, v in self.sample().items()]
                self.client.log_batch(self.run_id, metrics=points, synchronous=False)
            except Exception as exc:  # the run goes on; its system metrics stop here
                logger.warning("system metrics of run %s stopped: %s", self.run_id, exc)
                return
            self._step += 1


def start_for_run(run_id: str, client: Client, wanted: bool | None) -> None:
    """Start a sampler for a run just started, if ``wanted`` (None: the global switch)."""
    if not (is_enabled() if wanted is None else wanted):
        return
    try:
        import psutil
    except ImportError:
        logger.warning(INSTALL_HINT)
        return
    interval = settings.SYSTEM_METRICS_SAMPLING_INTERVAL.get()
    sampler = SystemMetricsSampler(run_id, client, interval, psutil)
    with _lock:
        previous = _samplers.pop(run_id, None)
        _samplers[run_id] = sampler
    if previous is not None:
        previous.stop()
    sampler.start()


def stop(run_id: str) -> None:
    """Stop the run's sampler, if it has one (called as the run ends)."""
    with _lock:
        sampler = _samplers.pop(run_id, None)
    if sampler is not None:
        sampler.stop()


run_context.on_run_end(stop)
