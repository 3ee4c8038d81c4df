"""The ``ModelRegistry`` protocol: the SQL and REST stores implement each method with the
declared signature, and each method says what it does."""

from __future__ import annotations

import inspect

import pytest

from carnet.store import ModelRegistry
from carnet.store.rest import RestStore
from carnet.store.sql_store import SqlStore


def registry_methods() -> list[str]:
    return sorted(
        name
        for name, value in vars(ModelRegistry).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


def test_the_protocol_has_mlflows_registry_operations() -> None:
    assert len(registry_methods()) == 20
    assert {"create_registered_model", "search_model_versions", "get_model_version_by_alias"} <= (
        set(registry_methods())
    )


@pytest.mark.parametrize("store", [SqlStore, RestStore], ids=["sql", "rest"])
@pytest.mark.parametrize("name", registry_methods())
def test_each_store_has_the_method_with_the_declared_signature(store: type, name: str) -> None:
    ours = inspect.signature(getattr(store, name))
    declared = inspect.signature(getattr(ModelRegistry, name))
    assert ours == declared, f"{store.__name__}.{name}{ours} differs from {declared}"
    doc = inspect.getdoc(getattr(ModelRegistry, name))
    assert doc is not None and len(doc) > 20
