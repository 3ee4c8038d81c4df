"""The SDK's seams are public: flavours sit above the fluent API, and no module reaches
into another's private names. Checked on the source, so a new import that runs up or
a new private reach fails here before it tangles the modules again."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import carnet
import carnet.fluent

SDK = Path(carnet.__file__).resolve().parent
#: The SDK layer above the store: the public API, its run context and hooks, the flavours.
SDK_LAYER = [
    "__init__.py",
    "client.py",
    "fluent.py",
    "media.py",
    "models.py",
    "process_hooks.py",
    "run_context.py",
    "safe_mode.py",
    "sklearn.py",
    "tracking.py",
]
#: Modules the fluent API builds on; none may import a flavour, which sit above them.
BELOW_FLAVOURS = ["client.py", "fluent.py", "media.py", "process_hooks.py", "run_context.py"]
FLAVOURS = {"carnet.sklearn", "carnet.models"}


def _tree(name: str) -> ast.Module:
    return ast.parse((SDK / name).read_text(), filename=name)


def _imported_modules(tree: ast.Module) -> set[str]:
    """Every carnet module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("carnet")}


def _private_reaches(tree: ast.Module) -> list[str]:
    """``from carnet.x import _y`` and ``x._y`` where ``x`` is an imported carnet module."""
    modules: set[str] = set()
    reaches = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("carnet"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    reaches.append(f"from {node.module} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("carnet"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            reaches.append(f"{node.value.id}.{node.attr}")
    return reaches


@pytest.mark.parametrize("name", BELOW_FLAVOURS)
def test_the_modules_below_the_flavours_never_import_one(name: str) -> None:
    assert _imported_modules(_tree(name)) & FLAVOURS == set()


@pytest.mark.parametrize("name", SDK_LAYER)
def test_no_sdk_module_reaches_into_another_modules_private_names(name: str) -> None:
    assert _private_reaches(_tree(name)) == []


def test_the_private_reach_check_sees_both_forms() -> None:
    tree = ast.parse(
        "from carnet import fluent\nfrom carnet.client import _now_ms\nfluent._client()\n"
    )
    assert _private_reaches(tree) == ["from carnet.client import _now_ms", "fluent._client"]


def test_autolog_finds_every_flavour_in_its_table() -> None:
    import importlib

    for library, module_name in carnet.fluent.LIBRARY_TO_AUTOLOG_MODULE.items():
        assert callable(importlib.import_module(module_name).autolog), library


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout.strip()


def test_a_flavour_is_imported_when_autolog_runs_not_before() -> None:
    code = (
        "import sys, carnet; print('carnet.sklearn' in sys.modules); "
        "carnet.autolog(exclude_flavors=['sklearn']); print('carnet.sklearn' in sys.modules); "
        "carnet.autolog(); print('carnet.sklearn' in sys.modules); carnet.autolog(disable=True)"
    )
    assert _run(code).split() == ["False", "False", "True"]


def test_importing_carnet_loads_no_flavour_and_no_heavy_library() -> None:
    code = (
        "import sys, carnet; print(sorted(m for m in ('carnet.sklearn', 'carnet.models', "
        "'carnet.store.sql_store', 'numpy', 'pandas', 'PIL', 'yaml', 'sqlalchemy', 'sklearn') "
        "if m in sys.modules))"
    )
    assert _run(code) == "[]"
