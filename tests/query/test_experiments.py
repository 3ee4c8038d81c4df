"""search_experiments' filters: names, ids, times and experiment tags."""

from __future__ import annotations

import pytest

from carnet.entities import ViewType
from carnet.errors import FilterError

from .conftest import Store


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, ["diabetes", "other"]),
        ("name = 'diabetes'", ["diabetes"]),
        ("attributes.name != 'diabetes'", ["other"]),
        ("name LIKE 'd%'", ["diabetes"]),
        ("name LIKE 'D%'", []),
        ("name ILIKE 'D%'", ["diabetes"]),
        ("name IN ('other', 'nope')", ["other"]),
        ("tags.team = 'bio'", ["other"]),
        ("tags.team LIKE '%-ai'", ["diabetes"]),
        ("tags.project IS NULL", ["other"]),
        ("tags.project IS NOT NULL", ["diabetes"]),
        ("tags.project != 'x'", ["diabetes"]),
        ("NOT tags.project = 'enet'", ["other"]),
        ("creation_time > 1500", ["other"]),
        ("last_update_time >= 3000 AND creation_time < 1500", ["diabetes"]),
        ("experiment_id = 2", ["other"]),
        ("experiment_id = '2'", ["other"]),
        ("experiment_id IN (1, 3)", ["diabetes"]),
        ("tags.team = 'bio' OR name = 'diabetes'", ["diabetes", "other"]),
        ("name = 'x'' OR 1=1 --'", []),
    ],
)
def test_experiment_filters(store: Store, filter_string: str | None, expected: list[str]) -> None:
    assert store.experiments(filter_string) == expected


def test_experiment_views_order_and_pages(store: Store) -> None:
    assert store.experiments(view=ViewType.ALL) == ["diabetes", "other", "archived"]
    assert store.experiments(view=ViewType.DELETED_ONLY) == ["archived"]
    assert store.experiments(order_by=["name DESC"]) == ["other", "diabetes"]
    assert store.experiments(order_by=["creation_time DESC"]) == ["other", "diabetes"]
    assert store.experiments(order_by=["experiment_id"]) == ["diabetes", "other"]
    assert store.experiments(order_by=["attributes.last_update_time ASC"]) == ["other", "diabetes"]
    assert store.experiments(view=ViewType.ALL, limit=1, offset=1) == ["other"]
    assert store.experiments(limit=0) == []


@pytest.mark.parametrize(
    ("filter_string", "order_by", "fragment"),
    [
        ("metrics.MSE < 1", None, "experiments have no metrics"),
        ("params.alpha = 1", None, "experiments have no params"),
        ("run_name = 'x'", None, "unknown experiment attribute 'run_name'"),
        ("name > 'a'", None, "> does not apply to attributes.name"),
        ("experiment_id = 'abc'", None, "attributes.experiment_id is a whole number"),
        ("experiment_id = 1.5", None, "is a whole number"),
        ("creation_time > 'soon'", None, "ISO date"),
        (None, ["tags.team"], "experiments sort by name, experiment_id, creation_time"),
        (None, ["metrics.MSE"], "experiments have no metrics"),
        (None, ["status"], "unknown experiment attribute 'status'"),
    ],
)
def test_experiment_errors(
    store: Store, filter_string: str | None, order_by: list[str] | None, fragment: str
) -> None:
    with pytest.raises(FilterError) as info:
        store.experiments(filter_string, order_by)
    assert fragment in str(info.value)
