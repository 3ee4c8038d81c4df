"""python -m demo.reproduce from a copy of the checkout: in git with uncommitted changes
(a new environment), and outside git (this Python); the MSE must match bit for bit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reproduce.helpers import ROOT, git


def _checkout(dest: Path) -> Path:
    """The files of this checkout that the demo needs (as they are now), in ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "demo", "sdk"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in [*listed, "pyproject.toml"]:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _demo(checkout: Path, store: Path, *args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(checkout / "sdk"), str(checkout)])
    env.pop("CARNET_TRACKING_URI", None)
    out = subprocess.run(
        [sys.executable, "-m", "demo.reproduce", "--tracking-uri", str(store), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@pytest.mark.slow
def test_a_dirty_git_checkout_reproduces_in_a_new_environment(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "checkout")
    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "a clean checkout")
    with (checkout / "demo" / "_common.py").open("a") as f:
        f.write("\n# a local change the patch must carry\n")
    out = _demo(checkout, tmp_path / "runs.db", "--l1-ratios", "1.0")
    commit = git(checkout, "rev-parse", "HEAD")
    assert f"commit {commit} of {checkout}" in out
    assert "bytes of uncommitted changes" in out
    assert "building an environment: Python 3." in out
    assert "command:  python -m demo.diabetes_sweep" in out
    assert "bit for bit: the same" in out
    assert "MSE     2921.77390475" in out


def test_a_checkout_outside_git_reproduces_its_code_as_it_is(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "checkout")
    out = _demo(checkout, tmp_path / "runs.db", "--l1-ratios", "1.0", "--env", "current")
    assert "not in a git working tree" in out
    assert "bit for bit: the same" in out
