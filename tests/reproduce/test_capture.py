"""Capture at run start: real scripts in real git repositories, run as their own processes."""

from __future__ import annotations

import importlib.metadata
import json
import sqlite3
from pathlib import Path

import pytest

import carnet
from carnet import capture, settings
from carnet.errors import ConfigurationError
from tests.reproduce.helpers import (
    TRAIN,
    environment,
    git,
    last_runs,
    make_repo,
    recorded_patch,
    run_python,
)


def test_a_clean_repository_records_script_packages_and_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit = make_repo(repo, {"train.py": TRAIN, "helper.py": "SCALE = 2.0\n"})
    (repo / "sub").mkdir()
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(repo / "sub", ["../train.py", "0.25"], uri)
    (run,) = last_runs(uri)
    tags = run.data.tags
    assert tags[capture.ENTRY_POINT_TAG] == "python train.py 0.25"
    assert tags[capture.PATCH_TAG] == "none"
    assert capture.REPRODUCES_TAG not in tags
    env = environment(uri, run.info.run_id)
    assert env["entry_point"]["kind"] == "script"
    assert env["entry_point"]["target"] == "train.py"
    assert env["entry_point"]["args"] == ["0.25"]
    assert env["cwd"] == "sub" and env["in_repo"] is True
    assert env["git"]["commit"] == commit and env["git"]["untracked"] == []
    assert env["run_index"] == 1 and env["env"] == {}
    numpy = next(d for d in env["distributions"] if d["name"] == "numpy")
    assert numpy == {
        "name": "numpy",
        "version": importlib.metadata.version("numpy"),
        "source": "index",
    }
    client = carnet.Client(uri)
    pins = [d["name"].lower() for d in env["distributions"] if d["source"] == "index"]
    assert "numpy" in pins and "carnet" not in pins  # carnet is a local install here
    assert client.list_artifacts(run.info.run_id) == []  # the record is the store's
    assert tags[capture.RUN_INDEX_TAG] == "1"
    kept = client.store.get_environment_record(tags[capture.ENVIRONMENT_TAG])
    assert kept.patch is None and json.loads(kept.record)["git"]["commit"] == commit


def test_uncommitted_changes_are_a_patch_and_untracked_files_are_named(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"train.py": TRAIN, "helper.py": "SCALE = 2.0\n"})
    (repo / "helper.py").write_text("SCALE = 3.0\n")
    (repo / "notes.txt").write_text("not tracked")
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(repo, ["train.py"], uri)
    (run,) = last_runs(uri)
    assert run.data.tags[capture.PATCH_TAG] == "included"
    patch = recorded_patch(uri, run.info.run_id)
    assert patch is not None
    assert patch.decode() == git(repo, "diff", "HEAD", "--binary") + "\n"
    assert "+SCALE = 3.0" in patch.decode()
    env = environment(uri, run.info.run_id)
    assert env["git"]["patch_bytes"] == len(patch)
    assert env["git"]["untracked"] == ["notes.txt"]


def test_a_patch_past_the_bound_is_omitted_not_cut(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"train.py": TRAIN, "helper.py": "SCALE = 2.0\n", "big.txt": "x\n"})
    (repo / "big.txt").write_text(("z" * 99 + "\n") * 11_000)  # 1.1 MB of changes
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(repo, ["train.py"], uri)
    (run,) = last_runs(uri)
    assert run.data.tags[capture.PATCH_TAG] == "omitted"
    assert environment(uri, run.info.run_id)["git"]["patch_bytes"] > capture.MAX_PATCH_BYTES
    assert recorded_patch(uri, run.info.run_id) is None


def test_a_module_outside_git_with_allowed_variables_and_a_reproduction_index(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "helper.py").write_text("SCALE = 1.0\n")
    first_run = "carnet.start_run().__exit__(None, None, None)\nwith carnet"
    (folder / "job.py").write_text(TRAIN.replace("with carnet", first_run))
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(
        folder,
        ["-m", "job", "2"],
        uri,
        CARNET_CAPTURE_ENV="SEED_A, LONG_B,UNSET_C",
        SEED_A="42",
        LONG_B="v" * 5000,
        SECRET_D="hunter2",
        CARNET_REPRODUCES="abc123:2",
    )
    second, first = last_runs(uri, 2)
    assert capture.REPRODUCES_TAG not in first.data.tags
    assert second.data.tags[capture.REPRODUCES_TAG] == "abc123"
    assert second.data.tags[capture.ENTRY_POINT_TAG] == "python -m job 2"
    assert second.data.tags[capture.PATCH_TAG] == "no-git"
    env = environment(uri, second.info.run_id)
    assert env["entry_point"] == {"kind": "module", "target": "job", "args": ["2"]}
    assert env["cwd"] == str(folder) and env["in_repo"] is False
    assert env["git"] == {"commit": None, "patch": "no-git", "root": None}
    assert env["env"] == {"SEED_A": "42", "LONG_B": "v" * capture.MAX_ENV_VALUE}
    assert "hunter2" not in json.dumps(env)
    assert env["run_index"] == 2
    # one record for both runs of the process, each run its own index
    assert environment(uri, first.info.run_id)["run_index"] == 1
    digest = second.data.tags[capture.ENVIRONMENT_TAG]
    assert first.data.tags[capture.ENVIRONMENT_TAG] == digest
    with sqlite3.connect(tmp_path / "runs.db") as db:
        assert db.execute("SELECT digest FROM environment_records").fetchall() == [(digest,)]
    db.close()


def test_capture_off_records_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "helper.py").write_text("SCALE = 1.0\n")
    (folder / "train.py").write_text(TRAIN)
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    run_python(folder, ["train.py"], uri, CARNET_CAPTURE="off")
    (run,) = last_runs(uri)
    assert not [k for k in run.data.tags if k.startswith("carnet.")]
    assert carnet.Client(uri).list_artifacts(run.info.run_id) == []


@pytest.mark.parametrize("value", ["A,B-C", "1A", ",".join(f"V{i}" for i in range(51))])
def test_a_bad_variable_list_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CARNET_CAPTURE_ENV", value)
    with pytest.raises(ConfigurationError, match="CARNET_CAPTURE_ENV"):
        settings.CAPTURE_ENV.get()
