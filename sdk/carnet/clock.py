"""Wall-clock time in MLflow's unit: integer milliseconds since the Unix epoch.

A leaf module (it imports only the standard library), so every layer can
share one definition of "now" without importing anything above or beside it.
"""

from __future__ import annotations

import time

__all__ = ["now_ms"]


def now_ms() -> int:
    """The current time as MLflow timestamps it, so Carnet's times read the same in MLflow."""
    return time.time_ns() // 1_000_000
