"""The dashboard's run page lists and previews artifacts kept in a bucket (through Client)."""

from __future__ import annotations

from pathlib import Path

import pytest

import carnet
from tests.conftest import sqlite_uri
from tests.dashboard.conftest import make_app, no_exceptions


def test_run_page_previews_an_artifact_in_the_bucket(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = sqlite_uri(tmp_path)
    carnet.set_tracking_uri(uri)
    carnet.set_experiment("bucket-previews")
    with carnet.start_run() as run:
        carnet.log_text("kept in a bucket\n", "notes/readme.txt")
        carnet.log_dict({"alpha": 0.5}, "config.json")
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    monkeypatch.delenv("CARNET_UI_PASSWORD", raising=False)
    at = make_app("run", run=run.info.run_id, run_tab="Artifacts")
    no_exceptions(at)
    at.selectbox(key="run.artifact").set_value("notes/readme.txt").run()
    no_exceptions(at)
    assert "kept in a bucket" in [c.value.strip() for c in at.code]
    at.selectbox(key="run.artifact").set_value("config.json").run()
    no_exceptions(at)
    assert at.json
