"""The ``carnet`` CLI through click's test runner: every command, its output and its errors."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import carnet
from carnet.cli import cli, main
from carnet.cli import ui as ui_module


@pytest.fixture
def store(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store with an experiment 'sweep' of three runs and an empty 'other'."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    client = carnet.Client(uri)
    exp = client.create_experiment("sweep", tags={"team": "med"})
    client.create_experiment("other")
    for i, alpha in enumerate([0.01, 0.1, 1.0]):
        run = client.create_run(exp, run_name=f"run-{i}")
        rid = run.info.run_id
        client.log_batch(
            rid,
            metrics=[("rmse", 60.0 - 10 * i + s, 1_700_000_000_000 + s, s) for s in range(3)],
            params=[("alpha", alpha), ("solver", "lbfgs")],
            tags=[("team", "med" if i else "ops")],
        )
        client.log_text(rid, f"notes {i}", "notes.txt")
        client.set_terminated(rid, "FINISHED")
    return uri


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: str) -> str:
    """The command exits 1 with a one-line 'Error: ...' on stderr and no traceback."""
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def run_ids(uri: str, experiment: str = "sweep") -> dict[str, str]:
    out = ok("runs", "list", "--db", uri, "-e", experiment, "--format", "json", "--all")
    return {r["run_name"]: r["run_id"] for r in json.loads(out)}


# -- help and errors ---------------------------------------------------------------------


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _all_commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


@pytest.mark.parametrize("path", _all_commands(cli), ids=lambda p: " ".join(p) or "carnet")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    out = ok(*path, "--help")
    assert out.startswith("Usage: ")
    assert "-h, --help" in out


def test_top_level_lists_the_command_groups() -> None:
    out = ok("--help")
    for name in ("ui", "experiments", "runs", "export", "gc", "db", "import-mlflow"):
        assert f"  {name} " in out


def test_main_exits_non_zero_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["runs", "show", "nope", "--db", str(tmp_path / "x.db")])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: no Carnet store at ") and err.count("\n") == 1


def test_python_m_carnet_cli_runs(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    for args, expected in (
        (["experiments", "create", "demo"], "created experiment 'demo' with id 1"),
        (["experiments", "list"], "(2 experiments)"),  # demo and the Default every store has
    ):
        out = subprocess.run(
            [sys.executable, "-m", "carnet.cli", *args, "--db", db],
            capture_output=True,
            text=True,
            check=True,
        )
        assert expected in out.stdout


# -- ui ------------------------------------------------------------------------------------


def test_ui_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app.py"
    monkeypatch.setattr(ui_module, "dashboard_app", lambda: app)
    out = ok(
        "ui", "--db", str(tmp_path / "c.db"), "--port", "8600", "--host", "0.0.0.0", "--dry-run"
    )
    assert out.split() == [
        sys.executable, "-m", "dashboard.serve", "run", str(app),
        "--server.address", "0.0.0.0", "--server.port", "8600",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--", "--db", f"sqlite:///{tmp_path / 'c.db'}",
    ]  # fmt: skip


def test_ui_warns_about_a_missing_store_and_an_open_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui_module, "dashboard_app", lambda: tmp_path / "app.py")
    result = run("ui", "--db", str(tmp_path / "none.db"), "--host", "0.0.0.0", "--dry-run")
    assert result.exit_code == 0
    assert f"note: no store at {tmp_path / 'none.db'} yet" in result.stderr
    assert "without --password-env" in result.stderr
    monkeypatch.setenv("PW", "x")
    quiet = run("ui", "--db", str(tmp_path / "none.db"), "--password-env", "PW", "--dry-run")
    assert "password" not in quiet.stderr


def test_ui_uses_the_tracking_uri_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui_module, "dashboard_app", lambda: tmp_path / "app.py")
    monkeypatch.setenv("CARNET_TRACKING_URI", str(tmp_path / "env.db"))
    assert ok("ui", "--dry-run").split()[-1] == f"sqlite:///{tmp_path / 'env.db'}"


def test_ui_password_env_must_be_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_module, "dashboard_app", lambda: tmp_path / "app.py")
    monkeypatch.delenv("TEAM_PW", raising=False)
    assert "export TEAM_PW=<password>" in fails("ui", "--password-env", "TEAM_PW", "--dry-run")


def test_ui_rejects_a_bad_port() -> None:
    result = run("ui", "--port", "70000")
    assert result.exit_code == 2 and "70000" in result.stderr


def test_dashboard_app_is_found(tmp_path: Path) -> None:
    """As installed: in a fresh process, away from the repository (under pytest,
    tests/dashboard/ shadows the ``dashboard`` package on sys.path)."""
    code = "from carnet.cli.ui import dashboard_app; print(dashboard_app())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    app = Path(out.stdout.strip())
    assert app.name == "app.py" and app.parent.name == "dashboard" and app.is_file()
    assert app.parent.parent.name != "tests"


def test_missing_dashboard_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_module.importlib.util, "find_spec", lambda name: None)
    assert "dashboard is not installed" in fails("ui", "--dry-run")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_ui_serves_streamlit(tmp_path: Path) -> None:
    """The real command starts Streamlit on the port asked for, and stops on SIGTERM."""
    app = tmp_path / "app.py"
    app.write_text("import streamlit as st\nst.write('hello')\n")
    port = _free_port()
    code = textwrap.dedent(f"""
        import pathlib, carnet.cli.ui as u
        u.dashboard_app = lambda: pathlib.Path({str(app)!r})
        from carnet.cli import main
        main(["ui", "--db", {str(tmp_path / "c.db")!r}, "--port", "{port}"])
    """)
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = ""
        while time.monotonic() < deadline and proc.poll() is None and not health:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.3)
        assert health == "ok" and proc.poll() is None, "Streamlit did not answer"
        with urllib.request.urlopen(f"{url}/", timeout=5) as r:
            assert r.status == 200
    finally:
        os.killpg(proc.pid, 15)
        out, _ = proc.communicate(timeout=30)
    assert f"Carnet dashboard on {url}" in out


# -- experiments ---------------------------------------------------------------------------


def test_experiments_list_table_and_json(store: str) -> None:
    out = ok("experiments", "list", "--db", store)
    header, rule, *rows = out.splitlines()
    assert header.split()[:5] == ["experiment_id", "name", "lifecycle_stage", "runs", "created"]
    assert set(rule) <= {"-", " "}
    assert any(r.split()[1] == "sweep" and r.split()[3] == "3" for r in rows)
    assert out.rstrip().endswith("(3 experiments)")  # with the Default every store has
    listed = json.loads(ok("experiments", "list", "--db", store, "--format", "json"))
    assert {e["name"]: e["runs"] for e in listed} == {"sweep": 3, "other": 0, "Default": 0}


def test_experiments_create_rename_delete_restore(store: str) -> None:
    out = ok("experiments", "create", "new one", "--db", store, "--tag", "team=ml")
    assert out.startswith("created experiment 'new one' with id ")
    new_id = out.split()[-1]
    assert carnet.Client(store).get_experiment(new_id).tags == {"team": "ml"}
    assert ok("experiments", "rename", "new one", "renamed", "--db", store) == (
        f"renamed experiment {new_id}: 'new one' -> 'renamed'\n"
    )
    assert "deleted experiment 'renamed'" in ok("experiments", "delete", new_id, "--db", store)
    assert "renamed" not in ok("experiments", "list", "--db", store)
    assert "renamed" in ok("experiments", "list", "--db", store, "--deleted")
    assert ok("experiments", "restore", "renamed", "--db", store) == (
        f"restored experiment 'renamed' (id {new_id})\n"
    )
    assert "renamed" in ok("experiments", "list", "--db", store)


def test_experiment_errors_are_one_line(store: str) -> None:
    assert "already exists" in fails("experiments", "create", "sweep", "--db", store)
    assert "no experiment named or numbered 'nope'" in fails(
        "experiments", "delete", "nope", "--db", store
    )
    assert "KEY=VALUE" in fails("experiments", "create", "x", "--tag", "novalue", "--db", store)


# -- runs ----------------------------------------------------------------------------------


def test_runs_list_table(store: str) -> None:
    out = ok("runs", "list", "--db", store)
    lines = out.splitlines()
    assert lines[0].split() == [
        "run_id", "run_name", "experiment_id", "status", "start_time",
        "metrics.rmse", "params.alpha", "params.solver",
    ]  # fmt: skip
    assert len(lines) == 2 + 3 + 1 and lines[-1] == "(3 runs)"
    assert {line.split()[1] for line in lines[2:5]} == {"run-0", "run-1", "run-2"}
    assert all("FINISHED" in line for line in lines[2:5])


def test_runs_search_filter_order_columns_limit(store: str) -> None:
    out = ok(
        "runs", "search", "metrics.rmse < 55", "--db", store,
        "--order-by", "metrics.rmse ASC", "--columns", "run_name,metrics.*,params.alpha",
    )  # fmt: skip
    lines = out.splitlines()
    assert lines[0].split() == ["run_name", "metrics.rmse", "params.alpha"]
    assert [line.split() for line in lines[2:4]] == [["run-2", "42", "1.0"], ["run-1", "52", "0.1"]]
    assert lines[-1] == "(2 runs)"
    limited = ok(
        "runs", "list", "--db", store, "--filter", "params.alpha >= 0.1",
        "--order-by", "metrics.rmse DESC", "--limit", "1", "--columns", "run_name",
    )  # fmt: skip
    assert limited.splitlines()[2] == "run-1" and limited.splitlines()[-1] == "(1 run)"


def test_runs_csv_and_json(store: str) -> None:
    text = ok("runs", "list", "--db", store, "--format", "csv", "--order-by", "params.alpha")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["params.alpha"] for r in rows] == ["0.01", "0.1", "1.0"]
    assert [float(r["metrics.rmse"]) for r in rows] == [62.0, 52.0, 42.0]
    records = json.loads(ok("runs", "search", "--filter", "tags.team = 'ops'", "--db", store,
                            "--format", "json", "--columns", "run_name,tags.team"))  # fmt: skip
    assert records == [{"run_name": "run-0", "tags.team": "ops"}]


def test_runs_search_errors(store: str) -> None:
    assert fails("runs", "search", "metrics.rmse <", "--db", store).startswith("Error: ")
    assert "no column 'bogus'" in fails("runs", "list", "--columns", "bogus", "--db", store)
    assert "either as an argument or with --filter" in fails(
        "runs", "search", "metrics.rmse < 1", "--filter", "metrics.rmse < 2", "--db", store
    )


def test_runs_list_of_an_empty_experiment(store: str) -> None:
    assert ok("runs", "list", "-e", "other", "--db", store) == "no runs\n"


def test_runs_show(store: str) -> None:
    rid = run_ids(store)["run-1"]
    out = ok("runs", "show", rid, "--db", store)
    assert f"run_id        {rid}" in out
    assert "experiment    sweep (id 1)" in out
    assert "status        FINISHED" in out
    for section in ("params (2)", "metrics (1)", "artifacts (1)"):
        assert section in out
    metric_line = next(line for line in out.splitlines() if line.startswith("rmse"))
    assert metric_line.split() == ["rmse", "52", "50", "52", "3", "2"]
    assert any(line.split() == ["notes.txt", "7"] for line in out.splitlines())
    data = json.loads(ok("runs", "show", rid, "--db", store, "--format", "json"))
    assert data["params"] == {"alpha": "0.1", "solver": "lbfgs"}
    assert data["metrics"]["rmse"] == {"last": 52.0, "min": 50.0, "max": 52.0, "count": 3,
                                       "step": 2}  # fmt: skip
    assert data["info"]["experiment_name"] == "sweep"
    assert data["artifacts"] == [{"path": "notes.txt", "is_dir": False, "file_size": 7}]


def test_runs_delete_and_restore(store: str) -> None:
    rid = run_ids(store)["run-0"]
    assert ok("runs", "delete", rid, "--db", store) == f"deleted run {rid}\n"
    assert "run-0" not in ok("runs", "list", "--db", store)
    assert "run-0" in ok("runs", "list", "--db", store, "--deleted")
    assert ok("runs", "restore", rid, "--db", store) == f"restored run {rid}\n"
    assert "run-0" in ok("runs", "list", "--db", store)
    assert "no run with id" in fails("runs", "delete", "f" * 32, "--db", store)


# -- export --------------------------------------------------------------------------------


def test_export_csv_and_parquet(store: str, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    assert ok("export", "sweep", "--db", store, "-o", str(target)) == (
        f"wrote 3 runs of 'sweep' to {target}\n"
    )
    frame = pd.read_csv(target)
    assert len(frame) == 3
    assert {"run_id", "status", "start_time", "metrics.rmse", "params.alpha", "tags.team"} <= set(
        frame.columns
    )
    parquet = tmp_path / "out.parquet"
    ok("export", "1", "--db", store, "--format", "parquet", "-o", str(parquet))
    back = pd.read_parquet(parquet)
    assert sorted(back["params.alpha"]) == ["0.01", "0.1", "1.0"]
    assert sorted(back["metrics.rmse"]) == [42.0, 52.0, 62.0]
    assert "exists; pass --force" in fails("export", "sweep", "--db", store, "-o", str(target))
    ok("export", "sweep", "--db", store, "-o", str(target), "--force", "--filter",
       "metrics.rmse < 50")  # fmt: skip
    assert len(pd.read_csv(target)) == 1


def test_export_to_a_missing_folder_is_one_line(store: str, tmp_path: Path) -> None:
    line = fails("export", "sweep", "--db", store, "-o", str(tmp_path / "no" / "x.csv"))
    assert "OSError" in line or "FileNotFoundError" in line
    assert line.endswith("(set CARNET_DEBUG=1 to see the traceback)")


def test_export_defaults_to_the_experiment_name_and_stdout(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ok("export", "sweep", "--db", store)
    assert len(pd.read_csv(tmp_path / "sweep.csv")) == 3
    text = ok("export", "sweep", "--db", store, "-o", "-")
    assert len(pd.read_csv(io.StringIO(text))) == 3
    assert "Parquet cannot go to stdout" in fails(
        "export", "sweep", "--db", store, "-o", "-", "--format", "parquet"
    )


# -- gc ------------------------------------------------------------------------------------


def test_gc_purges_deleted_runs_and_their_artifacts(store: str) -> None:
    client = carnet.Client(store)
    ids = run_ids(store)
    doomed = ids["run-0"]
    folder = client.get_artifact_path(doomed).parent
    assert folder.name == doomed and folder.is_dir()
    ok("runs", "delete", doomed, "--db", store)
    out = ok("gc", "--db", store, "--dry-run")
    assert out.splitlines()[:2] == [
        "would purge 1 run, 0 experiments and 0 logged models",
        "would free 1 artifact folder (7 B)",
    ]
    assert folder.is_dir()
    out = ok("gc", "--db", store)
    assert out.splitlines()[0] == "purged 1 run, 0 experiments and 0 logged models"
    assert f"  run {doomed}" in out.splitlines()
    assert not folder.exists()
    assert "no run with id" in fails("runs", "show", doomed, "--db", store)
    assert set(run_ids(store)) == {"run-1", "run-2"}
    assert (
        ok("gc", "--db", store).splitlines()[0]
        == "purged 0 runs, 0 experiments and 0 logged models"
    )


def test_gc_purges_deleted_experiments(store: str) -> None:
    ok("experiments", "delete", "sweep", "--db", store)
    out = ok("gc", "--db", store)
    assert out.splitlines()[0] == "purged 3 runs, 1 experiment and 0 logged models"
    assert "sweep" not in ok("experiments", "list", "--db", store, "--all")
    assert "created experiment 'sweep'" in ok("experiments", "create", "sweep", "--db", store)


# -- db ------------------------------------------------------------------------------------


def test_db_check_and_upgrade(store: str) -> None:
    out = ok("db", "check", "--db", store)
    assert "schema version:  2 (this Carnet: 2)" in out or "schema version:" in out
    assert out.rstrip().endswith("ok")
    report = json.loads(ok("db", "check", "--db", store, "--format", "json"))
    assert report["ok"] is True and report["schema_version"] == report["code_schema_version"]
    assert ok("db", "upgrade", "--db", store).startswith("schema already at version ")


def test_db_check_of_a_missing_store_fails(tmp_path: Path) -> None:
    assert "no Carnet store" in fails("db", "check", "--db", str(tmp_path / "missing.db"))
