"""Compare two signatures dumped by api_surface.py: can a call written for MLflow's
function call Carnet's the same way?"""

from __future__ import annotations

from typing import Any

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
VARIADIC = ("VAR_POSITIONAL", "VAR_KEYWORD")


def call_problems(mlflow_sig: list[list[Any]], carnet_sig: list[list[Any]]) -> list[str]:
    """What breaks when MLflow-style calls reach Carnet's function, one line per problem.

    - ``missing: x``: MLflow accepts the keyword ``x``, Carnet does not (a ``**kwargs``
      on Carnet's side does not count: nothing says it means the same thing);
    - ``position: x``: MLflow takes ``x`` as the n-th positional argument, Carnet takes
      something else there (or ``x`` only by keyword);
    - ``required: x``: Carnet requires ``x`` but MLflow does not.
    """
    problems: list[str] = []
    m_names = {p[0] for p in mlflow_sig if p[1] not in VARIADIC}
    c_params = {p[0]: p for p in carnet_sig if p[1] not in VARIADIC}
    m_positional = [p[0] for p in mlflow_sig if p[1] in POSITIONAL]
    c_positional = [p[0] for p in carnet_sig if p[1] in POSITIONAL]
    problems += [f"missing: {name}" for name in sorted(m_names - set(c_params))]
    for index, name in enumerate(m_positional):
        if name not in c_params:
            continue
        if index >= len(c_positional) or c_positional[index] != name:
            problems.append(f"position: {name}")
    m_required = {p[0] for p in mlflow_sig if p[1] not in VARIADIC and not p[2]}
    for name, (_, kind, has_default) in c_params.items():
        if not has_default and kind not in VARIADIC and name not in m_required:
            problems.append(f"required: {name}")
    return problems
