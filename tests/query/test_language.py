"""The filter language on its own: pure (no SQL, no store), and what it writes reads back.

``carnet.query`` sits below the store: it may import the standard library,
``carnet.errors`` and ``carnet.entities`` and nothing else, which these tests
check twice, statically over every module's source and at run time in a fresh
interpreter that never executes ``carnet/__init__.py`` (which pulls in the
public API above the language).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import carnet.query
from carnet.errors import FilterError
from carnet.query import (
    Aggregate,
    Kind,
    filter_keys,
    format_order_clause,
    parse_filter,
    parse_order_by,
    quote_key,
    quote_string,
    split_order_by,
)
from carnet.query.nodes import Comparison
from carnet.query.parser import parse_filter_syntax

SPEC = importlib.util.find_spec("carnet")
assert SPEC is not None and SPEC.submodule_search_locations is not None
CARNET = Path(next(iter(SPEC.submodule_search_locations)))
#: What the language may import from Carnet: itself and the bottom layer.
ALLOWED_CARNET = ("carnet.query", "carnet.errors", "carnet.entities")


def _imports(path: Path, package: str) -> list[str]:
    """Every module a source file imports, at any depth (function bodies included)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.append(base)
            if base == "carnet":  # ``from carnet import store`` imports a submodule
                names.extend(f"carnet.{alias.name}" for alias in node.names)
    return names


def _sources() -> list[tuple[Path, str]]:
    """The language's modules and the two bottom-layer modules it builds on."""
    out = [(p, "carnet.query") for p in sorted((CARNET / "query").glob("*.py"))]
    out += [(CARNET / "errors.py", "carnet"), (CARNET / "entities.py", "carnet")]
    return out


def test_the_scan_sees_every_module() -> None:
    names = {p.name for p, _ in _sources()}
    assert {"__init__.py", "nodes.py", "parser.py", "validate.py", "reading.py"} <= names


@pytest.mark.parametrize(("path", "package"), _sources(), ids=lambda v: getattr(v, "name", v))
def test_source_imports_only_the_standard_library_and_the_bottom_layer(
    path: Path, package: str
) -> None:
    wrong = []
    for name in _imports(path, package):
        top = name.split(".")[0]
        if top == "carnet":
            if name != "carnet" and not name.startswith(ALLOWED_CARNET):
                wrong.append(name)
        elif top not in sys.stdlib_module_names and top != "__future__":
            wrong.append(name)
    assert wrong == [], f"{path.name} imports {wrong}"


