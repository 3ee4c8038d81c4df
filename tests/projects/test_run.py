"""``carnet run`` end to end: real child processes logging into a real SQLite store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import carnet
from carnet.cli import cli
from carnet.errors import ProjectError
from carnet.projects import run_project
from tests.projects.helpers import ECHO_SCRIPT, only_run, write_project

MLPROJECT = """
name: echo
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: int
      name: {type: string, default: plain}
    command: "python echo.py {alpha} {epochs} {name}"
  fail:
    command: "python -c 'import sys; sys.exit(3)'"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "echo", {"MLproject": MLPROJECT, "echo.py": ECHO_SCRIPT})


def test_a_project_run_is_recorded_as_mlflow_records_it(project: Path, any_uri: str) -> None:
    uri = any_uri  # a SQLite file and a PostgreSQL schema
    outcome = run_project(
        str(project), parameters={"epochs": "3"}, tracking_uri=uri, run_name="first"
    )
    assert (outcome.status, outcome.returncode) == ("FINISHED", 0)
    run = only_run(uri)
    assert run.info.run_id == outcome.run_id
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert run.data.params == {"alpha": "0.5", "epochs": "3", "name": "plain"}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(project)
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["mlflow.project.backend"] == "local"
    assert tags["mlflow.carnet.project.command"] == "python echo.py 0.5 3 plain"
    # The script's start_run() resumed the project's run instead of starting its own.
    assert tags["child.run_id"] == outcome.run_id
    assert run.data.metrics == {"argc": 3.0}
    assert json.loads((project / "argv.json").read_text()) == ["0.5", "3", "plain"]


def test_a_shell_command_in_a_value_is_never_run(project: Path, uri: str) -> None:
    value = "x; touch pwned1 && $(touch pwned2) `touch pwned3` ' ; touch pwned4 #"
    run_project(str(project), parameters={"epochs": "1", "name": value}, tracking_uri=uri)
    assert json.loads((project / "argv.json").read_text()) == ["0.5", "1", value]
    assert sorted(p.name for p in project.iterdir() if p.name.startswith("pwned")) == []
    assert only_run(uri).data.params["name"] == value


def test_a_failing_command_fails_the_run(project: Path, uri: str) -> None:
    outcome = run_project(str(project), entry_point="fail", tracking_uri=uri)
    assert (outcome.status, outcome.returncode) == ("FAILED", 3)
    assert only_run(uri).info.status == "FAILED"


def test_the_cli_exits_with_the_project_status(project: Path, uri: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "run",
            str(project),
            "-P",
            "epochs=2",
            "-P",
            "alpha=0.25",
            "--db",
            uri,
            "--experiment-name",
            "projects",
        ],
    )
    assert ok.exit_code == 0, ok.output
    run = only_run(uri)
    assert run.data.params["alpha"] == "0.25"
    assert carnet.Client(uri).get_experiment(run.info.experiment_id).name == "projects"
    failed = runner.invoke(cli, ["run", str(project), "-e", "fail", "--db", uri])
    assert failed.exit_code == 3


def test_a_bad_parameter_is_named_and_nothing_is_written(project: Path, uri: str) -> None:
    result = CliRunner().invoke(cli, ["run", str(project), "-P", "epochs=many", "--db", uri])
    assert result.exit_code == 1
    assert "parameter 'epochs' is an int, but 'many' is not a whole number" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(cli, ["run", str(project), "--db", uri])
    assert "needs a value for 'epochs'" in missing.output
    assert not Path(uri.removeprefix("sqlite:///")).exists()  # no run, not even a store


def test_undeclared_parameters_pass_through_as_mlflow_passes_them(project: Path, uri: str) -> None:
    run_project(str(project), parameters={"epochs": "1", "seed": "42"}, tracking_uri=uri)
    assert json.loads((project / "argv.json").read_text()) == ["0.5", "1", "plain", "--seed", "42"]
    assert only_run(uri).data.params["seed"] == "42"


