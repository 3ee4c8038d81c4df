"""The MLproject file: MLflow's rules, read with bounds and checked with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from carnet.errors import ProjectError
from carnet.projects.spec import MAX_ENTRY_POINTS, MAX_SPEC_BYTES, load_project
from tests.projects.helpers import write_project

WINE = Path(__file__).parent / "fixtures" / "wine"


def test_the_wine_project_reads_as_mlflow_reads_it() -> None:
    project = load_project(WINE)
    assert project.name == "wine"
    assert project.environment.kind == "python"
    assert project.environment.file == WINE / "python_env.yaml"
    main = project.entry_point("main")
    assert main.command == "python train.py {alpha} {l1_ratio}"
    assert {k: (p.type, p.default) for k, p in main.parameters.items()} == {
        "alpha": ("float", "0.5"),
        "l1_ratio": ("float", "0.1"),
    }


def test_the_file_name_is_matched_in_any_case(tmp_path: Path) -> None:
    write_project(tmp_path, {"mlproject": "name: lower\nentry_points: {}\n"})
    assert load_project(tmp_path).name == "lower"


def test_a_type_name_alone_declares_a_required_parameter(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"MLproject": "entry_points:\n  main:\n    parameters: {n: int}\n    command: x {n}\n"},
    )
    param = load_project(tmp_path).entry_point("main").parameters["n"]
    assert (param.type, param.default) == ("int", None)


def test_without_mlproject_a_script_of_the_project_is_an_entry_point(tmp_path: Path) -> None:
    write_project(tmp_path, {"train.py": "print(1)\n", "go.sh": "echo 1\n"})
    project = load_project(tmp_path)
    assert not project.has_mlproject
    assert project.entry_point("train.py").command == "python train.py"
    assert project.entry_point("go.sh").command.endswith(" go.sh")
    with pytest.raises(ProjectError, match=r"no entry point 'main'.*-e FILE\.py"):
        project.entry_point("main")
    with pytest.raises(ProjectError, match="no such file"):
        project.entry_point("missing.py")
    with pytest.raises(ProjectError, match="leads out of the project"):
        project.entry_point("../elsewhere.py")


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        ("- a list\n", "must be a YAML mapping"),
        ("entry_points: {main: {parameters: {a: float}}}\n", "has no command"),
        ("entry_points: {main: {parameters: {a: number}, command: x}}\n", "'number' is not one"),
        ("entry_points: {main: {command: 'x {b}'}}\n", "'b', which is not a declared"),
        (
            "entry_points: {main: {parameters: {a: string}, command: 'x {a.__class__}'}}\n",
            "not a plain parameter name",
        ),
        ("entry_points: {main: {parameters: {a: string}, command: 'x {a!r}'}}\n", "plain"),
        ("entry_points: {main: {command: 'x {'}}\n", "not valid"),
        ("entry_points: {main: {parameters: {'a b': string}, command: x}}\n", "'a b'"),
        ("python_env: env.yaml\nconda_env: conda.yaml\n", "several environments"),
        ("python_env: ../outside.yaml\n", "leads out of the project"),
        ("python_env: missing.yaml\n", "no such file"),
        ("docker_env: {}\n", "needs an image"),
        ("entry_points: [\n", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_saying_what_is_wrong(
    tmp_path: Path, mlproject: str, message: str
) -> None:
    write_project(tmp_path / "p", {"MLproject": mlproject, "env.yaml": "", "conda.yaml": ""})
    (tmp_path / "outside.yaml").write_text("python: '3.11'\n")
    with pytest.raises(ProjectError, match=message):
        load_project(tmp_path / "p")


def test_literal_braces_are_written_doubled(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"MLproject": "entry_points: {main: {command: \"awk '{{print}}' f\"}}\n"},
    )
    assert load_project(tmp_path).entry_point("main").command == "awk '{{print}}' f"


def test_sizes_are_bounded(tmp_path: Path) -> None:
    write_project(tmp_path / "big", {"MLproject": "# " + "x" * MAX_SPEC_BYTES + "\n"})
    with pytest.raises(ProjectError, match=f"larger than {MAX_SPEC_BYTES} bytes"):
        load_project(tmp_path / "big")
    many = "".join(f"  e{i}: {{command: x}}\n" for i in range(MAX_ENTRY_POINTS + 1))
    write_project(tmp_path / "many", {"MLproject": "entry_points:\n" + many})
    with pytest.raises(ProjectError, match=f"at most {MAX_ENTRY_POINTS}"):
        load_project(tmp_path / "many")
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    write_project(tmp_path / "deep", {"MLproject": deep})
    with pytest.raises(ProjectError):
        load_project(tmp_path / "deep")


def test_the_default_environment_files_are_found(tmp_path: Path) -> None:
    write_project(tmp_path / "py", {"python_env.yaml": "python: '3.11'\n"})
    assert load_project(tmp_path / "py").environment.kind == "python"
    write_project(tmp_path / "conda", {"conda.yaml": "name: x\n"})
    assert load_project(tmp_path / "conda").environment.kind == "conda"
    write_project(tmp_path / "none", {"main.py": ""})
    assert load_project(tmp_path / "none").environment.kind == "none"
