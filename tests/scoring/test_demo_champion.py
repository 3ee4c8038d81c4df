"""The README's serving example: the demo's champion served by ``carnet models serve``
answers the README's ``curl`` body with the prediction ``demo.the_day_has_come`` makes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

import carnet
from demo import diabetes_sweep, the_day_has_come
from tests.scoring.served import REPO, serving


def readme_curl_body() -> dict[str, object]:
    section = (REPO / "README.md").read_text().split("## Try it", 1)[1]
    found = re.search(r"curl -s localhost:5001/invocations .*?-d '(\{.*?\})'", section)
    assert found is not None, "the README's Try it section has no curl to /invocations"
    return dict(json.loads(found.group(1)))


def test_the_champion_serves_the_readme_patient(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'carnet.db'}"
    diabetes_sweep.main(["--tracking-uri", db, "--quiet", "--l1-ratios", "1.0"])
    body = readme_curl_body()
    (patient,) = body["dataframe_records"]  # type: ignore[misc]
    assert patient == the_day_has_come.NEW_PATIENT
    carnet.set_tracking_uri(db)
    _, expected = the_day_has_come.predict(dict(patient))
    with serving("models:/diabetes@champion", db, tmp_path / "serve.log") as base:
        answer = httpx.post(f"{base}/invocations", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()["predictions"]
    assert prediction == pytest.approx(expected, rel=1e-12)
    shown = re.search(r'# \{"predictions":\[([0-9.]+)\]\}', (REPO / "README.md").read_text())
    assert shown is not None and float(shown.group(1)) == pytest.approx(prediction, rel=1e-9)
