"""Safe mode: a tracking failure in a fluent call becomes a logged warning, not a crash.

Carnet is strict by default: a bad call raises, so mistakes are found early.
A long training job may prefer to lose a metric rather than a week of GPU
time; ``enable_safe_mode()`` (or ``CARNET_SAFE_MODE=true`` in the environment)
makes every fluent tracking function marked with :func:`safe` catch the
exception, log it on the ``carnet`` logger, and return a harmless value.
Which fluent functions are marked is ``carnet.fluent.SAFE_FLUENT_FUNCTIONS``,
derived from the fluent API's ``__all__`` by the rule stated there.

Only ``Exception`` is caught: ``KeyboardInterrupt`` and ``SystemExit`` still
stop the job. When the store itself fails (a ``StoreError``: server down,
lock held for a minute), the next calls are skipped without trying for
``CARNET_SAFE_MODE_BACKOFF`` seconds (default 30), so a tracker that hangs on
every connection attempt cannot slow the training loop down. The log says
what failed the first time, then the 10th, 100th, 1,000th... time, so a call
failing in a tight loop cannot flood the log. The explicit ``Client`` API and
every read stay strict: a caller who asked for a value must hear why there is
none.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, ParamSpec, TypeVar, cast

from carnet import settings
from carnet.errors import StoreError

__all__ = [
    "NullRun",
    "disable_safe_mode",
    "enable_safe_mode",
    "is_safe_mode_enabled",
    "safe",
]

ENV_SAFE_MODE = settings.SAFE_MODE.name
logger = logging.getLogger("carnet")

P = ParamSpec("P")
R = TypeVar("R")


#: Set by enable_safe_mode() / disable_safe_mode(); None follows CARNET_SAFE_MODE, read
#: when a call fails (the only time it matters), so setting it after import works.
_enabled: bool | None = None
#: time.monotonic() before which calls are skipped because the store failed; 0 when healthy.
_down_until = 0.0
_failures: dict[tuple[str, str], int] = {}
_failures_lock = threading.Lock()


def enable_safe_mode() -> None:
    """From now on, fluent tracking calls log their failures instead of raising them."""
    global _enabled, _down_until
    _enabled, _down_until = True, 0.0


def disable_safe_mode() -> None:
    """Back to strict: fluent tracking calls raise (the default)."""
    global _enabled, _down_until
    _enabled, _down_until = False, 0.0


def is_safe_mode_enabled() -> bool:
    """Whether fluent tracking calls now log their failures instead of raising them."""
    return settings.SAFE_MODE.get() if _enabled is None else _enabled


def _report(name: str, exc: Exception) -> None:
    key = (name, type(exc).__name__)
    with _failures_lock:
        count = _failures[key] = _failures.get(key, 0) + 1
    if _is_power_of_ten(count):
        times = "" if count == 1 else f" ({count} times so far)"
        logger.warning(
            "carnet safe mode: %s failed and was skipped%s: %s: %s",
            name,
            times,
            type(exc).__name__,
            exc,
        )
        logger.debug("carnet safe mode: %s traceback", name, exc_info=exc)


class StoreDown(StoreError):
    """Stands for a call skipped because the store failed within CARNET_SAFE_MODE_BACKOFF."""


_skipped = StoreDown("the store failed moments ago; not trying again yet")


def _is_power_of_ten(n: int) -> bool:
    """1, 10, 100, ...: when a repeating failure is worth another line in the log."""
    while n >= 10 and n % 10 == 0:
        n //= 10
    return n == 1


def safe(fallback: Callable[..., Any] | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a fluent function as one that safe mode may keep from raising.

    When safe mode is off the wrapper only adds a call frame. When it is on, an
    ``Exception`` is logged and the function returns ``fallback(*args,
    **kwargs)`` (None without a fallback).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = fn.__name__

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            global _down_until
            if _down_until and time.monotonic() < _down_until and is_safe_mode_enabled():
                _report(name, _skipped)
                return cast(R, None if fallback is None else fallback(*args, **kwargs))
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not is_safe_mode_enabled():
                    raise
                if isinstance(exc, StoreError):
                    _down_until = time.monotonic() + settings.SAFE_MODE_BACKOFF.get_or_default()
                _report(name, exc)
                return cast(R, None if fallback is None else fallback(*args, **kwargs))

        wrapper.__carnet_safe__ = True  # type: ignore[attr-defined]
        return wrapper

    return decorate


class _NullInfo:
    run_id = ""
    run_uuid = ""
    run_name = ""
    experiment_id = ""
    status = "FAILED"
    artifact_uri = ""
    lifecycle_stage = "active"
    user_id = ""
    start_time = None
    end_time = None


class _NullData:
    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}


class NullRun:
    """What ``start_run`` returns in safe mode when it could not start a run.

    It works as a context manager and has empty ``info`` and ``data``, so
    ``with carnet.start_run() as run:`` and ``run.info.run_id`` keep working;
    logging inside the block starts a run implicitly, or warns again.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.info = _NullInfo()
        self.data = _NullData()

    def __enter__(self) -> NullRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NullRun(tracking failed; see the 'carnet' log)"
