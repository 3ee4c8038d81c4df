"""Parameters: typed, defaulted, passed through, and shell-quoted into the command."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from carnet.errors import ProjectError
from carnet.projects.params import build_command, parse_assignments, resolve
from carnet.projects.spec import EntryPoint, Parameter

ENTRY = EntryPoint(
    name="main",
    command="python train.py {alpha} --epochs {epochs} --name {name}",
    parameters={
        "alpha": Parameter("alpha", "float", "0.5"),
        "epochs": Parameter("epochs", "int", None),
        "name": Parameter("name", "string", "run one"),
    },
)


def _resolve(given: dict[str, str], tmp_path: Path, entry: EntryPoint = ENTRY) -> dict[str, str]:
    return resolve(entry, given, cwd=tmp_path, project_dir=tmp_path).all()


def test_defaults_fill_what_is_not_given(tmp_path: Path) -> None:
    assert _resolve({"epochs": "3"}, tmp_path) == {
        "alpha": "0.5",
        "epochs": "3",
        "name": "run one",
    }


def test_numbers_are_written_as_python_writes_them(tmp_path: Path) -> None:
    values = _resolve({"epochs": " 7", "alpha": "1e-3"}, tmp_path)
    assert values["alpha"] == "0.001"  # what float(sys.argv[1]) logs in the script
    assert values["epochs"] == "7"
    assert _resolve({"epochs": "1", "alpha": "2"}, tmp_path)["alpha"] == "2.0"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"epochs": "three"}, r"parameter 'epochs' is an int, but 'three' is not a whole number"),
        ({"epochs": "2.5"}, r"parameter 'epochs' is an int"),
        ({"epochs": "1", "alpha": "high"}, r"parameter 'alpha' is a float, but 'high'"),
        ({}, r"needs a value for 'epochs': pass -P epochs=VALUE"),
        ({"epochs": "1", "name": "a\x00b"}, r"parameter 'name': the value holds a NUL"),
        ({"epochs": "1", "name": "x" * 6001}, r"parameter 'name': the value is 6001 characters"),
    ],
)
def test_a_bad_or_missing_value_is_named(
    tmp_path: Path, given: dict[str, str], message: str
) -> None:
    with pytest.raises(ProjectError, match=message):
        _resolve(given, tmp_path)


def test_every_missing_parameter_is_listed(tmp_path: Path) -> None:
    entry = EntryPoint("e", "x {a} {b}", {"a": Parameter("a"), "b": Parameter("b", "int")})
    with pytest.raises(ProjectError, match=r"'a', 'b': pass -P a=VALUE -P b=VALUE"):
        _resolve({}, tmp_path, entry)


def test_undeclared_values_pass_through_as_options(tmp_path: Path) -> None:
    resolved = resolve(ENTRY, {"epochs": "2", "seed": "4 2"}, cwd=tmp_path, project_dir=tmp_path)
    assert resolved.extra == {"seed": "4 2"}
    command = build_command(ENTRY, resolved)
    assert shlex.split(command)[-2:] == ["--seed", "4 2"]


@pytest.mark.parametrize(
    "value",
    [
        "x; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "a' ; touch pwned; echo '",
        'a" && touch pwned #',
        "line\nbreak",
        "-rf /",
    ],
)
def test_a_value_reaches_the_program_as_one_argument(tmp_path: Path, value: str) -> None:
    resolved = resolve(ENTRY, {"epochs": "1", "name": value}, cwd=tmp_path, project_dir=tmp_path)
    args = shlex.split(build_command(ENTRY, resolved))
    assert args == ["python", "train.py", "0.5", "--epochs", "1", "--name", value]


def test_paths_are_made_absolute_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "default.csv").write_text("a\n")
    entry = EntryPoint("e", "x {data}", {"data": Parameter("data", "path", "default.csv")})
    given = resolve(entry, {"data": "data.csv"}, cwd=tmp_path, project_dir=tmp_path / "project")
    assert given.declared["data"] == str(tmp_path / "data.csv")
    default = resolve(entry, {}, cwd=tmp_path, project_dir=tmp_path / "project")
    assert default.declared["data"] == str(tmp_path / "project" / "default.csv")
    with pytest.raises(ProjectError, match=r"parameter 'data' is a path, but .* does not exist"):
        resolve(entry, {"data": "nope.csv"}, cwd=tmp_path, project_dir=tmp_path)
    with pytest.raises(ProjectError, match="remote URI"):
        resolve(entry, {"data": "s3://bucket/x.csv"}, cwd=tmp_path, project_dir=tmp_path)


def test_a_uri_needs_a_scheme(tmp_path: Path) -> None:
    entry = EntryPoint("e", "x {src}", {"src": Parameter("src", "uri")})
    ok = resolve(entry, {"src": "s3://bucket/x"}, cwd=tmp_path, project_dir=tmp_path)
    assert ok.declared["src"] == "s3://bucket/x"
    with pytest.raises(ProjectError, match=r"parameter .src. is a uri, but .x\.csv. has no scheme"):
        resolve(entry, {"src": "x.csv"}, cwd=tmp_path, project_dir=tmp_path)


def test_literal_braces_stay_single_in_the_command(tmp_path: Path) -> None:
    entry = EntryPoint("e", "awk '{{print}}' {f}", {"f": Parameter("f", "string", "a b")})
    resolved = resolve(entry, {}, cwd=tmp_path, project_dir=tmp_path)
    assert build_command(entry, resolved) == "awk '{print}' 'a b'"


def test_assignments_split_at_the_first_equals_sign() -> None:
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ProjectError, match="is not key=value"):
        parse_assignments(["alpha"])
    with pytest.raises(ProjectError, match="given twice"):
        parse_assignments(["a=1", "a=2"])
    with pytest.raises(ProjectError, match="parameter name"):
        parse_assignments(["a;b=1"])
