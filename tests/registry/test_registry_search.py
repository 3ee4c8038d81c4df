"""MLflow's registry filter grammar, orders and pages, compiled to bound SQL on both backends."""

from __future__ import annotations

import pytest

import carnet
from carnet.errors import FilterError


@pytest.fixture
def filled(client: carnet.Client) -> carnet.Client:
    """Three models: fraud (3 versions), forecast (1), churn (2, one tagged)."""
    for name, count in (("fraud", 3), ("forecast", 1), ("churn", 2)):
        client.create_registered_model(name, tags={"team": "risk" if name == "fraud" else "ops"})
        for i in range(count):
            client.create_model_version(
                name, f"runs:/{name}{i}/model", run_id=f"{name}{i}", tags={"i": str(i)}
            )
    return client


def names(found: list[carnet.RegisteredModel]) -> list[str]:
    return [m.name for m in found]


def versions(found: list[carnet.ModelVersion]) -> list[tuple[str, str]]:
    return [(v.name, v.version) for v in found]


def test_registered_model_filters(filled: carnet.Client) -> None:
    c = filled
    assert names(c.search_registered_models()) == ["churn", "forecast", "fraud"]
    assert names(c.search_registered_models("name LIKE 'f%'")) == ["forecast", "fraud"]
    assert names(c.search_registered_models("name ILIKE 'F%'")) == ["forecast", "fraud"]
    assert names(c.search_registered_models("name LIKE 'F%'")) == []
    assert names(c.search_registered_models("name = 'churn'")) == ["churn"]
    assert names(c.search_registered_models("name != 'churn'")) == ["forecast", "fraud"]
    assert names(c.search_registered_models("tags.team = 'ops'")) == ["churn", "forecast"]
    assert names(c.search_registered_models("tags.team LIKE 'ri%'")) == ["fraud"]
    assert names(c.search_registered_models("name = 'x'' OR ''1''=''1'")) == []


def test_registered_model_order_and_pages(filled: carnet.Client) -> None:
    c = filled
    assert names(c.search_registered_models(order_by=["name DESC"])) == [
        "fraud",
        "forecast",
        "churn",
    ]
    newest_first = c.search_registered_models(order_by=["last_updated_timestamp DESC"])
    assert names(newest_first)[0] == "churn"
    first = c.search_registered_models(max_results=2)
    assert names(first) == ["churn", "forecast"] and first.token
    second = c.search_registered_models(max_results=2, page_token=first.token)
    assert names(second) == ["fraud"] and second.token is None


def test_model_version_filters(filled: carnet.Client) -> None:
    c = filled
    assert len(c.search_model_versions()) == 6
    fraud = c.search_model_versions("name = 'fraud'")
    assert versions(fraud) == [("fraud", "3"), ("fraud", "2"), ("fraud", "1")]
    assert versions(c.search_model_versions("name = 'fraud' AND version_number > 1")) == [
        ("fraud", "3"),
        ("fraud", "2"),
    ]
    assert versions(c.search_model_versions("version_number <= 1", order_by=["name"])) == [
        ("churn", "1"),
        ("forecast", "1"),
        ("fraud", "1"),
    ]
    assert versions(c.search_model_versions("run_id = 'churn1'")) == [("churn", "2")]
    assert versions(
        c.search_model_versions("run_id IN ('churn0', 'fraud2')", order_by=["name ASC"])
    ) == [("churn", "1"), ("fraud", "3")]
    assert versions(c.search_model_versions("source_path LIKE 'runs:/fore%'")) == [
        ("forecast", "1")
    ]
    assert versions(c.search_model_versions("name IN ('forecast')")) == [("forecast", "1")]
    tagged = c.search_model_versions("tags.i = '2'")
    assert versions(tagged) == [("fraud", "3")]


def test_model_version_order_and_pages(filled: carnet.Client) -> None:
    c = filled
    ordered = c.search_model_versions(order_by=["name ASC", "version_number ASC"])
    assert versions(ordered)[:3] == [("churn", "1"), ("churn", "2"), ("forecast", "1")]
    seen: list[tuple[str, str]] = []
    token = None
    while True:
        page = c.search_model_versions(max_results=4, page_token=token)
        seen += versions(page)
        token = page.token
        if token is None:
            break
    assert sorted(seen) == sorted(versions(c.search_model_versions())) and len(seen) == 6


@pytest.mark.parametrize(
    ("search", "text", "where"),
    [
        ("models", "metrics.x > 1", "registered models have no metrics"),
        ("models", "run_id = 'a'", "unknown registered model attribute 'run_id'"),
        ("versions", "version_number = 'one'", "compare with numbers"),
        ("versions", "name = ", "position"),
        ("versions", "source_path > 'a'", "does not apply"),
        ("models", "name LIKE 3", "quoted text"),
    ],
)
def test_bad_filters_name_the_key_or_position(
    filled: carnet.Client, search: str, text: str, where: str
) -> None:
    fn = filled.search_registered_models if search == "models" else filled.search_model_versions
    with pytest.raises(FilterError, match=where):
        fn(text)


def test_bad_order_by_is_refused(filled: carnet.Client) -> None:
    with pytest.raises(FilterError, match="sort by"):
        filled.search_registered_models(order_by=["tags.team"])
    with pytest.raises(FilterError):
        filled.search_model_versions(order_by=["stage DESC"])


def test_mlflows_prompt_filter_keeps_models_without_the_tag(filled: carnet.Client) -> None:
    filled.set_registered_model_tag("churn", "mlflow.prompt.is_prompt", "true")
    text = "name LIKE '%r%' AND tags.`mlflow.prompt.is_prompt` != 'true'"
    assert names(filled.search_registered_models(text)) == ["forecast", "fraud"]
    other = "tags.`mlflow.prompt.is_prompt` = 'false'"
    assert names(filled.search_registered_models(other)) == ["forecast", "fraud"]
    assert len(filled.search_model_versions(text.replace("'%r%'", "'f%'"))) == 4
