"""Filter and order_by text -> AST -> bound SQLAlchemy expressions."""
