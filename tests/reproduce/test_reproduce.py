"""carnet reproduce: real repositories, real environments, the same store, metrics compared."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import carnet
from carnet import capture
from carnet.entities import Run, RunData, RunInfo
from carnet.errors import EnvironmentBuildError, InvalidInputError, NotFoundError, StateError
from carnet.reproduce_plan import make_plan
from carnet.reproduce_run import MetricRow, compare_metrics, format_comparison, reproduce
from tests.reproduce.helpers import (
    TRAIN,
    child_env,
    environment,
    git,
    last_runs,
    make_repo,
    recorded_patch,
    rewrite_environment,
    run_python,
)


def _recorded(
    tmp_path: Path, *, dirty: bool = True, args: tuple[str, ...] = ("0.3",)
) -> tuple[str, str, Path]:
    """A run of train.py in a new repository (helper.py changed but not committed when
    ``dirty``): the store's URI, the run's id and the repository."""
    repo = tmp_path / "repo"
    make_repo(repo, {"train.py": TRAIN, "helper.py": "SCALE = 2.0\n"})
    if dirty:
        (repo / "helper.py").write_text("SCALE = 3.0\n")
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(repo, ["train.py", *args], uri)
    (run,) = last_runs(uri)
    return uri, run.info.run_id, repo


def _rewrite_record(uri: str, run_id: str, **changes: Any) -> None:
    rewrite_environment(uri, run_id, lambda record: record.update(changes))


@pytest.fixture(autouse=True)
def _outside_any_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Reproduce from a folder that is no git working tree, as a user's home would be."""
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path / "home")
    monkeypatch.setenv("PYTHONPATH", child_env("")["PYTHONPATH"])


@pytest.mark.slow
def test_a_dirty_tree_is_rebuilt_in_a_new_environment_and_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, run_id, repo = _recorded(tmp_path)
    # the reproduction finds carnet in its own environment (copied there), not on a path
    monkeypatch.delenv("PYTHONPATH")
    monkeypatch.setenv("CARNET_CAPTURE", "on")  # the reproduction records its own environment
    # A private temporary folder: another reproduction on the machine (a bench, a second
    # test run) must not look like this one's leftovers.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (repo / "helper.py").write_text("SCALE = 100.0\n")  # changed again since: must not matter
    client = carnet.Client(uri)
    plan = make_plan(client, run_id)
    assert plan.patch is not None and b"+SCALE = 3.0" in plan.patch
    said: list[str] = []
    new = reproduce(client, plan, env="new", say=said.append)
    assert any(line.startswith("building an environment: Python 3.") for line in said)
    assert new.info.run_id != run_id
    assert new.data.tags[capture.REPRODUCES_TAG] == run_id
    assert new.info.experiment_id == client.get_run(run_id).info.experiment_id
    # it ran in the new environment's Python, with the recorded packages and carnet copied in
    assert "carnet-reproduce-" in new.data.tags["mlflow.source.command"].split()[0]
    versions = {d["name"]: d["version"] for d in environment(uri, new.info.run_id)["distributions"]}
    before = {d["name"]: d["version"] for d in environment(uri, run_id)["distributions"]}
    assert versions["numpy"] == before["numpy"] and versions["carnet"] == before["carnet"]
    rows = compare_metrics(client.get_run(run_id), new)
    assert [(r.key, r.verdict) for r in rows] == [("loss", "identical"), ("steps", "identical")]
    assert new.data.params == {"alpha": "0.3"}
    # the code ran was the recorded commit plus the patch (SCALE 3), not today's tree, and
    # the temporary folder is gone
    assert not any(w in line for line in said for w in ("SCALE = 100",))
    assert not list(Path(tempfile.gettempdir()).glob("carnet-reproduce-*"))


def test_a_run_outside_git_reruns_its_code_as_it_is_in_this_python(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "helper.py").write_text("SCALE = 1.5\n")
    (folder / "job.py").write_text(TRAIN)
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(folder, ["-m", "job", "0.7"], uri)
    (run,) = last_runs(uri)
    client = carnet.Client(uri)
    plan = make_plan(client, run.info.run_id)
    assert plan.commit is None and plan.patch is None
    assert any("not in a git working tree" in w for w in plan.warnings)
    said: list[str] = []
    new = reproduce(client, plan, env="current", say=said.append)
    assert any("not in a git working tree" in line for line in said)
    assert new.data.tags[capture.REPRODUCES_TAG] == run.info.run_id
    assert {r.verdict for r in compare_metrics(client.get_run(run.info.run_id), new)} == {
        "identical"
    }


def test_a_script_changed_outside_git_is_pointed_out(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "helper.py").write_text("SCALE = 1.5\n")
    (folder / "train.py").write_text(TRAIN)
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(folder, ["train.py"], uri)
    (run,) = last_runs(uri)
    (folder / "train.py").write_text(TRAIN + "# edited\n")
    plan = make_plan(carnet.Client(uri), run.info.run_id)
    assert any("train.py changed since" in w for w in plan.warnings)


def test_a_package_the_index_lacks_is_named(tmp_path: Path) -> None:
    uri, run_id, _ = _recorded(tmp_path, dirty=False)
    client = carnet.Client(uri)
    record = environment(uri, run_id)
    record["distributions"].append(
        {"name": "carnet-made-up-package-5e1f", "version": "1.0", "source": "index"}
    )
    _rewrite_record(uri, run_id, distributions=record["distributions"])
    plan = make_plan(client, run_id)
    with pytest.raises(EnvironmentBuildError) as caught:
        reproduce(client, plan, env="new", say=lambda _: None)
    assert caught.value.missing is not None
    assert caught.value.missing.startswith("carnet-made-up-package-5e1f")
    assert "carnet-made-up-package-5e1f" in str(caught.value)
    assert len(last_runs(uri, 5)) == 1  # nothing ran


