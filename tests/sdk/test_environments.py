"""Fresh environments: real venvs built by uv and by pip from the package index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carnet import environments
from carnet.environments import build_environment, find_uv
from carnet.errors import EnvironmentBuildError, InvalidInputError

#: A tiny pure-Python package on the index, pinned to an old release.
SMALL = "six==1.16.0"
#: A name no index holds.
MADE_UP = "carnet-no-such-package-7f3a9c==1.0"


def _version_in(python: Path, module: str) -> str:
    out = subprocess.run(
        [str(python), "-c", f"import {module}, sys; print({module}.__version__, sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_uv_is_installed_for_the_tests() -> None:
    assert find_uv() is not None, "the dev extra installs uv; `pip install uv`"


@pytest.mark.slow
def test_uv_builds_an_environment_with_the_packages(tmp_path: Path) -> None:
    python = build_environment(tmp_path / "env", requirements=[SMALL], manager="uv")
    out = _version_in(python, "six")
    assert out.startswith("1.16.0 ")
    assert out.split()[1] == sys.version.split()[0]  # this interpreter's version by default


@pytest.mark.slow
def test_pip_builds_an_environment_with_the_packages(tmp_path: Path) -> None:
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = build_environment(
        tmp_path / "env", requirements=[SMALL], python_version=major_minor, manager="pip"
    )
    assert _version_in(python, "six").startswith("1.16.0 ")
    assert (python.parent / "pip").exists()  # a pip-made venv, not a uv one


@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_a_package_the_index_lacks_is_named(tmp_path: Path, manager: str) -> None:
    dest = tmp_path / "env"
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(dest, requirements=[SMALL, MADE_UP], manager=manager)
    assert caught.value.missing is not None
    assert caught.value.missing.startswith("carnet-no-such-package-7f3a9c")
    assert "carnet-no-such-package-7f3a9c" in str(caught.value)
    assert not dest.exists()  # a failed build leaves nothing


def test_a_version_the_index_lacks_is_named(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(tmp_path / "env", requirements=["six==99.0"])
    assert caught.value.missing == "six==99.0"


@pytest.mark.parametrize("manager", ["uv", "pip"])
def test_a_python_that_cannot_be_had_is_named(tmp_path: Path, manager: str) -> None:
    dest = tmp_path / "env"
    dest.mkdir()  # an empty folder the caller made is allowed, and stays
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(dest, requirements=[], python_version="3.99", manager=manager)
    assert caught.value.missing == "python 3.99"
    assert "3.99" in str(caught.value)
    assert dest.is_dir() and not any(dest.iterdir())


def test_asking_for_uv_without_uv_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environments, "find_uv", lambda: None)
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(tmp_path / "env", requirements=[], manager="uv")
    assert caught.value.missing == "uv"
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"requirements": ["--index-url=http://elsewhere"]}, "no leading '-'"),
        ({"requirements": "six"}, "not one string"),
        ({"requirements": [""]}, "non-empty"),
        ({"requirements": ["six\n-e ."]}, "one line"),
        ({"requirements": [], "python_version": "three"}, "not a version"),
        ({"requirements": [], "manager": "conda"}, "not one of auto, uv, pip"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    tmp_path: Path, kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        build_environment(tmp_path / "env", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "env").exists()


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        build_environment(tmp_path, requirements=[])
    assert (tmp_path / "keep.txt").read_text() == "mine"
