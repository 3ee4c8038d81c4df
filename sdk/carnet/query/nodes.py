"""The filter AST: small frozen records that remember where they came from.

Every node carries its ``start``/``end`` offsets into the source text so a
semantic error found after parsing (LIKE on a metric, a quoted number compared
with a metric) still points a caret at the right character.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

from carnet.errors import FilterError


class Kind(enum.Enum):
    """Which table a key lives in."""

    METRIC = "metrics"
    PARAM = "params"
    TAG = "tags"
    ATTRIBUTE = "attributes"
    #: The datasets a run used (``datasets.name``, ``.digest``, ``.context``).
    DATASET = "datasets"


class Aggregate(enum.Enum):
    """Which per-run summary of a metric's history a comparison reads."""

    LAST = "last"
    MIN = "min"
    MAX = "max"
    COUNT = "count"


class Op(enum.Enum):
    """A comparison operator, spelled as the filter text spells it."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    NOT_LIKE = "NOT LIKE"
    NOT_ILIKE = "NOT ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


ORDERING = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
PATTERN = frozenset({Op.LIKE, Op.ILIKE, Op.NOT_LIKE, Op.NOT_ILIKE})
LISTS = frozenset({Op.IN, Op.NOT_IN})
NULLS = frozenset({Op.IS_NULL, Op.IS_NOT_NULL})
#: Operators that mean "has the key, and the positive form does not hold".
NEGATED = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_LIKE: Op.LIKE, Op.NOT_ILIKE: Op.ILIKE}


@dataclass(frozen=True)
class Field:
    """A key such as ``metrics.loss.min``: its table, key, aggregate and source span."""

    kind: Kind
    key: str
    aggregate: Aggregate | None
    start: int
    end: int

    def label(self) -> str:
        """How the key reads back in messages (prefix, key, aggregate)."""
        plain = all(c.isalnum() or c in "_-./:" for c in self.key)
        key = self.key if plain else f"`{self.key}`"
        if self.kind is Kind.ATTRIBUTE:
            return f"attributes.{key}"
        agg = f".{self.aggregate.value}" if self.aggregate else ""
        return f"{self.kind.value}.{key}{agg}"


@dataclass(frozen=True)
class Value:
    """A literal: a quoted string or a number (always a float, never formatted into SQL)."""

    value: str | float
    start: int
    end: int

    @property
    def is_string(self) -> bool:
        """Whether the literal was quoted text (else a number)."""
        return isinstance(self.value, str)


@dataclass(frozen=True)
class Comparison:
    """``key op value(s)``: the leaf of a filter, with where its operator starts."""

    field: Field
    op: Op
    values: tuple[Value, ...]
    op_start: int
    start: int
    end: int


@dataclass(frozen=True)
class And:
    """Every item holds."""

    items: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Or:
    """At least one item holds."""

    items: tuple[Node, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Not:
    """The item does not hold."""

    item: Node
    start: int
    end: int


#: A node of a checked filter's tree: a comparison, or AND, OR, NOT over nodes.
Node = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` clause: the key and its direction."""

    field: Field
    descending: bool
    clause: str


def _shown(line: str) -> str:
    """The line with control characters replaced one-for-one, so the caret lines up."""
    return "".join(
        " " if c in "\t\r" else ("?" if unicodedata.category(c).startswith("C") else c)
        for c in line
    )


def error_at(source: str, pos: int, message: str, *, what: str = "filter") -> FilterError:
    """A FilterError quoting ``source`` with a caret under ``pos``."""
    pos = max(0, min(pos, len(source)))
    start = source.rfind("\n", 0, pos) + 1
    stop = source.find("\n", pos)
    line = source[start : stop if stop >= 0 else len(source)]
    col = pos - start
    where = f"position {pos}"
    if "\n" in source:
        where = f"line {source.count(chr(10), 0, pos) + 1}, column {col + 1}"
    if len(line) > 110:  # show a window around the caret
        lo = max(0, col - 50)
        hi = min(len(line), lo + 100)
        prefix = "…" if lo else ""
        line = prefix + line[lo:hi] + ("…" if hi < len(line) else "")
        col = col - lo + len(prefix)
    return FilterError(f"invalid {what}: {message} ({where})\n    {_shown(line)}\n    {' ' * col}^")
