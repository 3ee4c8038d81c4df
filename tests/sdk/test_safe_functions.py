"""Which fluent functions safe mode covers is derived from the fluent API, not listed.

Every public fluent function is either safe (it records tracking data) or named
in ``STRICT_FUNCTIONS`` (reads, configuration, managing experiments and runs),
so a new tracking function is covered unless someone decides otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

import carnet
import carnet.fluent as fluent
from carnet import safe_mode


@pytest.fixture
def safe_mode_on() -> Iterator[None]:
    safe_mode.enable_safe_mode()
    yield
    safe_mode.disable_safe_mode()


def test_the_media_and_experiment_tag_calls_are_covered() -> None:
    for name in ("log_image", "log_table", "delete_experiment_tag"):
        assert name in fluent.SAFE_FLUENT_FUNCTIONS
        assert getattr(getattr(carnet, name), "__carnet_safe__", False), name


def test_every_public_function_is_safe_or_deliberately_strict() -> None:
    defined = {
        name
        for name, value in vars(fluent).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and getattr(value, "__module__", "") == fluent.__name__
    }
    assert defined <= set(fluent.__all__), "add the new function to carnet.fluent.__all__"
    assert defined >= fluent.STRICT_FUNCTIONS, "STRICT_FUNCTIONS names a function that is gone"
    assert set(fluent.SAFE_FLUENT_FUNCTIONS) == defined - fluent.STRICT_FUNCTIONS
    for name in defined:
        wrapped = getattr(getattr(fluent, name), "__carnet_safe__", False)
        assert wrapped == (name in fluent.SAFE_FLUENT_FUNCTIONS), name


def test_the_fluent_api_is_what_carnet_exports() -> None:
    assert set(fluent.__all__) <= set(carnet.__all__)
    for name in fluent.__all__:
        assert getattr(carnet, name) is getattr(fluent, name), name


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("log_image", lambda: carnet.log_image([1, 2, 3], "flat.png")),
        ("log_table", lambda: carnet.log_table("not a table", "table.json")),
        ("delete_experiment_tag", lambda: carnet.delete_experiment_tag("no such tag")),
    ],
)
def test_in_safe_mode_a_failing_call_returns_and_writes_nothing(
    tracking: str, safe_mode_on: None, name: str, call: object
) -> None:
    """The call fails (a flat image, a string for a table, an unknown tag): no exception."""
    carnet.set_experiment("safe-media")
    with carnet.start_run() as run:
        assert callable(call)
        assert call() is None
    client = carnet.Client(tracking)
    assert client.list_artifacts(run.info.run_id) == []
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
