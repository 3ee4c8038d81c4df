"""The Python examples in docs/models.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import carnet
import carnet.sklearn

DOCS = Path(__file__).resolve().parents[2] / "docs"


def python_blocks(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), flags=re.S)


def test_models_doc_examples_run(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    carnet.set_tracking_uri(uri)
    blocks = python_blocks("models.md")
    assert len(blocks) == 4
    try:
        for block in blocks:
            exec(compile(block, "docs/models.md", "exec"), {"__name__": "docs_example"})
    finally:
        carnet.sklearn.autolog(disable=True)
    runs = carnet.search_runs(search_all_experiments=True, output_format="list")
    assert isinstance(runs, list)
    # the log_model run, the registry example's run, the logged-models run, the pipeline's
    # run, the search and its 3 candidates
    assert len(runs) == 8
    assert carnet.MlflowClient().get_model_version_by_alias("diabetes", "champion").version == "2"