def test_importing_and_using_the_language_loads_no_sql_and_no_store() -> None:
    """A fresh interpreter loads ``carnet.query`` under an empty ``carnet`` package (so the
    public API's own imports do not count), uses every entry point, and lists what loaded."""
    code = textwrap.dedent(
        f"""
        import sys, types
        before = set(sys.modules)
        pkg = types.ModuleType("carnet")
        pkg.__path__ = [{str(CARNET)!r}]
        sys.modules["carnet"] = pkg
        import carnet.query as q
        q.parse_filter("metrics.loss.min < 1 and params.a IN ('x', 2) or not tags.t LIKE 'a%'")
        q.parse_order_by(["metrics.MSE DESC", "start_time"])
        q.filter_keys("status = 'FINISHED' and tags.`a b` IS NULL")
        q.split_order_by(q.format_order_clause(q.quote_key("params", "l1 ratio"), True))
        q.quote_string("it's")
        carnet_modules = [m for m in sys.modules if m.startswith("carnet.")]
        third_party = [
            m for m in set(sys.modules) - before
            if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "carnet"
        ]
        print(repr((sorted(carnet_modules), sorted(third_party))))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded_carnet, loaded_other = ast.literal_eval(out.strip())
    assert "carnet.query.reading" in loaded_carnet  # the probe really ran the language
    assert [m for m in loaded_carnet if not m.startswith(ALLOWED_CARNET)] == []
    assert loaded_other == []


def test_all_is_the_public_surface() -> None:
    public = {
        name
        for name, value in vars(carnet.query).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(carnet.query.__all__) == public


# -- writing keys, literals and clauses ---------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "key", "written"),
    [
        ("metrics", "MSE", "metrics.MSE"),
        ("metric", "MSE", "metrics.MSE"),
        ("Params", "alpha", "params.alpha"),
        ("attributes", "start_time", "attributes.start_time"),
        ("metrics", "val loss", "metrics.`val loss`"),
        ("metrics", "loss.min", "metrics.`loss.min`"),
        ("tags", "mlflow.user", "tags.`mlflow.user`"),
        ("tags", "a,b", "tags.`a,b`"),
        ("params", "a`b", 'params."a`b"'),
        ("params", 'a`b"c', 'params."a`b""c"'),
        ("tags", "9lives", "tags.`9lives`"),
    ],
)
def test_quote_key(prefix: str, key: str, written: str) -> None:
    assert quote_key(prefix, key) == written


def test_quote_key_refuses_what_cannot_be_written() -> None:
    with pytest.raises(FilterError, match="unknown key prefix 'metrix'"):
        quote_key("metrix", "MSE")
    with pytest.raises(FilterError, match="cannot be empty"):
        quote_key("params", "")


def test_quote_string_and_order_clause() -> None:
    assert quote_string("it's") == "'it''s'"
    assert format_order_clause("metrics.`val loss`", True) == "metrics.`val loss` ASC"
    assert format_order_clause("start_time", False) == "start_time DESC"


#: Any key a run may carry: quotes, back-ticks, dots, commas, spaces and aggregate names.
KEYS = st.lists(
    st.one_of(
        st.sampled_from([*"`\"'., ()_-ab", ".min", ".max", "count"]),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    min_size=1,
    max_size=8,
).map("".join)
PREFIXES = st.sampled_from(["metrics", "params", "tags"])


@settings(max_examples=300, deadline=None)
@given(
    prefix=PREFIXES,
    key=KEYS,
    value=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
)
def test_any_key_and_value_read_back_as_themselves(prefix: str, key: str, value: str) -> None:
    node = parse_filter_syntax(f"{quote_key(prefix, key)} = {quote_string(value)}")
    assert isinstance(node, Comparison)
    assert (node.field.kind.value, node.field.key, node.field.aggregate) == (prefix, key, None)
    assert node.values[0].value == value


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.tuples(PREFIXES, KEYS, st.booleans()), min_size=1, max_size=4))
def test_any_sort_reads_back_through_split_and_parse(keys: list[tuple[str, str, bool]]) -> None:
    clauses = [format_order_clause(quote_key(p, k), asc) for p, k, asc in keys]
    assert split_order_by(", ".join(clauses)) == clauses
    for (prefix, key, asc), clause in zip(keys, clauses, strict=True):
        (parsed,) = parse_order_by([clause])
        if (prefix, key) != ("tags", "mlflow.runName"):
            assert (parsed.field.kind.value, parsed.field.key) == (prefix, key)
        assert parsed.descending is not asc


# -- reading: clauses of a text, keys of a filter -----------------------------------------


def test_split_order_by() -> None:
    assert split_order_by("") == [] and split_order_by("  ") == []
    assert split_order_by("metrics.`a,b` ASC, start_time DESC,params.x") == [
        "metrics.`a,b` ASC",
        "start_time DESC",
        "params.x",
    ]
    assert split_order_by('tags."x, ""y""" desc') == ['tags."x, ""y""" desc']


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.MSE UP", "expected ASC, DESC, ',' or the end, found 'UP' (position 12)"),
        ("metrics.MSE,, start_time", "found ',' (position 12)"),
        ("metrics.MSE,", "at the start of a clause, found the end of the order_by"),
        ("metrics.`MSE DESC", "unterminated back-tick"),
    ],
)
def test_split_order_by_errors_point_at_the_problem(text: str, message: str) -> None:
    with pytest.raises(FilterError, match="invalid order_by") as info:
        split_order_by(text)
    assert message in str(info.value)


def test_filter_keys_lists_keys_as_the_search_reads_them() -> None:
    text = (
        "metrics.MSE < 1 and (params.alpha > 0 or not metrics.loss.min < 2) "
        "and metric.MSE > 0 and tags.mlflow.runName = 'x' and tags.`a b` IS NULL "
        "and metrics.`loss.min` > 0 and created > 0"
    )
    assert filter_keys(text) == [
        (Kind.METRIC, "MSE"),
        (Kind.PARAM, "alpha"),
        (Kind.METRIC, "loss"),
        (Kind.ATTRIBUTE, "run_name"),
        (Kind.TAG, "a b"),
        (Kind.METRIC, "loss.min"),
        (Kind.ATTRIBUTE, "start_time"),
    ]
    assert filter_keys(parse_filter("params.a = 1 or params.a = 2")) == [(Kind.PARAM, "a")]
    assert filter_keys(None) == [] and filter_keys("") == []
    assert filter_keys("tags.team = 'a'", entity="experiment") == [(Kind.TAG, "team")]


def test_filter_keys_of_a_bad_filter_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="does not apply to metrics"):
        filter_keys("metrics.MSE LIKE 'a%'")


def test_order_keys_keep_their_aggregate() -> None:
    (key,) = parse_order_by([format_order_clause("metrics.`val.min`.max", False)])
    assert (key.field.key, key.field.aggregate, key.descending) == ("val.min", Aggregate.MAX, True)
