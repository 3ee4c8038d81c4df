"""AST-free writing of the language: keys, string literals and ``order_by`` clauses.

Code that builds a filter or a sort from names it did not choose (the
dashboard's columns, a run id) writes them here, so any key, with dots, spaces,
quotes or back-ticks in it, reads back as itself.
"""

from __future__ import annotations

import re

from carnet.errors import FilterError
from carnet.query.nodes import Kind
from carnet.query.parser import PREFIXES

#: Keys written bare; anything else is quoted (a dot would split it, a space end it).
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_key(prefix: str, key: str) -> str:
    """``quote_key("metrics", "val loss")`` -> ``metrics.`val loss```: a key as the parser reads it.

    The key is bare when it is a plain word, else back-ticked, else (when it holds a
    back-tick itself) double-quoted with inner double quotes doubled. A quoted key is
    never split at its dots, so ``metrics.`loss.min``` is the metric named ``loss.min``,
    not the minimum of ``loss``. ``prefix`` is any prefix the parser knows
    (``metrics``, ``param``, ``attributes`` ...); the canonical plural is written.
    """
    kind = PREFIXES.get(prefix.lower())
    if kind is None:
        known = ", ".join(k.value for k in Kind)
        raise FilterError(f"unknown key prefix {prefix!r}; use one of {known}")
    if not key:
        raise FilterError(f"a {kind.value} key cannot be empty; give the key's name")
    if _PLAIN_KEY.fullmatch(key):
        written = key
    elif "`" not in key:
        written = f"`{key}`"
    else:
        written = '"' + key.replace('"', '""') + '"'
    return f"{kind.value}.{written}"


def quote_string(value: str) -> str:
    """A string literal for a filter (``it's`` -> ``'it''s'``); no text ends it early."""
    return "'" + value.replace("'", "''") + "'"


def format_order_clause(key: str, ascending: bool) -> str:
    """One ``order_by`` clause: ``key`` as written (see :func:`quote_key`) and its direction."""
    return f"{key} {'ASC' if ascending else 'DESC'}"