def test_another_python_and_os_are_named(tmp_path: Path) -> None:
    uri, run_id, _ = _recorded(tmp_path, dirty=False)
    _rewrite_record(uri, run_id, python="3.99.1", system="Plan9")
    client = carnet.Client(uri)
    plan = make_plan(client, run_id)
    assert any("Plan9" in w for w in plan.warnings)
    with pytest.raises(EnvironmentBuildError) as caught:
        reproduce(client, plan, env="new", say=lambda _: None)
    assert caught.value.missing == "python 3.99"
    said: list[str] = []
    new = reproduce(client, plan, env="current", say=said.append)
    assert any("Python 3.99.1" in line for line in said)
    assert new.data.tags[capture.REPRODUCES_TAG] == run_id


def test_a_commit_that_no_longer_exists_is_named(tmp_path: Path) -> None:
    uri, run_id, repo = _recorded(tmp_path, dirty=False)
    old = git(repo, "rev-parse", "HEAD")
    (repo / "helper.py").write_text("SCALE = 9.0\n")
    git(repo, "commit", "-q", "-a", "--amend", "-m", "rewritten")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    with pytest.raises(NotFoundError, match=f"commit {old} cannot be found in {repo}"):
        make_plan(carnet.Client(uri), run_id)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"entry_point": {"kind": "interactive", "target": None, "args": []}}, "interactive"),
        ({"git": {"commit": "0" * 40, "patch": "omitted", "patch_bytes": 2_000_000}}, "larger"),
    ],
)
def test_runs_that_cannot_be_rebuilt_say_why(
    tmp_path: Path, changes: dict[str, Any], words: str
) -> None:
    uri, run_id, _ = _recorded(tmp_path, dirty=False)
    _rewrite_record(uri, run_id, **changes)
    with pytest.raises(StateError, match=words):
        make_plan(carnet.Client(uri), run_id)


def test_a_record_not_in_carnets_layout_is_refused(tmp_path: Path) -> None:
    uri, run_id, _ = _recorded(tmp_path, dirty=False)
    rewrite_environment(uri, run_id, lambda record: [record.clear(), record.update(format=1)])
    with pytest.raises(InvalidInputError, match="not a record Carnet wrote"):
        make_plan(carnet.Client(uri), run_id)


def test_a_run_recorded_before_records_were_kept_in_the_store_is_read(tmp_path: Path) -> None:
    """Runs from before schema 9 have their record as artifact files, and no tag."""
    uri, run_id, _ = _recorded(tmp_path)
    client = carnet.Client(uri)
    record, patch = environment(uri, run_id), recorded_patch(uri, run_id)
    assert patch is not None
    older = client.create_run(client.get_run(run_id).info.experiment_id)
    client.log_bytes(older.info.run_id, json.dumps(record).encode(), capture.ENVIRONMENT_FILE)
    client.log_bytes(older.info.run_id, patch, capture.PATCH_FILE)
    plan = make_plan(client, older.info.run_id)
    assert plan.patch == patch and plan.command == make_plan(client, run_id).command
    client.log_bytes(older.info.run_id, b'{"format": 1}', capture.ENVIRONMENT_FILE)
    with pytest.raises(InvalidInputError, match="not a record Carnet wrote"):
        make_plan(client, older.info.run_id)


def test_a_tag_naming_a_record_the_store_lacks_is_refused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    client = carnet.Client(uri)
    run = client.create_run("0", tags={capture.ENVIRONMENT_TAG: "ab" * 32})
    with pytest.raises(NotFoundError, match="does not have"):
        make_plan(client, run.info.run_id)


def test_a_run_without_a_record_is_refused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    client = carnet.Client(uri)
    run = client.create_run("0")
    with pytest.raises(NotFoundError, match="CARNET_CAPTURE=off"):
        make_plan(client, run.info.run_id)


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    uri, run_id, repo = _recorded(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "carnet.cli", "reproduce", run_id, "--dry-run", "--db", uri],
        env=child_env(uri),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    commit = git(repo, "rev-parse", "HEAD")
    assert f"commit {commit} of {repo}" in out
    size = len(recorded_patch(uri, run_id) or b"")
    assert f"patch:    {size:,} bytes of uncommitted changes" in out
    assert "command:  python train.py 0.3" in out
    assert "carnet: copied, not built: carnet from " in out
    assert len(last_runs(uri, 5)) == 1


def _run(metrics: dict[str, float]) -> Run:
    info = RunInfo("a" * 32, "0", "r", "u", "FINISHED", 0, 1, "file:///tmp", "active")
    return Run(info=info, data=RunData(metrics=dict(metrics)))


def test_metrics_are_compared_bit_for_bit() -> None:
    rows = compare_metrics(
        _run({"same": 0.1 + 0.2, "off": 2.0, "nan": math.nan, "zero": 0.0, "gone": 1.0}),
        _run({"same": 0.1 + 0.2, "off": 2.02, "nan": math.nan, "zero": 0.5, "new": 1.0}),
    )
    verdicts = {r.key: r.verdict for r in rows}
    assert verdicts == {
        "gone": "only in the original",
        "nan": "identical",
        "new": "only in the reproduction",
        "off": "differs by 1 %",
        "same": "identical",
        "zero": "differs by +0.5",
    }
    assert MetricRow("x", 0.3, 0.30000000000000004).verdict == "differs by 1.85e-14 %"
    table = format_comparison(rows, "a" * 32, "b" * 32).splitlines()
    assert table[0].split() == ["metric", "original", "aaaaaaaa", "reproduction", "bbbbbbbb"]
    assert "0.30000000000000004" in table[5] and table[5].endswith("identical")
