"""carnet.settings: every environment variable declared once, read when it is used.

The declarations are checked against the code (every variable the code names is
declared, no module reads one behind the registry's back) and against
docs/settings.md; the accessors are checked for parsing, errors and use-time
reads; and the modules that used to freeze a value at import are checked to
honour a value set after import, on both backends where a store is involved.
"""

from __future__ import annotations

import ast
import logging
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

import carnet
from carnet import settings
from carnet.client import async_default
from carnet.errors import ConfigurationError
from carnet.store import schema
from carnet.store.engine import get_engine
from carnet.store.sql_helpers import now_ms

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "settings.md"
#: What Carnet's own processes run: every variable named here must be declared. (The
#: development-only variables of the tests, benchmarks and CI are declared for the docs.)
SOURCES = ["sdk/carnet", "dashboard"]
#: A variable name as code spells it: in quotes, after ``$`` or ``${``, or in backticks.
NAMED = re.compile(r"""["'`$]\{?((?:CARNET|MLFLOW)_[A-Z][A-Z0-9_]*)""")
#: Files that touch a variable only to save and restore it around a change of their own.
SAVE_AND_RESTORE = {"dashboard/bench_hooks.py"}
#: MLflow's tag-name constants (``MLFLOW_RUN_NAME = "mlflow.runName"``): names, not variables.
TAG_NAMES = {"sdk/carnet/utils/mlflow_tags.py"}


# -- the registry against the code and the docs --------------------------------------------


def test_docs_settings_md_is_generated_from_the_module() -> None:
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert current == settings.markdown(), (
        f"docs/settings.md is out of date with sdk/carnet/settings.py; regenerate it from "
        f"the repository root with: {settings.REGENERATE_DOCS}"
    )


def test_the_regenerate_command_writes_the_page(tmp_path: Path) -> None:
    """The command the docs and the failure above give, run as written (with this Python)."""
    program, *args = shlex.split(settings.REGENERATE_DOCS)
    assert program == "python"
    (tmp_path / "docs").mkdir()
    subprocess.run([sys.executable, *args], cwd=tmp_path, check=True, timeout=120)
    assert (tmp_path / "docs" / "settings.md").read_text(encoding="utf-8") == settings.markdown()


def test_every_variable_the_code_names_is_declared() -> None:
    declared = {s.name for s in settings.declared()}
    missing: dict[str, str] = {}
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            if str(path.relative_to(ROOT)) in TAG_NAMES:
                continue
            for name in NAMED.findall(path.read_text(encoding="utf-8")):
                if name not in declared:
                    missing.setdefault(name, str(path.relative_to(ROOT)))
    assert not missing, (
        f"declare these variables in sdk/carnet/settings.py (and regenerate docs/settings.md "
        f"with `{settings.REGENERATE_DOCS}`): {missing}"
    )


def _direct_reads(tree: ast.Module) -> list[str]:
    """``os.environ.get("CARNET_X")``, ``os.getenv(...)``, ``os.environ["X"]`` as a value,
    and ``"X" in os.environ`` for a CARNET_ or MLFLOW_ variable named by a literal."""

    def is_environ(node: ast.AST) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ"

    def variable(node: ast.AST | None) -> str | None:
        text = node.value if isinstance(node, ast.Constant) else None
        return text if isinstance(text, str) and text.startswith(("CARNET_", "MLFLOW_")) else None

    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            reads = isinstance(func, ast.Attribute) and (
                (func.attr == "get" and is_environ(func.value)) or func.attr == "getenv"
            )
            name = variable(node.args[0]) if reads else None
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            name = variable(node.slice) if is_environ(node.value) else None
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            name = variable(node.left)
        if name is not None:
            found.append(f"line {node.lineno}: {name}")
    return found


