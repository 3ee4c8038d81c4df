"""Filter and order_by text -> AST, by recursive descent over the characters.

A scanner-less parser: what a character means depends on where it is (a
double-quoted text is a key on the left of an operator and a value on its
right), and working on the raw text keeps every offset exact for the caret in
error messages. Grammar, loosest binding first::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := key op value | key ["NOT"] "IN" "(" value ("," value)* ")"
                | key "IS" ["NOT"] "NULL"
    key        := part ("." part)*          part := bare | `back-ticked` | "double-quoted"
    value      := number | 'single-quoted' | "double-quoted"

This module checks only the shape; ``validate`` checks what the keys and
operators mean (a LIKE on a metric, an unknown attribute).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from carnet.errors import FilterError
from carnet.query.nodes import (
    LISTS,
    NULLS,
    Aggregate,
    And,
    Comparison,
    Field,
    Kind,
    Node,
    Not,
    Op,
    Or,
    OrderKey,
    Value,
    error_at,
)

PREFIXES: dict[str, Kind] = {
    "metrics": Kind.METRIC,
    "metric": Kind.METRIC,
    "params": Kind.PARAM,
    "param": Kind.PARAM,
    "parameters": Kind.PARAM,
    "parameter": Kind.PARAM,
    "tags": Kind.TAG,
    "tag": Kind.TAG,
    "attributes": Kind.ATTRIBUTE,
    "attribute": Kind.ATTRIBUTE,
    "attr": Kind.ATTRIBUTE,
    "run": Kind.ATTRIBUTE,
    "datasets": Kind.DATASET,
    "dataset": Kind.DATASET,
}
_AGGREGATES = {a.value: a for a in Aggregate}
_KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "is", "null", "asc", "desc"}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BARE = re.compile(r"[\w\-/:]+")
_WORD = re.compile(r"\w+")
_OPERATORS = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL"

#: Limits that keep a pasted monster from reaching the database's own limits or
#: Python's recursion limit (``validate`` bounds the nesting of the logic itself).
MAX_LENGTH = 1_000_000
MAX_DEPTH = 50
MAX_COMPARISONS = 200
MAX_VALUES = 10_000


def is_number(text: str) -> bool:
    """Whether ``text`` spells a number the way a filter literal would."""
    m = _NUMBER.fullmatch(text.strip())
    return m is not None


class _Parser:
    def __init__(self, text: str, what: str = "filter") -> None:
        self.text = text
        self.what = what
        self.pos = 0
        self.depth = 0
        self.comparisons = 0
        self.values = 0

    # -- scanning helpers -------------------------------------------------
    def fail(self, pos: int, message: str) -> NoReturn:
        raise error_at(self.text, pos, message, what=self.what)

    def ws(self) -> int:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos
        return pos

    def at_end(self) -> bool:
        return self.ws() >= len(self.text)

    def found(self, pos: int | None = None) -> str:
        """What sits at ``pos``, for 'expected X, found Y' messages."""
        pos = self.pos if pos is None else pos
        if pos >= len(self.text):
            return f"the end of the {self.what}"
        chunk = self.text[pos:].split(None, 1)[0] if not self.text[pos].isspace() else ""
        return repr(chunk[:20] + ("…" if len(chunk) > 20 else ""))

    def word(self) -> str:
        """The keyword-like word at the cursor, lowercased ('' if none)."""
        m = _WORD.match(self.text, self.ws())
        if m is None:
            return ""
        nxt = self.text[m.end() : m.end() + 1]
        return "" if nxt and nxt in ".`\"'" else m.group().lower()

    def keyword(self, *words: str) -> str | None:
        w = self.word()
        if w in words:
            self.pos += len(w)
            return w
        return None

    def quoted(self, quote: str, what: str) -> str:
        """Read a quoted text at the cursor; a doubled quote stands for itself."""
        opened = self.pos
        i, parts = opened + 1, []
        while True:
            j = self.text.find(quote, i)
            if j < 0:
                self.fail(opened, f"unterminated {what}: the {quote} opened here is never closed")
            parts.append(self.text[i:j])
            if self.text.startswith(quote, j + 1):
                parts.append(quote)
                i = j + 2
                continue
            self.pos = j + 1
            return "".join(parts)

    # -- boolean structure ------------------------------------------------
    def parse_filter(self) -> Node:
        node = self.parse_or("at the start of the filter")
        pos = self.ws()
        if pos < len(self.text):
            if self.text[pos] == ")":
                self.fail(pos, "unbalanced ')': no '(' before it")
            self.fail(pos, f"expected AND, OR or the end of the filter, found {self.found()}")
        return node

    def _chain(self, word: str, inner: Callable[[str], Node], context: str) -> list[Node]:
        items = [inner(context)]
        while self.keyword(word):
            items.append(inner(f"after {word.upper()}"))
        return items

    def parse_or(self, context: str) -> Node:
        start = self.ws()
        items = self._chain("or", self.parse_and, context)
        return items[0] if len(items) == 1 else Or(tuple(items), start, self.pos)

    def parse_and(self, context: str) -> Node:
        start = self.ws()
        items = self._chain("and", self.parse_not, context)
        return items[0] if len(items) == 1 else And(tuple(items), start, self.pos)

    def _nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(pos, f"nested deeper than {MAX_DEPTH} levels; simplify the filter")

    def parse_not(self, context: str) -> Node:
        start = self.ws()
        if self.keyword("not"):
            self._nest(start)
            item = self.parse_not("after NOT")
            self.depth -= 1
            return Not(item, start, self.pos)
        if start < len(self.text) and self.text[start] == "(":
            self._nest(start)
            self.pos += 1
            node = self.parse_or("after '('")
            pos = self.ws()
            if not self.text.startswith(")", pos):
                self.fail(
                    pos, f"expected ')' to close the '(' at position {start}, found {self.found()}"
                )
            self.pos += 1
            self.depth -= 1
            return node
        return self.parse_comparison(context)

    # -- comparisons ------------------------------------------------------
    def parse_comparison(self, context: str) -> Comparison:
        start = self.ws()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            self.fail(start, f"more than {MAX_COMPARISONS} comparisons; simplify the filter")
        field = self.parse_field(context)
        op_start = self.ws()
        op = self.parse_op(field)
        values = self.parse_values(field, op)
        return Comparison(field, op, values, op_start, start, self.pos)

    def parse_field(self, context: str) -> Field:
        """A key: a prefix and dot-separated parts, each bare, back-ticked or double-quoted."""
        start = self.ws()
        w = self.word()
        if w in _KEYWORDS or start >= len(self.text) or self.text[start] in "'+-.()0123456789":
            self.fail(
                start,
                f"expected a key such as metrics.MSE, params.alpha or tags.team "
                f"{context}, found {self.found()}",
            )
        parts: list[tuple[str, bool]] = []
        while True:
            pos = self.pos
            char = self.text[pos : pos + 1]
            if char == "`":
                end = self.text.find("`", pos + 1)
                if end < 0:
                    self.fail(pos, "unterminated back-tick: the ` opened here is never closed")
                parts.append((self.text[pos + 1 : end], True))
                self.pos = end + 1
            elif char == '"':
                parts.append((self.quoted('"', "quoted key"), True))
            else:
                m = _BARE.match(self.text, pos)
                if m is None:
                    self.fail(pos, f"expected a key after '.', found {self.found(pos)}")
                parts.append((m.group(), False))
                self.pos = m.end()
            if parts[-1][0] == "":
                self.fail(pos, "empty key; write a name between the quotes")
            if not self.text.startswith(".", self.pos):
                break
            self.pos += 1
        return self._classify(parts, start)

    def _classify(self, parts: list[tuple[str, bool]], start: int) -> Field:
        end = self.pos
        first = parts[0][0]
        kind = PREFIXES.get(first.lower())
        if len(parts) == 1:
            if kind is not None and not parts[0][1]:
                self.fail(end, f"expected '.' and a key after '{first}', as in {first}.MSE")
            return Field(Kind.ATTRIBUTE, first, None, start, end)
        if kind is None:
            self.fail(
                start,
                f"unknown prefix '{first}'; use metrics., params., tags., datasets. or "
                "attributes. (or metric., param., tag., attr., run.)",
            )
        rest = parts[1:]
        aggregate = None
        last, quoted = rest[-1]
        if kind is Kind.METRIC and len(rest) >= 2 and not quoted and last in _AGGREGATES:
            aggregate = _AGGREGATES[last]
            rest = rest[:-1]
        return Field(kind, ".".join(p for p, _ in rest), aggregate, start, end)

    def parse_op(self, field: Field) -> Op:
        pos = self.ws()
        two = self.text[pos : pos + 2]
        symbols = {"!=": Op.NE, "<>": Op.NE, "<=": Op.LE, ">=": Op.GE}
        if two in symbols:
            self.pos += 2
            return symbols[two]
        if two == "==":
            self.fail(pos, "use '=' to compare, not '=='")
        one = {"=": Op.EQ, "<": Op.LT, ">": Op.GT}.get(two[:1])
        if one is not None:
            self.pos += 1
            return one
        word = self.keyword("like", "ilike", "in", "not", "is")
        if word == "not":
            after = self.keyword("like", "ilike", "in")
            if after is None:
                self.fail(self.ws(), f"expected LIKE, ILIKE or IN after NOT, found {self.found()}")
            return Op("NOT " + after.upper())
        if word == "is":
            negated = self.keyword("not") is not None
            if self.keyword("null") is None:
                self.fail(
                    self.ws(),
                    f"expected NULL after IS{' NOT' if negated else ''}, found {self.found()}",
                )
            return Op.IS_NOT_NULL if negated else Op.IS_NULL
        if word is not None:
            return Op(word.upper())
        shown = self.text[field.start : field.end]
        self.fail(
            pos,
            f"expected a comparison operator ({_OPERATORS}) after {shown}, found {self.found()}",
        )

    def parse_values(self, field: Field, op: Op) -> tuple[Value, ...]:
        if op in NULLS:
            return ()
        shown = f"{self.text[field.start : field.end]} {op.value}"
        if op not in LISTS:
            return (self.parse_value(f"after '{shown}'"),)
        pos = self.ws()
        if not self.text.startswith("(", pos):
            self.fail(
                pos,
                f"expected '(' after {op.value}, as in {op.value} ('a', 'b'), found {self.found()}",
            )
        self.pos += 1
        if self.text.startswith(")", self.ws()):
            self.fail(self.pos, f"the {op.value} list is empty; give at least one value")
        values = [self.parse_value(f"in the {op.value} list")]
        while True:
            pos = self.ws()
            if self.text.startswith(",", pos):
                self.pos += 1
                values.append(self.parse_value(f"after ',' in the {op.value} list"))
            elif self.text.startswith(")", pos):
                self.pos += 1
                return tuple(values)
            else:
                self.fail(pos, f"expected ',' or ')' in the {op.value} list, found {self.found()}")

    def parse_value(self, context: str) -> Value:
        pos = self.ws()
        self.values += 1
        if self.values > MAX_VALUES:
            self.fail(pos, f"more than {MAX_VALUES} values; narrow the filter")
        char = self.text[pos : pos + 1]
        if char in ("'", '"'):
            return Value(self.quoted(char, "string"), pos, self.pos)
        m = _NUMBER.match(self.text, pos)
        if m is not None:
            nxt = self.text[m.end() : m.end() + 1]
            if not nxt or not (nxt.isalnum() or nxt in "_.`'\""):
                self.pos = m.end()
                return Value(float(m.group()), pos, self.pos)
        if self.word() == "null":
            self.fail(pos, "to test for a missing key use IS NULL or IS NOT NULL")
        self.fail(
            pos,
            f"expected a value (a number or a quoted string) {context}, found "
            f"{self.found()}; quote text values, as in 'lbfgs'",
        )


def _check_text(text: str, what: str) -> None:
    """Refuse text too long to be a query, and characters no database driver would accept."""
    if len(text) > MAX_LENGTH:
        raise FilterError(
            f"invalid {what}: {len(text):,} characters, over the limit of {MAX_LENGTH:,}; "
            "shorten it (a long IN list can often be a range or a LIKE pattern)"
        )
    if "\x00" in text:
        raise error_at(text, text.index("\x00"), "NUL characters are not allowed", what=what)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error_at(text, exc.start, "not valid Unicode text", what=what) from None


def parse_filter_syntax(text: str) -> Node | None:
    """Parse a filter's shape; None for an empty filter (everything matches)."""
    _check_text(text, "filter")
    if not text.strip():
        return None
    return _Parser(text).parse_filter()


