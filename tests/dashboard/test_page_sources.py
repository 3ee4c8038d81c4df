"""Page modules run as Streamlit scripts, where "magic" writes every bare expression.

A string literal after the module docstring (an attribute docstring under a
constant, say) would be drawn on the page for every viewer, so page modules keep
such notes in ``#:`` comments.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).parents[2] / "dashboard" / "app_pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_module_has_no_bare_string_that_magic_would_draw(page: Path) -> None:
    tree = ast.parse(page.read_text())
    drawn = [
        node.lineno
        for node in tree.body[1:]
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    assert not drawn, f"{page.name}: bare strings on lines {drawn} would be drawn on the page"
