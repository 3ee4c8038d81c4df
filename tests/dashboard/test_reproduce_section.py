"""The run page's reproduce section: the command, differing packages, reproductions."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

import carnet
from carnet import capture
from dashboard.reproduce_section import differing_packages
from tests.reproduce.helpers import rewrite_environment

from .conftest import MakeApp, no_exceptions
from .store_data import StoreInfo


def test_differing_packages_lists_changed_and_missing_ones() -> None:
    table = differing_packages(
        {"NumPy": "1.0", "same": "2", "only-run": "3"}, {"numpy": "2.0", "same": "2", "here": "4"}
    )
    assert table.values.tolist() == [
        ["here", "—", "4"],
        ["NumPy", "1.0", "2.0"],
        ["only-run", "3", "—"],
    ]


def test_run_page_shows_the_command_packages_and_reproductions(
    app: MakeApp, store: StoreInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_CAPTURE", "on")
    carnet.set_tracking_uri(store.uri)
    with carnet.start_run(experiment_id=store.experiment_id) as run:
        carnet.log_metric("loss", 0.5)
    original = run.info.run_id
    client = carnet.Client(store.uri)

    def change(record: dict[str, Any]) -> None:
        for dist in record["distributions"]:
            if dist["name"] == "numpy":
                dist["version"] = "0.0.1"
        record["distributions"].append({"name": "made-up-lib", "version": "9", "source": "index"})

    rewrite_environment(store.uri, original, change)
    again = client.create_run(
        store.experiment_id, run_name="again", tags={capture.REPRODUCES_TAG: original}
    )
    client.set_terminated(again.info.run_id)

    at = app("run", run=original)
    no_exceptions(at)
    assert any(c.value == f"carnet reproduce {original}" for c in at.code)
    entry = client.get_run(original).data.tags[capture.ENTRY_POINT_TAG]
    assert any(f"Runs `{entry}` again" in c.value for c in at.caption), "shown as it is"
    packages = next(d.value for d in at.dataframe if "package" in d.value.columns)
    rows = {r[0]: (r[1], r[2]) for r in packages.values.tolist()}
    assert rows == {
        "numpy": ("0.0.1", importlib.metadata.version("numpy")),
        "made-up-lib": ("9", "—"),
    }
    labels = [p.proto.label for p in at.get("page_link")]
    assert "again" in labels
    downloads = [b.proto.label for b in at.get("download_button")]
    assert "Environment record (JSON)" in downloads

    at = app("run", run=again.info.run_id)
    no_exceptions(at)
    assert f"Reproduces run {original}" in [p.proto.label for p in at.get("page_link")]
