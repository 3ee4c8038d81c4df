"""Every public module, class, function and method of Carnet has a docstring.

The docstrings are the API reference (docs/api.md is generated from them) and
the first thing an editor shows, so one missing is a defect. The test imports
every module of ``carnet`` and ``dashboard`` (so a module that cannot be
imported fails here too), then reads each module's own source: a name counts
where it is defined, whatever wraps it at run time (``st.cache_data``,
``functools.lru_cache``, ``@safe``), and a dataclass's generated signature or
a named tuple's field list is not taken for a docstring.

Public means no leading underscore. Checked: the module itself, its top-level
classes and functions, and the methods of its public classes (properties by
their getter). Not checked: dunder methods, ``@overload`` stubs and property
setters, which document nothing of their own.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import carnet
import dashboard

PACKAGES: tuple[ModuleType, ...] = (carnet, dashboard)


def module_names() -> list[str]:
    """Every module of the packages, ``__main__`` modules left out (they run on import)."""
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.rsplit(".", 1)[-1] != "__main__":
                names.append(info.name)
    return sorted(names)


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A body's statements, with those of top-level ``if`` and ``try`` blocks spliced in."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _statements(node.body)
            yield from _statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _statements(block)
        else:
            yield node


def _documents_nothing(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An ``@overload`` stub or a property's setter or deleter."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Name) and decorator.id == "overload":
            return True
        if isinstance(decorator, ast.Attribute) and decorator.attr in (
            "overload",
            "setter",
            "deleter",
        ):
            return True
    return False


Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def undocumented(module: ModuleType) -> list[str]:
    """``module.name`` for each public definition of the module without a docstring."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    where = module.__name__
    missing = [] if ast.get_docstring(tree) else [f"{where} (module)"]
    for node in _statements(tree.body):
        if not isinstance(node, Definition) or node.name.startswith("_"):
            continue
        if isinstance(node, ast.ClassDef):
            if not ast.get_docstring(node):
                missing.append(f"{where}.{node.name}")
            for member in _statements(node.body):
                if (
                    isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not member.name.startswith("_")
                    and not _documents_nothing(member)
                    and not ast.get_docstring(member)
                ):
                    missing.append(f"{where}.{node.name}.{member.name}")
        elif not _documents_nothing(node) and not ast.get_docstring(node):
            missing.append(f"{where}.{node.name}")
    return missing


def test_every_module_is_found() -> None:
    names = module_names()
    for expected in ("carnet.fluent", "carnet.store.sql_search.run_filter", "dashboard.ui"):
        assert expected in names


def test_every_public_definition_has_a_docstring() -> None:
    missing = [
        name for module in module_names() for name in undocumented(importlib.import_module(module))
    ]
    assert not missing, "add a docstring (why it exists, what it is for) to:\n  " + "\n  ".join(
        missing
    )


def test_the_check_sees_what_it_must(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walker itself: decorated, nested-in-if, dataclass and method cases are caught."""
    source = (
        '"""A module."""\n'
        "import functools\n"
        "from dataclasses import dataclass\n"
        "@functools.lru_cache\n"
        "def cached(): pass\n"
        "if True:\n"
        "    def in_if(): pass\n"
        "@dataclass\n"
        "class Record:\n"
        "    x: int\n"
        "class Documented:\n"
        '    """Yes."""\n'
        "    def method(self): pass\n"
        "    @property\n"
        "    def value(self): pass\n"
        "    @value.setter\n"
        "    def value(self, v): pass\n"
        "    def __repr__(self): pass\n"
        "    def _private(self): pass\n"
        "def _private(): pass\n"
        "def documented():\n"
        '    """Yes."""\n'
    )
    (tmp_path / "walked_example.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.delitem(sys.modules, "walked_example", raising=False)
    module = importlib.import_module("walked_example")
    monkeypatch.delitem(sys.modules, "walked_example")
    assert undocumented(module) == [
        "walked_example.cached",
        "walked_example.in_if",
        "walked_example.Record",
        "walked_example.Documented.method",
        "walked_example.Documented.value",
    ]