def test_no_module_reads_a_variable_behind_the_registry() -> None:
    offenders = {}
    for source in ("sdk/carnet", "dashboard"):
        for path in sorted((ROOT / source).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if name == "sdk/carnet/settings.py" or name in SAVE_AND_RESTORE:
                continue
            reads = _direct_reads(ast.parse(path.read_text(encoding="utf-8")))
            if reads:
                offenders[name] = reads
    assert not offenders, f"read these through carnet.settings instead: {offenders}"


def test_the_registry_is_a_leaf_module() -> None:
    """It imports only the standard library and carnet.errors, so any layer may use it."""
    tree = ast.parse((ROOT / "sdk/carnet/settings.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    carnet_modules = {m for m in imported if m.split(".")[0] == "carnet"}
    assert carnet_modules == {"carnet.errors"}
    others = {
        m for m in imported - carnet_modules if m.split(".")[0] not in sys.stdlib_module_names
    }
    assert others == set(), others


def test_each_setting_says_what_it_is() -> None:
    names = [s.name for s in settings.declared()]
    assert len(names) == len(set(names))
    for s in settings.declared():
        assert s.meaning.endswith(".") and s.expects and s.type_name, s.name
        assert s.section in settings.SECTIONS, s.name


# -- parsing -------------------------------------------------------------------------------

BAD_VALUES = [
    (settings.FLUSH_INTERVAL, "fast"),
    (settings.FLUSH_INTERVAL, "0"),
    (settings.FLUSH_INTERVAL, "nan"),
    (settings.HEARTBEAT_TIMEOUT, "-5"),
    (settings.HEARTBEAT_INTERVAL, "inf"),
    (settings.RETRY_TIMEOUT, "-1"),
    (settings.MAX_QUEUED, "1.5"),
    (settings.MAX_QUEUED, "0"),
    (settings.WAL_CHECKPOINT_PAGES, "many"),
    (settings.SAFE_MODE, "maybe"),
    (settings.ASYNC_LOGGING, "2"),
    (settings.SQLITE_SYNCHRONOUS, "sometimes"),
    (settings.UI_SESSION_HOURS, "1000"),
    (settings.PORT, "70000"),
]


@pytest.mark.parametrize(
    ("setting", "text"), BAD_VALUES, ids=[f"{s.name}={t}" for s, t in BAD_VALUES]
)
def test_a_value_that_does_not_parse_names_the_variable_the_value_and_the_fix(
    setting: settings.Setting[object], text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(setting.name, text)
    with pytest.raises(ConfigurationError) as info:
        setting.get()
    message = str(info.value)
    assert f"{setting.name}={text!r}" in message
    assert setting.expects in message
    assert "unset it to use the default" in message


def test_a_relative_artifact_root_is_refused_with_the_entry_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", "/srv/a:relative/folder")
    with pytest.raises(ConfigurationError, match="lists 'relative/folder', which is not an abs"):
        settings.ARTIFACT_ROOTS.get()


def test_good_values_parse_to_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        "CARNET_FLUSH_INTERVAL": (" 2.5 ", 2.5),
        "CARNET_RETRY_TIMEOUT": ("0", 0.0),
        "CARNET_MAX_QUEUED": ("1000", 1000),
        "CARNET_SAFE_MODE": ("TRUE", True),
        "CARNET_PG_NULLPOOL": ("off", False),
        "CARNET_SQLITE_SYNCHRONOUS": ("full", "FULL"),
        "CARNET_ARTIFACT_ROOTS": ("/srv/a::/srv/b", (Path("/srv/a"), Path("/srv/b"))),
        "CARNET_UI_PASSWORD": (" spaced ", " spaced "),  # a password is taken as typed
    }
    by_name = {s.name: s for s in settings.declared()}
    for name, (text, expected) in cases.items():
        monkeypatch.setenv(name, text)
        assert by_name[name].get() == expected, name


def test_unset_and_empty_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARNET_FLUSH_INTERVAL", raising=False)
    assert settings.FLUSH_INTERVAL.get() == 0.5
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "")
    assert settings.FLUSH_INTERVAL.get() == 0.5
    assert not settings.FLUSH_INTERVAL.is_set() and settings.FLUSH_INTERVAL.raw() is None
    monkeypatch.setenv("CARNET_MAX_QUEUED", "")
    assert settings.MAX_QUEUED.get() == 250_000


def test_get_reads_the_environment_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module was imported long ago; each change is seen, and so is the return to unset."""
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "5")
    assert settings.HEARTBEAT_TIMEOUT.get() == 5.0
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "7.5")
    assert settings.HEARTBEAT_TIMEOUT.get() == 7.5
    monkeypatch.delenv("CARNET_HEARTBEAT_TIMEOUT")
    assert settings.HEARTBEAT_TIMEOUT.get() == 60.0


def test_background_reads_report_a_bad_value_once_and_use_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="carnet")
    monkeypatch.setenv("CARNET_FLUSH_INTERVAL", "soon")
    assert settings.FLUSH_INTERVAL.get_or_default() == 0.5
    assert settings.FLUSH_INTERVAL.get_or_default() == 0.5
    [record] = caplog.records
    assert "CARNET_FLUSH_INTERVAL='soon'" in record.getMessage()


# -- the modules that read them: a value set after import is used ---------------------------


def _age_run(tracking: str, run_id: str, seconds: float) -> None:
    """Make a RUNNING run's last heartbeat ``seconds`` old."""
    with get_engine(tracking).begin() as conn:
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_uuid == run_id)
            .values(heartbeat_time=now_ms() - int(seconds * 1000))
        )


