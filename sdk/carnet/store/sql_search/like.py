"""Portable LIKE: case-sensitive on every database, with ``\\`` as the escape.

PostgreSQL's LIKE is case-sensitive; SQLite's ignores ASCII case. So a LIKE
pattern is parsed once here and rendered twice: as a LIKE pattern with an
explicit ``ESCAPE '\\'`` and as the equivalent GLOB pattern, which SQLite
matches case-sensitively. Both renderings are bound parameters; the dialect
picks one when the statement compiles.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Text, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

ESCAPE = "\\"
_ANY, _ONE = object(), object()


def _tokens(pattern: str) -> list[object]:
    """Split a LIKE pattern into literal characters and the ``%``/``_`` wildcards.

    A backslash makes the next character literal; a trailing backslash is itself literal.
    """
    out: list[object] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == ESCAPE and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        out.append(_ANY if char == "%" else _ONE if char == "_" else char)
        i += 1
    return out


def like_pattern(pattern: str) -> str:
    """The pattern for ``LIKE ... ESCAPE '\\'``, with every literal escaped as needed."""
    parts = []
    for tok in _tokens(pattern):
        if tok is _ANY:
            parts.append("%")
        elif tok is _ONE:
            parts.append("_")
        else:
            assert isinstance(tok, str)
            parts.append(ESCAPE + tok if tok in "%_\\" else tok)
    return "".join(parts)


def glob_pattern(pattern: str) -> str:
    """The same pattern in SQLite's GLOB syntax (``*``, ``?``, ``[x]`` for specials)."""
    parts = []
    for tok in _tokens(pattern):
        if tok is _ANY:
            parts.append("*")
        elif tok is _ONE:
            parts.append("?")
        else:
            assert isinstance(tok, str)
            parts.append(f"[{tok}]" if tok in "*?[" else tok)
    return "".join(parts)


class case_sensitive_like(FunctionElement[bool]):
    """``column LIKE pattern`` that is case-sensitive on SQLite too."""

    type = Boolean()
    name = "case_sensitive_like"
    inherit_cache = True


@compiles(case_sensitive_like)
def _like_default(element: case_sensitive_like, compiler: Any, **kw: Any) -> str:
    column, like, _ = list(element.clauses)
    return f"{compiler.process(column, **kw)} LIKE {compiler.process(like, **kw)} ESCAPE '\\'"


@compiles(case_sensitive_like, "sqlite")
def _like_sqlite(element: case_sensitive_like, compiler: Any, **kw: Any) -> str:
    column, _, glob = list(element.clauses)
    return f"{compiler.process(column, **kw)} GLOB {compiler.process(glob, **kw)}"


def like(column: ColumnElement[Any], pattern: str, *, case_sensitive: bool) -> ColumnElement[bool]:
    """``column`` matches the LIKE ``pattern`` (bound, never inlined)."""
    if not case_sensitive:
        return column.ilike(literal(like_pattern(pattern), Text()), escape=ESCAPE)
    return case_sensitive_like(
        column, literal(like_pattern(pattern), Text()), literal(glob_pattern(pattern), Text())
    )