def test_a_project_without_mlproject_runs_its_scripts(tmp_path: Path, uri: str) -> None:
    folder = write_project(tmp_path / "bare", {"main.py": ECHO_SCRIPT})
    outcome = run_project(
        str(folder), entry_point="main.py", parameters={"lr": "0.1"}, tracking_uri=uri
    )
    assert outcome.command == "python main.py --lr 0.1"
    assert json.loads((folder / "argv.json").read_text()) == ["--lr", "0.1"]
    assert only_run(uri).data.tags["mlflow.project.entryPoint"] == "main.py"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"conda.yaml": "name: x\n", "main.py": ""}, "asks for a conda environment"),
        ({"MLproject": "docker_env: {image: python:3.11}\n"}, "Carnet does not run docker"),
    ],
)
def test_conda_and_docker_projects_get_a_clear_error(
    tmp_path: Path, uri: str, files: dict[str, str], message: str
) -> None:
    folder = write_project(tmp_path / "p", files)
    with pytest.raises(ProjectError, match=message):
        run_project(str(folder), entry_point="main.py", env_manager="uv", tracking_uri=uri)
    if "MLproject" not in files:  # conda with MLflow's default manager, through the CLI
        result = CliRunner().invoke(cli, ["run", str(folder), "-e", "main.py", "--db", uri])
        assert result.exit_code == 1
        assert "asks for a conda environment" in result.output
        assert "--env-manager local" in result.output


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A git repository with the project in sub/: commit one says "v1", commit two "v2"
    on main; the branch "old" stays at commit one."""
    root = tmp_path / "repo"
    script = "import sys, carnet\nwith carnet.start_run():\n    carnet.set_tag('v', '{v}')\n"
    mlproject = "entry_points: {main: {command: 'python go.py'}}\n"
    write_project(root / "sub", {"MLproject": mlproject, "go.py": script.format(v="v1")})
    _git(root, "init", "--quiet", "--initial-branch=main")
    _git(root, "add", ".")
    _git(root, "commit", "--quiet", "-m", "one")
    first = _git(root, "rev-parse", "HEAD")
    _git(root, "branch", "old")
    (root / "sub" / "go.py").write_text(script.format(v="v2"))
    _git(root, "commit", "--quiet", "-am", "two")
    return root, first, _git(root, "rev-parse", "HEAD")


def test_a_git_project_runs_at_the_version_asked_for(
    repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    root, first, second = repo
    for version, wanted, commit in ((first, "v1", first), ("old", "v1", first), (None, "v2", None)):
        uri = f"sqlite:///{tmp_path / str(version)}.db"
        if version is None:  # no version: the folder as it is, in place
            run_project(f"{root}#sub", tracking_uri=uri)
        else:
            run_project(f"file://{root}#sub", version=version, tracking_uri=uri)
        run = only_run(uri)
        assert run.data.tags["v"] == wanted
        assert run.data.tags["mlflow.source.git.commit"] == (commit or second)
        assert run.data.tags["mlflow.source.name"].endswith("#sub")
        if version == "old":
            assert run.data.tags["mlflow.source.git.branch"] == "old"
        elif version is not None:
            assert "mlflow.source.git.branch" not in run.data.tags
            assert run.data.tags["mlflow.source.git.repoURL"] == str(root)


@pytest.mark.parametrize(
    ("uri_suffix", "version", "message"),
    [
        ("#sub", "0" * 40, "cannot be checked out"),
        ("#sub", "--upload-pack=touch pwned", "is not a git commit"),
        ("#../etc", None, "'.' may not appear"),
        ("#nowhere", None, "no subdirectory 'nowhere'"),
    ],
)
def test_a_bad_version_or_subdirectory_is_refused(
    repo: tuple[Path, str, str], uri: str, uri_suffix: str, version: str | None, message: str
) -> None:
    root, _, _ = repo
    with pytest.raises(ProjectError, match=message):
        run_project(f"{root}{uri_suffix}", version=version, tracking_uri=uri)
    assert not Path(uri.removeprefix("sqlite:///")).exists()


def test_version_needs_git_and_remote_uris_need_a_known_scheme(project: Path, uri: str) -> None:
    with pytest.raises(ProjectError, match="--version needs a git repository"):
        run_project(str(project), version="main", tracking_uri=uri)
    with pytest.raises(ProjectError, match="neither a folder nor a git URI"):
        run_project("ext::sh -c touch% /tmp/pwned", tracking_uri=uri)


WAITER = """
import os, sys, time
import carnet

