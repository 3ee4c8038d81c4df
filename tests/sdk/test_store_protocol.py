"""The Store protocol: the SQL and REST stores implement it, Client and the layers above use
only it, open_store picks the backend by URI, and the store package has no import circles or
private reach-ins."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import carnet
from carnet.errors import ReadOnlyError
from carnet.store import RemoteArtifactStore, Store, open_store
from carnet.store.logged_model_protocol import LoggedModelStoreProtocol, RemoteModelArtifacts
from carnet.store.rest import RestStore
from carnet.store.sql_store import SqlStore

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "carnet"
STORE = SDK / "store"


def protocol_methods() -> list[str]:
    """The public methods the protocol declares, its parts included (the logged-model one);
    its attributes are checked apart."""
    parts = [Store, LoggedModelStoreProtocol]
    return sorted(
        {
            name
            for part in parts
            for name, value in vars(part).items()
            if not name.startswith("_") and inspect.isfunction(value)
        }
    )


def protocol_members() -> set[str]:
    return set(protocol_methods()) | set(Store.__annotations__)


def artifact_methods() -> list[str]:
    """The methods of the protocols of stores that keep artifacts (of runs, of logged
    models) behind their API."""
    return sorted(
        name
        for part in (RemoteArtifactStore, RemoteModelArtifacts)
        for name, value in vars(part).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


#: The surface a new backend must provide; a change here is a change for every backend.
EXPECTED = {
    "store": ["check_writable", "data_version", "reconnect"],
    "experiments": [
        "create_experiment",
        "delete_experiment",
        "delete_experiment_tag",
        "get_experiment",
        "get_experiment_by_name",
        "rename_experiment",
        "restore_experiment",
        "search_experiments",
        "set_experiment_tags",
    ],
    "runs": [
        "create_run",
        "delete_run",
        "delete_tag",
        "get_run",
        "heartbeat",
        "log_batch",
        "log_inputs",
        "restore_run",
        "resume_run",
        "set_terminated",
        "update_run",
    ],
    "reads": [
        "count_runs",
        "get_metric_histories",
        "get_metric_history",
        "get_metric_history_page",
        "get_metric_history_sampled",
        "inputs_of",
        "list_keys",
        "search_run_columns",
        "search_runs",
    ],
    "artifacts": ["run_artifact_root"],
    "environment records": ["get_environment_record", "put_environment_record"],
    "logged models": [
        "create_logged_model",
        "delete_logged_model",
        "delete_logged_model_tag",
        "finalize_logged_model",
        "get_logged_model",
        "log_logged_model_metrics",
        "log_logged_model_params",
        "log_outputs",
        "logged_model_artifact_root",
        "search_logged_models",
        "set_logged_model_tags",
    ],
}


def test_the_protocol_is_what_client_needs_and_no_more() -> None:
    assert set(Store.__annotations__) == {"uri", "read_only"}
    assert protocol_methods() == sorted(name for names in EXPECTED.values() for name in names)


@pytest.mark.parametrize("name", protocol_methods())
def test_sql_store_has_each_protocol_method_with_the_same_signature(name: str) -> None:
    ours = inspect.signature(getattr(SqlStore, name))
    declared = inspect.signature(getattr(Store, name))
    assert ours == declared, f"SqlStore.{name}{ours} differs from Store.{name}{declared}"


@pytest.mark.parametrize("name", protocol_methods())
def test_rest_store_has_each_protocol_method_with_the_same_signature(name: str) -> None:
    ours = inspect.signature(getattr(RestStore, name))
    declared = inspect.signature(getattr(Store, name))
    assert ours == declared, f"RestStore.{name}{ours} differs from Store.{name}{declared}"


@pytest.mark.parametrize("name", artifact_methods())
def test_rest_store_keeps_artifacts_behind_its_api_with_the_same_signatures(name: str) -> None:
    ours = inspect.signature(getattr(RestStore, name))
    part = RemoteArtifactStore if hasattr(RemoteArtifactStore, name) else RemoteModelArtifacts
    declared = inspect.signature(getattr(part, name))
    assert ours == declared, f"RestStore.{name}{ours} differs from the protocol's {declared}"
    assert not hasattr(SqlStore, name), f"SqlStore.{name} would send Client's artifacts away"


@pytest.mark.parametrize("name", protocol_methods())
def test_each_protocol_method_says_what_it_does(name: str) -> None:
    doc = inspect.getdoc(getattr(Store, name))
    assert doc is not None and len(doc) > 20


def test_open_store_gives_a_store_and_client_holds_it(any_uri: str) -> None:
    store = open_store(any_uri)
    assert isinstance(store, Store) and isinstance(store, SqlStore)
    assert store.uri == any_uri and store.read_only is False
    client = carnet.Client(any_uri)
    assert isinstance(client.store, Store)
    experiment_id = client.create_experiment("through the protocol")
    assert store.get_experiment(experiment_id).name == "through the protocol"


def test_open_store_takes_a_bare_path_as_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = open_store(str(path))
    assert store.uri == f"sqlite:///{path}"
    assert path.is_file()


def test_a_read_only_store_refuses_writes_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    carnet.Client(str(path)).create_experiment("kept")
    store = open_store(str(path), read_only=True)
    with pytest.raises(ReadOnlyError, match="read-only"):
        store.check_writable()
    with pytest.raises(ReadOnlyError):
        store.create_experiment("refused")
    assert store.get_experiment_by_name("refused") is None


@pytest.mark.parametrize(
    ("uri", "normalised"),
    [
        ("http://tracker.example:5000", "http://tracker.example:5000"),
        ("HTTPS://tracker.example/", "https://tracker.example"),
    ],
)
def test_open_store_gives_the_rest_store_for_a_server_without_calling_it(
    uri: str, normalised: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(uri, read_only=True)
    assert isinstance(store, RestStore) and isinstance(store, Store)
    assert isinstance(store, RemoteArtifactStore) and not isinstance(store, SqlStore)
    assert store.uri == normalised and store.read_only is True
    with pytest.raises(ReadOnlyError, match="read-only"):
        store.check_writable()
    client = carnet.Client(uri)
    assert client.store.uri == normalised and client.tracking_uri == normalised
    assert list(tmp_path.iterdir()) == []  # no file made, and no server was asked anything


def test_search_experiments_pages_through_tokens(any_uri: str) -> None:
    store = open_store(any_uri)
    names = [f"exp-{i}" for i in range(5)]
    for name in names:
        store.create_experiment(name)
    seen: list[str] = []
    token = None
    for _ in range(3):
        page, token = store.search_experiments(
            max_results=2, order_by=["name ASC"], page_token=token
        )
        seen += [e.name for e in page]
        if token is None:
            break
    assert seen == ["Default", *names] and token is None  # MLflow's Default is there too
    everything, last = store.search_experiments(max_results=None)
    assert {e.name for e in everything} >= set(names) and last is None


def test_search_run_columns_are_what_the_frame_is_built_from(any_uri: str) -> None:
    client = carnet.Client(any_uri)
    experiment_id = client.create_experiment("columns")
    for alpha in ("0.1", "0.2"):
        run = client.create_run(experiment_id)
        client.log_batch(run.info.run_id, [("loss", float(alpha), 1, 0)], [("alpha", alpha)])
    columns = client.store.search_run_columns([experiment_id], order_by=["params.alpha ASC"])
    assert columns["params.alpha"] == ["0.1", "0.2"]
    assert columns["metrics.loss"] == [0.1, 0.2]
    frame = client.search_runs_frame([experiment_id], order_by=["params.alpha ASC"])
    assert list(frame.columns) == list(columns)
    assert list(frame["run_id"]) == columns["run_id"]


# -- what may reach the store, and how ------------------------------------------------------


def _above_the_store() -> list[Path]:
    """Modules that must use only the protocol: the public API, CLI, server, dashboard,
    and the buffered writer. The SQL-only tools (maintenance, purge, the MLflow importer)
    take a SQL store on purpose."""
    files = [
        p
        for p in SDK.rglob("*.py")
        if STORE not in p.parents and "mlflow_import" not in p.parts and p.stem != "mlflow_import"
    ]
    files += [STORE / "writer.py", *(ROOT / "dashboard").rglob("*.py")]
    return sorted(files)


def test_code_above_the_store_calls_only_protocol_members() -> None:
    allowed = protocol_members() | set(artifact_methods())
    reached: list[str] = []
    for path in _above_the_store():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "store"
                and node.attr not in allowed
            ):
                reached.append(f"{path.relative_to(ROOT)}:{node.lineno} .store.{node.attr}")
    assert reached == []


def _store_imports() -> dict[str, list[tuple[str, list[str]]]]:
    """Each store module's imports of carnet modules (anywhere in it): (module, names)."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for path in STORE.rglob("*.py"):
        parts = path.relative_to(SDK.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: list[tuple[str, list[str]]] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(a.name, []) for a in node.names]
        out[module] = [(m, names) for m, names in found if m.startswith("carnet")]
    return out


def test_no_private_name_is_imported_from_another_module() -> None:
    private = [
        f"{module} imports {name} from {source}"
        for module, imports in _store_imports().items()
        for source, names in imports
        for name in names
        if name.startswith("_") and source != module
    ]
    assert private == []


def test_store_modules_import_each_other_without_a_circle() -> None:
    imports = _store_imports()
    edges: dict[str, set[str]] = {}
    for module, found in imports.items():
        targets: set[str] = set()
        for source, names in found:
            submodules = {f"{source}.{n}" for n in names} & imports.keys()
            targets |= submodules or ({source} & imports.keys())
        edges[module] = targets - {module}
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(edges[module]):
            if target in path:
                circles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert circles == []