def test_the_crash_timeout_is_read_at_each_read(
    client: carnet.Client, tracking: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("settings")).info.run_id
    _age_run(tracking, run_id, 120)
    assert client.get_run(run_id).info.status == "CRASHED"  # the default: 60 s
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "3600")
    assert client.get_run(run_id).info.status == "RUNNING"
    experiment_id = client.get_run(run_id).info.experiment_id
    found = client.search_runs([experiment_id], "attributes.status = 'RUNNING'")
    assert [r.info.run_id for r in found] == [run_id]
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="CARNET_HEARTBEAT_TIMEOUT='soon'"):
        client.get_run(run_id)


def test_a_bad_queue_limit_fails_the_buffered_call_and_writes_nothing(
    client: carnet.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("settings")).info.run_id
    monkeypatch.setenv("CARNET_MAX_QUEUED", "lots")
    with pytest.raises(ConfigurationError, match="CARNET_MAX_QUEUED='lots'"):
        client.log_metric(run_id, "loss", 0.5, synchronous=False)
    client.flush()
    assert client.get_metric_history(run_id, "loss") == []


def test_the_sqlite_pragmas_follow_the_environment_of_each_new_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_SQLITE_SYNCHRONOUS", "full")
    monkeypatch.setenv("CARNET_WAL_CHECKPOINT_PAGES", "321")
    store = carnet.Client(f"sqlite:///{tmp_path / 'full.db'}").store
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 321


def test_tracking_defaults_follow_the_environment_set_after_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not carnet.is_tracking_uri_set()
    monkeypatch.setenv("CARNET_TRACKING_URI", str(tmp_path / "late.db"))
    assert carnet.is_tracking_uri_set()
    assert carnet.get_tracking_uri() == f"sqlite:///{tmp_path / 'late.db'}"
    assert not async_default()
    monkeypatch.setenv("CARNET_ASYNC_LOGGING", "yes")
    assert async_default()
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-mlflow")
    with carnet.start_run() as run:
        pass
    experiment = carnet.get_experiment(run.info.experiment_id)
    assert experiment is not None and experiment.name == "from-mlflow"


def test_safe_mode_follows_the_environment_until_code_decides() -> None:
    """In a fresh process: CARNET_SAFE_MODE set after import turns it on; the functions win."""
    code = (
        "import os, carnet; "
        "before = carnet.is_safe_mode_enabled(); "
        "os.environ['CARNET_SAFE_MODE'] = 'true'; "
        "after = carnet.is_safe_mode_enabled(); "
        "carnet.disable_safe_mode(); "
        "print(before, after, carnet.is_safe_mode_enabled())"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT / 'sdk'}:{ROOT}"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "False"]
