"""SQL persistence: tables, engines, transactions, the write primitive."""
