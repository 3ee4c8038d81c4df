"""Dump the public tracking API of MLflow or Carnet as JSON (run as a script).

    python tests/compat/api_surface.py mlflow|carnet OUT.json

Run in a fresh interpreter of each venv, so attribute access is checked exactly
as a script sees it right after ``import mlflow`` / ``import carnet as mlflow``:

- ``names``: each of cases.COMMON_NAMES resolved by attribute access after the
  top-level import only, and by importing the longest module prefix;
- ``fluent``: the signature of every public function of the top-level module;
- ``client``: the signature of every public method of ``MlflowClient``, and ``__init__``;
- ``sklearn``: ``log_model``, ``load_model`` and ``autolog`` of the sklearn flavour.

A signature is a list of ``[name, kind, has_default]``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import warnings
from typing import Any

from cases import COMMON_NAMES

warnings.simplefilter("ignore")
IMPL = sys.argv[1]
OUT = sys.argv[2]
top = importlib.import_module(IMPL)


def by_attribute(dotted: str) -> tuple[bool, str]:
    obj: Any = top
    for part in dotted.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"[:300]
    return True, ""


def by_import(dotted: str) -> tuple[bool, str]:
    parts = [IMPL, *dotted.split(".")[1:]]
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"[:300]
        return True, ""
    return False, "ImportError"


def signature(fn: Any) -> list[list[Any]] | str:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return [
        [p.name, p.kind.name, p.default is not inspect.Parameter.empty]
        for p in sig.parameters.values()
    ]


def main() -> None:
    names: dict[str, Any] = {}
    # Attribute access first: nothing below may import a submodule before it.
    for dotted in COMMON_NAMES:
        names[dotted] = {"attr": by_attribute(dotted)}
    for dotted in COMMON_NAMES:
        names[dotted]["import"] = by_import(dotted)

    if IMPL == "carnet":
        public = list(top.__all__)
    else:
        public = [n for n in dir(top) if not n.startswith("_")]
    fluent = {}
    for name in public:
        obj = getattr(top, name, None)
        if inspect.isfunction(obj):
            fluent[name] = signature(obj)

    client_cls = importlib.import_module(f"{IMPL}.tracking").MlflowClient
    client = {"__init__": signature(client_cls.__init__)}
    for name in dir(client_cls):
        if not name.startswith("_") and inspect.isfunction(getattr(client_cls, name)):
            client[name] = signature(getattr(client_cls, name))

    flavor = importlib.import_module(f"{IMPL}.sklearn")
    sklearn = {n: signature(getattr(flavor, n)) for n in ("log_model", "load_model", "autolog")}

    payload = {
        "impl": IMPL,
        "version": getattr(top, "__version__", "?"),
        "names": names,
        "fluent": fluent,
        "client": client,
        "sklearn": sklearn,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
