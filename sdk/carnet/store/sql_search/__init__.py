"""The SQL of a search: a checked filter AST and order_by keys -> bound SQLAlchemy statements.

The filter language (``carnet.query``) turns text into a checked AST; this
package compiles that AST over the store's tables, one concern per module:

- ``run_filter``: a run filter -> a WHERE condition (correlated EXISTS probes);
- ``like``: LIKE that is case-sensitive on SQLite too;
- ``run_order``: sorting with missing values last, paging, the index walk;
- ``experiment_filter``: experiment filters and their order;
- ``statements``: the SELECTs the store runs (filtered, sorted, paged; a run search
  returns the runs' rows, ``RUN_ROW``, so no second query fetches them);
- ``prepared``: those SELECTs compiled once and run again with the clock rebound;
- ``explain``: the database's plan for one of them.
"""

from carnet.store.sql_search.explain import explain
from carnet.store.sql_search.prepared import (
    PreparedSearch,
    freeze,
    prepared_count_runs,
    prepared_run_search,
)
from carnet.store.sql_search.statements import (
    build_experiment_search,
    build_run_search,
    count_runs,
)

__all__ = [
    "PreparedSearch",
    "build_experiment_search",
    "build_run_search",
    "count_runs",
    "explain",
    "freeze",
    "prepared_count_runs",
    "prepared_run_search",
]
