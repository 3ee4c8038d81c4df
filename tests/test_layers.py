"""Carnet's modules import in one direction, and each keeps its private names to itself.

The layers themselves (which package may import which) are import-linter's
contracts in pyproject.toml, run by ``lint-imports`` in ``make lint``. This
file checks what those contracts do not:

- no import circle among the modules of ``carnet`` or of ``dashboard``, counting
  imports inside functions and under ``TYPE_CHECKING`` (grimp's graph has both):
  a circle means two modules are one concern, or one of them is in the wrong layer;
- no module uses another module's private name, neither ``from carnet.x import _y``
  nor ``x._y`` on an imported module: what another module needs is public.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Set
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("carnet", "dashboard")
SOURCES = {"carnet": ROOT / "sdk" / "carnet", "dashboard": ROOT / "dashboard"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def cycles(imports: Mapping[str, Set[str]]) -> list[list[str]]:
    """Each group of modules that import one another in a circle (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work = [(start, iter(sorted(imports.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(imports.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in imports.get(node, ()):
                        found.append(sorted(group))
    return found


def module_name(path: Path) -> str:
    """``carnet.store.engine`` for sdk/carnet/store/engine.py, ``dashboard`` for its __init__."""
    top = next(name for name, folder in SOURCES.items() if path.is_relative_to(folder))
    parts = [top, *path.relative_to(SOURCES[top]).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reaches(source: str, module: str, modules: Set[str]) -> list[str]:
    """``line: other._name`` for each private name of another of ``modules`` that
    ``source`` (the text of ``module``) imports or reads off an imported module."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}  # local name -> the module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if _is_private(alias.name) and node.module != module:
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                elif target in modules:
                    bound[alias.asname or alias.name] = target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else alias.name.split(".")[0]
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        base, path = node.value, []
        while isinstance(base, ast.Attribute):
            path.insert(0, base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in bound:
            owner = ".".join([bound[base.id], *path])
            if owner in modules and owner != module:
                found.append(f"{node.lineno}: {owner}.{node.attr}")
    return found


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    for package in PACKAGES:
        names = {m for m in graph.modules if m == package or m.startswith(f"{package}.")}
        imports = {m: graph.find_modules_directly_imported_by(m) & names for m in names}
        circles = cycles(imports)
        assert not circles, f"import circles in {package} (break each one): {circles}"


def test_no_private_name_crosses_a_module(graph: grimp.ImportGraph) -> None:
    modules = set(graph.modules)
    reaches = []
    for folder in SOURCES.values():
        for path in sorted(folder.rglob("*.py")):
            name = module_name(path)
            for reach in private_reaches(path.read_text(encoding="utf-8"), name, modules):
                reaches.append(f"{path.relative_to(ROOT)}:{reach}")
    assert not reaches, "make these names public, or move the code that needs them:\n" + (
        "\n".join(reaches)
    )


def test_the_checks_see_what_they_must() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    modules = {"carnet", "carnet.store", "carnet.store.engine", "carnet.client"}
    source = (
        "from carnet.store.engine import _pool, make_engine\n"
        "from carnet.store import engine\n"
        "import carnet.store.engine as eng\n"
        "import carnet\n"
        "def f():\n"
        "    engine._writers\n"
        "    eng._lock\n"
        "    carnet.store.engine._cache\n"
        "    engine.__name__\n"
        "    self._own\n"
    )
    assert private_reaches(source, "carnet.client", modules) == [
        "1: from carnet.store.engine import _pool",
        "6: carnet.store.engine._writers",
        "7: carnet.store.engine._lock",
        "8: carnet.store.engine._cache",
    ]
    assert private_reaches(source, "carnet.store.engine", modules) == []
    assert module_name(SOURCES["carnet"] / "store" / "engine.py") == "carnet.store.engine"
    assert module_name(SOURCES["dashboard"] / "__init__.py") == "dashboard"
