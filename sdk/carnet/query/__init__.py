"""The filter language: text -> AST -> checked AST, and keys and clauses back to text.

Pure: no database, no SQLAlchemy. The store compiles the checked AST to SQL
(``carnet.store.sql_search``); the dashboard and the CLI read and write the
language through the functions here and never lex it themselves. Anything wrong
with a text raises :class:`carnet.errors.FilterError` with a caret under the
offending position.

Modules: ``nodes`` (the AST), ``parser`` (shape), ``validate`` (meaning),
``reading`` (the checked entry points), ``writing`` (keys, literals, clauses).
"""

from carnet.query.nodes import Aggregate, Field, Kind, Node, OrderKey
from carnet.query.parser import split_order_by
from carnet.query.reading import filter_keys, parse_filter, parse_order_by
from carnet.query.validate import Entity
from carnet.query.writing import format_order_clause, quote_key, quote_string

__all__ = [
    "Aggregate",
    "Entity",
    "Field",
    "Kind",
    "Node",
    "OrderKey",
    "filter_keys",
    "format_order_clause",
    "parse_filter",
    "parse_order_by",
    "quote_key",
    "quote_string",
    "split_order_by",
]
