"""Where an ``s3://`` root is read: the environment, ``carnet server``'s options (all three
spellings), and the settings handed to worker processes. No bucket is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from carnet.artifact_location import configured_root
from carnet.cli.server import artifact_folder
from carnet.errors import ConfigurationError
from carnet.server.settings import ServerSettings
from carnet.utils.s3_uri import S3Uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://ml-artifacts/carnet", S3Uri("ml-artifacts", "carnet")),
        ("S3://ml-artifacts/a/b/", S3Uri("ml-artifacts", "a/b")),
        ("s3://ml-artifacts", S3Uri("ml-artifacts", "")),
    ],
)
def test_the_root_is_read_from_the_environment_and_the_options(
    text: str, expected: S3Uri, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", text)
    assert configured_root() == expected
    assert artifact_folder(None, "sqlite:///x.db") == expected
    monkeypatch.delenv("CARNET_ARTIFACT_ROOT")
    assert artifact_folder(text, "sqlite:///x.db") == expected


@pytest.mark.parametrize(
    "bad", ["s3://", "s3://Bad_Bucket/x", "s3://bucket/a/../b", "s3://bucket/a//b", "s3://b?x"]
)
def test_a_malformed_root_is_refused_where_it_is_given(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="--artifacts"):
        artifact_folder(bad, "sqlite:///x.db")
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", bad)
    with pytest.raises(ConfigurationError, match="CARNET_ARTIFACT_ROOT"):
        configured_root()


def test_worker_processes_get_the_same_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for root in (S3Uri("ml-artifacts", "carnet/team"), tmp_path / "artifacts"):
        settings = ServerSettings(uri="sqlite:///x.db", artifact_root=root,
                                  dashboard_script=tmp_path / "app.py")  # fmt: skip
        monkeypatch.setenv("CARNET_SERVER_SETTINGS", settings.to_env())
        assert ServerSettings.from_env() == settings
    bucket = ServerSettings("sqlite:///x.db", S3Uri("b-1", "p"), tmp_path / "app.py")
    assert bucket.scratch_folder is None  # uploads are staged in the system's temporary folder