def parse_order_clause(clause: str) -> OrderKey:
    """Parse one ``order_by`` clause such as ``metrics.MSE DESC``."""
    what = "order_by clause"
    _check_text(clause, what)
    parser = _Parser(clause, what)
    if parser.at_end():
        parser.fail(0, "empty order_by clause; write a key such as 'metrics.MSE DESC'")
    field = parser.parse_field("at the start of the clause")
    direction = parser.keyword("asc", "desc")
    pos = parser.ws()
    if pos < len(clause):
        if clause[pos] == ",":
            parser.fail(
                pos,
                "one key per order_by clause: pass a list such as "
                "['metrics.MSE ASC', 'params.alpha DESC']",
            )
        parser.fail(pos, f"expected ASC, DESC or the end of the clause, found {parser.found()}")
    return OrderKey(field, direction == "desc", clause)


def split_order_by(text: str) -> list[str]:
    """The clauses of an ``order_by`` kept as one comma-separated text, as the parser reads them.

    A URL or a command line holds ``metrics.`a,b` ASC, start_time`` as one string;
    commas inside quotes or back-ticks belong to a key, so only the parser can tell
    where one clause ends. Empty text has no clauses; text that is not a list of
    clauses raises FilterError with a caret.
    """
    what = "order_by"
    _check_text(text, what)
    parser = _Parser(text, what)
    clauses: list[str] = []
    if parser.at_end():
        return clauses
    while True:
        start = parser.ws()
        parser.parse_field("at the start of a clause")
        end = parser.pos
        if parser.keyword("asc", "desc") is not None:
            end = parser.pos
        clauses.append(text[start:end])
        pos = parser.ws()
        if pos >= len(text):
            return clauses
        if text[pos] != ",":
            parser.fail(pos, f"expected ASC, DESC, ',' or the end, found {parser.found()}")
        parser.pos += 1
