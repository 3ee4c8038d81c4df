"""docs/query.md cannot rot: its filters parse, its error message is real, its code runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carnet.errors import FilterError
from carnet.query import parse_filter

DOC = Path(__file__).resolve().parents[2] / "docs" / "query.md"
BLOCK = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.DOTALL)


def blocks(language: str) -> list[tuple[str, str]]:
    return [
        (m.group(2).strip(), m.group(3))
        for m in BLOCK.finditer(DOC.read_text())
        if m.group(1) == language
    ]


def filters() -> list[tuple[str, str]]:
    out = []
    for info, body in blocks("sql"):
        entity = "experiment" if info == "experiments" else "run"
        out.extend((entity, line) for line in body.splitlines() if line.strip())
    return out


@pytest.mark.parametrize(("entity", "text"), filters())
def test_every_documented_filter_parses(entity: str, text: str) -> None:
    assert parse_filter(text, entity=entity) is not None  # type: ignore[arg-type]


def test_the_documented_error_message_is_the_real_one() -> None:
    ((_, shown),) = blocks("text")
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.MSE 3000")
    assert str(info.value) == shown.rstrip("\n")


def test_the_python_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import carnet

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    carnet.set_tracking_uri(str(tmp_path / "docs.db"))
    carnet.set_experiment("diabetes-elasticnet")
    for i, alpha in enumerate([1e-5, 1e-3, 0.01, 0.1, 1.0, 10.0]):
        with carnet.start_run(run_name="Elastic_net"):
            carnet.log_params({"alpha": alpha, "l1_ratio": 0.5 * (i % 3)})
            carnet.log_metrics({"MSE": 2800.0 + 100 * i, "R2": 0.5 - 0.02 * i})
    namespace: dict[str, object] = {}
    for _, code in blocks("python"):
        exec(code, namespace)
    out = capsys.readouterr().out
    assert "params.alpha" in out and "2800" in out
    assert "SEARCH" in out or "SCAN" in out
