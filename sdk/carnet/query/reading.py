"""Text -> checked AST: the entry points that read filters and ``order_by`` clauses.

A filter is parsed (``parser``), then checked (``validate``); what comes back is
what the store compiles, so a caller that reads a filter here sees exactly the
keys and literals a search would use.
"""

from __future__ import annotations

from collections.abc import Sequence

from carnet.errors import FilterError
from carnet.query.nodes import Aggregate, Comparison, Kind, Node, Not, OrderKey
from carnet.query.parser import parse_filter_syntax, parse_order_clause
from carnet.query.validate import (
    MAX_ORDER_KEYS,
    Entity,
    check_filter,
    check_order_key,
    sort_identity,
)


def parse_filter(text: str | None, *, entity: Entity = "run") -> Node | None:
    """Parse and check a filter; None when it is empty (everything matches)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise FilterError(f"filter_string must be a string, got {type(text).__name__}")
    node = parse_filter_syntax(text)
    return None if node is None else check_filter(node, text, entity)


def parse_order_by(clauses: Sequence[str] | None, *, entity: Entity = "run") -> list[OrderKey]:
    """Parse and check ``order_by`` clauses such as ``["metrics.MSE ASC", "start_time"]``.

    A key named again (in either direction) is dropped: the first clause already
    decided every order the repeat could. At most ``MAX_ORDER_KEYS`` distinct keys
    remain, which keeps the sort's SQL far from SQLite's limits.
    """
    if clauses is None:
        return []
    if isinstance(clauses, str):
        raise FilterError(
            f"order_by must be a list of clauses, got the string {clauses!r}; write [{clauses!r}]"
        )
    keys: list[OrderKey] = []
    seen_text: set[str] = set()
    seen_keys: set[tuple[Kind, str, Aggregate | None]] = set()
    for i, clause in enumerate(clauses):
        if not isinstance(clause, str):
            raise FilterError(
                f"order_by clause {i + 1} must be a string such as "
                f"'metrics.MSE DESC', got {type(clause).__name__}"
            )
        if clause in seen_text:
            continue
        seen_text.add(clause)
        key = check_order_key(parse_order_clause(clause), entity)
        if sort_identity(key) in seen_keys:
            continue
        seen_keys.add(sort_identity(key))
        if len(keys) == MAX_ORDER_KEYS:
            raise FilterError(
                f"order_by sorts by at most {MAX_ORDER_KEYS} different keys, and clause "
                f"{i + 1} ({clause!r}) is key {MAX_ORDER_KEYS + 1}; keep the first "
                f"{MAX_ORDER_KEYS} (each later key only breaks ties left by all before it)"
            )
        keys.append(key)
    return keys


def filter_keys(source: str | Node | None, *, entity: Entity = "run") -> list[tuple[Kind, str]]:
    """The ``(kind, key)`` pairs a filter names, each once, in the order written.

    Keys come out as the search reads them: ``metrics.loss.min`` names the metric
    ``loss``, ``tags.mlflow.runName`` the attribute ``run_name``. So a caller can
    tell a user which named keys no run has (the usual reason nothing matches)
    without reading the language a second time. Text is parsed and checked
    first (a bad filter raises FilterError); a node is taken as already checked.
    """
    node = parse_filter(source, entity=entity) if isinstance(source, str) else source
    found: dict[tuple[Kind, str], None] = {}
    pending: list[Node] = [] if node is None else [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Comparison):
            found.setdefault((item.field.kind, item.field.key))
        elif isinstance(item, Not):
            pending.append(item.item)
        else:
            pending.extend(reversed(item.items))
    return list(found)