client = carnet.Client(os.environ["CARNET_TRACKING_URI"])
open("started", "w").close()
time.sleep(float(sys.argv[-1]))
with open("status", "w") as out:
    out.write(client.get_run(os.environ["MLFLOW_RUN_ID"]).info.status)
"""


def test_the_run_stays_alive_while_the_command_runs(
    tmp_path: Path, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The command starts no run, so only carnet run's own heartbeat keeps the run from
    # reading CRASHED once the timeout has passed.
    monkeypatch.setenv("CARNET_HEARTBEAT_INTERVAL", "0.2")
    monkeypatch.setenv("CARNET_HEARTBEAT_TIMEOUT", "1")
    folder = write_project(tmp_path / "w", {"wait.py": WAITER})
    outcome = run_project(
        str(folder), entry_point="wait.py", parameters={"seconds": "2.5"}, tracking_uri=uri
    )
    assert outcome.status == "FINISHED"
    assert (folder / "status").read_text() == "RUNNING"


def test_ctrl_c_stops_the_command_and_kills_the_run(tmp_path: Path, uri: str) -> None:
    folder = write_project(tmp_path / "w", {"wait.py": WAITER})
    parent = subprocess.Popen(
        [sys.executable, "-m", "carnet.cli", "run", str(folder), "-e", "wait.py",
         "-P", "seconds=600", "--db", uri],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (folder / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    parent.send_signal(signal.SIGINT)  # to carnet run only, not to the command
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 130, err
    assert only_run(uri).info.status == "KILLED"
    assert not (folder / "status").exists()  # the command was stopped before it finished


def test_an_unreachable_git_server_is_one_clear_error(uri: str) -> None:
    result = CliRunner().invoke(cli, ["run", "https://127.0.0.1:9/team/project.git", "--db", uri])
    assert result.exit_code == 1
    assert "Error: git clone failed:" in result.output
    assert "Traceback" not in result.output
    assert not Path(uri.removeprefix("sqlite:///")).exists()


def test_experiment_name_and_id_are_exclusive(project: Path, uri: str) -> None:
    with pytest.raises(ProjectError, match="not both"):
        run_project(str(project), experiment_name="a", experiment_id="0", tracking_uri=uri)


MULTISTEP = {
    "MLproject": """
        entry_points:
          main: {command: python main.py}
          step:
            parameters: {x: int}
            command: python step.py {x}
          bad: {command: python -c 'raise SystemExit(2)'}
    """,
    "main.py": """
        import mlflow

        with mlflow.start_run() as parent:
            step = mlflow.run(".", "step", parameters={"x": 4}, env_manager="local")
            mlflow.set_tag("step", step.run_id)
            mlflow.set_tag("step.status", step.get_status())
            try:
                mlflow.projects.run(".", "bad", env_manager="local")
            except mlflow.exceptions.MlflowException as exc:
                mlflow.set_tag("bad", str(exc))
    """,
    "step.py": """
        import sys
        import mlflow

        with mlflow.start_run():
            mlflow.log_metric("x2", 2 * int(sys.argv[1]))
    """,
}


def test_a_project_runs_other_projects_with_mlflow_run(tmp_path: Path, uri: str) -> None:
    folder = write_project(tmp_path / "multi", MULTISTEP)
    outcome = run_project(str(folder), tracking_uri=uri, experiment_name="multi")
    client = carnet.Client(uri)
    main = client.get_run(outcome.run_id)
    assert main.info.status == "FINISHED"
    assert main.data.tags["step.status"] == "FINISHED"
    step = client.get_run(main.data.tags["step"])
    assert step.data.tags["mlflow.parentRunId"] == outcome.run_id
    assert step.data.tags["mlflow.project.entryPoint"] == "step"
    assert step.info.experiment_id == main.info.experiment_id
    assert (step.data.params, step.data.metrics) == ({"x": "4"}, {"x2": 8.0})
    assert main.data.tags["bad"].endswith("ended FAILED.")
    runs = client.search_runs([main.info.experiment_id])
    assert sorted(r.data.tags["mlflow.project.entryPoint"] for r in runs) == ["bad", "main", "step"]
