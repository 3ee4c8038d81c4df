"""``__all__`` of each re-exporting module lists exactly the names it exports.

A name imported into ``carnet/__init__.py`` but missing from ``__all__`` is
invisible to ``from carnet import *``, to docs/api.md and to type checkers'
re-export rules; a name in ``__all__`` that is not there breaks the star
import. The modules checked here exist to re-export: every public name they
bind is part of the surface. Submodules bound as attributes by the import
system (``carnet.fluent`` once something imported it) are not names the
module exports.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import carnet

#: Modules whose whole body re-exports names defined elsewhere. (``carnet.exceptions``
#: imports ``CarnetError`` only to give it MLflow's name; it is checked on its own below.)
REEXPORTING = (
    "carnet",
    "carnet.mlflow_import",
    "carnet.query",
    "carnet.server",
    "carnet.store",
    "carnet.store.sql_search",
    "carnet.tracking",
)
#: Dunder names that are part of a surface, as httpx's ``__version__``.
PUBLIC_DUNDERS = frozenset({"__version__"})


def exported(module: ModuleType) -> list[str]:
    """The names the module binds that are public: no underscore, not a submodule."""
    return sorted(
        name
        for name, value in vars(module).items()
        if (not name.startswith("_") or name in PUBLIC_DUNDERS)
        and not isinstance(value, ModuleType)
        and type(value).__module__ != "__future__"  # `from __future__ import annotations`
    )


@pytest.mark.parametrize("name", REEXPORTING)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    declared = list(module.__all__)
    assert declared == sorted(declared), f"keep {name}.__all__ sorted"
    assert declared == exported(module), (
        f"{name}.__all__ and the names {name} binds differ: "
        f"missing from __all__ {sorted(set(exported(module)) - set(declared))}, "
        f"not bound {sorted(set(declared) - set(exported(module)))}"
    )


def test_every_all_in_carnet_resolves() -> None:
    """In any module, each name of ``__all__`` exists and appears once."""
    import pkgutil

    for info in pkgutil.walk_packages(carnet.__path__, "carnet."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        declared = getattr(module, "__all__", None)
        if declared is None:
            continue
        assert len(declared) == len(set(declared)), f"{info.name}.__all__ repeats a name"
        missing = [n for n in declared if not hasattr(module, n)]
        assert not missing, f"{info.name}.__all__ names what it does not define: {missing}"


def test_the_fluent_api_is_carnets() -> None:
    """Every fluent function is reachable as ``carnet.<name>``, as ``mlflow.<name>`` is."""
    from carnet import fluent, safe_mode

    surface = set(carnet.__all__)
    assert set(fluent.__all__) <= surface
    assert {"enable_safe_mode", "disable_safe_mode", "is_safe_mode_enabled"} <= surface
    assert set(safe_mode.__all__) & surface == {
        "enable_safe_mode",
        "disable_safe_mode",
        "is_safe_mode_enabled",
    }


def test_mlflows_exception_module_exports_mlflows_name() -> None:
    from carnet import exceptions

    assert exceptions.__all__ == ["MlflowException"]
    assert exceptions.MlflowException is carnet.CarnetError is carnet.MlflowException


def test_the_check_sees_a_drift() -> None:
    """A module that binds a public name outside ``__all__`` is caught, and one that lists
    a submodule is not mistaken for an export."""
    module = ModuleType("drifted")
    module.__dict__.update(
        {"__all__": ["kept"], "kept": 1, "forgotten": 2, "_private": 3, "sub": ModuleType("sub")}
    )
    assert exported(module) == ["forgotten", "kept"]
