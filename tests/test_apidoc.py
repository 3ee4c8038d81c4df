"""docs/api.md is what tests/apidoc.py writes from the docstrings, and covers the surface."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import carnet
from carnet import query
from tests import apidoc


def headings(text: str) -> set[str]:
    return set(re.findall(r"^#+ `([^`]+)`$", text, flags=re.M))


def test_docs_api_md_is_generated_from_the_docstrings() -> None:
    current = apidoc.DOCS.read_text(encoding="utf-8") if apidoc.DOCS.exists() else ""
    assert current == apidoc.markdown(), (
        "docs/api.md is out of date with the docstrings; regenerate it from the repository "
        f"root with: {apidoc.REGENERATE}"
    )


def test_the_regenerate_command_writes_the_page(tmp_path: Path) -> None:
    """The command the failure above gives, run as written (with this Python)."""
    program, *args = apidoc.REGENERATE.split()
    assert program == "python"
    target = tmp_path / "api.md"
    subprocess.run([sys.executable, *args, str(target)], cwd=apidoc.ROOT, check=True, timeout=300)
    assert target.read_text(encoding="utf-8") == apidoc.markdown()


def test_the_page_covers_the_public_surface() -> None:
    listed = headings(apidoc.markdown())
    exported = {f"carnet.{n}" for n in carnet.__all__ if n not in apidoc.ALIASES}
    methods = {
        f"Client.{name}"
        for name in vars(carnet.Client)
        if not name.startswith("_") and callable(getattr(carnet.Client, name))
    }
    language = {f"carnet.query.{n}" for n in query.__all__}
    subpackages = {
        f"{package}.{n}"
        for package, _ in apidoc.SUBPACKAGES
        for n in importlib.import_module(package).__all__
    }
    missing = (exported | methods | language | subpackages) - listed
    assert not missing, f"docs/api.md lacks {sorted(missing)}"
    for error in ("carnet.errors.ConfigurationError", "carnet.errors.ReadOnlyError"):
        assert error in listed


def test_every_lazily_loaded_subpackage_has_a_section() -> None:
    """``carnet.<name>`` that load on first touch (as ``mlflow.sklearn``) are on the page."""
    documented = {package for package, _ in apidoc.SUBPACKAGES}
    for package in documented:
        assert importlib.import_module(package).__all__
    source = (apidoc.ROOT / "sdk" / "carnet" / "__init__.py").read_text(encoding="utf-8")
    lazy = re.search(r"^_LAZY_SUBMODULES = \((.*?)\)$", source, flags=re.M | re.S)
    assert lazy is not None
    names = {f"carnet.{n}" for n in re.findall(r'"(\w+)"', lazy.group(1))}
    assert names <= documented, (
        f"add {sorted(names - documented)} to SUBPACKAGES in tests/apidoc.py"
    )


def test_docstrings_become_markdown() -> None:
    doc = (
        "Summary with :func:`carnet.log_metric` and a <tag>.\n"
        "\n"
        "Args:\n"
        "    key: the name,\n"
        "        continued.\n"
        "    model_id, dataset: refused.\n"
        "\n"
        "The tree::\n"
        "\n"
        "    <name>/\n"
        "      MLmodel\n"
    )
    assert apidoc.markdown_of(doc) == (
        "Summary with ``carnet.log_metric`` and a &lt;tag>.\n"
        "\n"
        "**Arguments**\n"
        "\n"
        "- `key`: the name, continued.\n"
        "- `model_id`, `dataset`: refused.\n"
        "\n"
        "The tree:\n"
        "\n"
        "    <name>/\n"
        "      MLmodel"
    )
