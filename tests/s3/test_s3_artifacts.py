"""Runs whose artifact root is an S3 bucket, through the SDK, against a real SeaweedFS."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from pathlib import Path

import pytest

import carnet
from carnet import Client
from carnet.errors import (
    ArtifactLocationError,
    ArtifactNotFoundError,
    ArtifactPathError,
    CarnetError,
    ConfigurationError,
    StoreError,
)
from tests.conftest import sqlite_uri
from tests.s3.conftest import S3Server


def _key_prefix(root: str, bucket: str) -> str:
    return root.removeprefix(f"s3://{bucket}/")


@pytest.fixture
def client(s3_root: str, tmp_path: Path) -> Client:
    uri = sqlite_uri(tmp_path)
    carnet.set_tracking_uri(uri)
    return Client(uri)


def _source_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha")
    (tree / "sub" / "b.bin").write_bytes(bytes(range(256)) * 8)
    (tree / "sub" / "deeper" / "c.txt").write_text("gamma")
    return tree


def test_run_files_round_trip_through_the_bucket(
    client: Client, s3_root: str, s3_server: S3Server, tmp_path: Path
) -> None:
    experiment_id = carnet.set_experiment("in-a-bucket").experiment_id
    assert client.get_experiment(experiment_id).artifact_location == f"{s3_root}/{experiment_id}"
    single = tmp_path / "model.txt"
    single.write_text("weights: 1 2 3\n")
    with carnet.start_run() as run:
        carnet.log_text("hello carnet\n", "notes/hello.txt")
        carnet.log_dict({"alpha": 0.1, "layers": [1, 2]}, "config.json")
        carnet.log_artifact(str(single), "models")
        carnet.log_artifacts(str(_source_tree(tmp_path)), "tree")
    run_id = run.info.run_id
    artifact_uri = client.get_run(run_id).info.artifact_uri
    assert artifact_uri == f"{s3_root}/{experiment_id}/{run_id}/artifacts"

    prefix = _key_prefix(artifact_uri, s3_server.bucket) + "/"
    assert [k.removeprefix(prefix) for k in s3_server.keys(prefix)] == [
        "config.json",
        "models/model.txt",
        "notes/hello.txt",
        "tree/a.txt",
        "tree/sub/b.bin",
        "tree/sub/deeper/c.txt",
    ]
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {("config.json", False), ("models", True), ("notes", True), ("tree", True)}
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "tree/sub")] == [
        ("tree/sub/b.bin", 2048),
        ("tree/sub/deeper", None),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "notes/hello.txt")] == ["notes/hello.txt"]
    assert client.list_artifacts(run_id, "nothing/here") == []

    assert client.read_artifact(run_id, "notes/hello.txt") == b"hello carnet\n"
    assert json.loads(client.read_artifact(run_id, "config.json")) == {
        "alpha": 0.1,
        "layers": [1, 2],
    }
    with pytest.raises(ArtifactNotFoundError):
        client.read_artifact(run_id, "missing.txt")

    one = Path(client.download_artifacts(run_id, "models/model.txt", str(tmp_path / "one")))
    assert one == tmp_path / "one" / "model.txt"
    assert one.read_text() == "weights: 1 2 3\n"
    folder = Path(client.download_artifacts(run_id, "tree", str(tmp_path / "folder")))
    assert (folder / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 8
    assert (folder / "sub" / "deeper" / "c.txt").read_text() == "gamma"
    everything = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    got = sorted(p.relative_to(everything).as_posix() for p in everything.rglob("*") if p.is_file())
    assert got == [k.removeprefix(prefix) for k in s3_server.keys(prefix)]
    assert client.get_artifact_path(run_id, "notes/hello.txt").read_text() == "hello carnet\n"
    with pytest.raises(ArtifactNotFoundError):
        client.download_artifacts(run_id, "missing", str(tmp_path / "none"))


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "/etc/escape.txt",
        "%2e%2e/escape.txt",
        "a/%2E%2E/%2e%2e/escape.txt",
        "..\\escape.txt",
        "C:/escape.txt",
    ],
)
def test_paths_that_leave_the_run_are_refused_and_nothing_is_written(
    client: Client, s3_server: S3Server, tmp_path: Path, path: str
) -> None:
    experiment_id = client.create_experiment(f"escape-{uuid.uuid4().hex[:6]}")
    run_id = client.create_run(experiment_id).info.run_id
    before = s3_server.keys()
    source = tmp_path / "escape.txt"
    source.write_text("x")
    with pytest.raises(ArtifactPathError):
        client.log_text(run_id, "x", path)
    with pytest.raises(ArtifactPathError):
        client.log_artifact(run_id, source, path)
    with pytest.raises(ArtifactPathError):
        client.log_artifacts(run_id, tmp_path, path)
    with pytest.raises(ArtifactPathError):
        client.read_artifact(run_id, path)
    with pytest.raises(ArtifactPathError):
        client.list_artifacts(run_id, path)
    with pytest.raises(ArtifactPathError):
        client.download_artifacts(run_id, path, str(tmp_path / "out"))
    assert s3_server.keys() == before


def test_locations_outside_the_s3_root_are_refused(
    client: Client, s3_root: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = client.create_experiment("inside", artifact_location=f"{s3_root}/custom")
    assert client.get_experiment(inside).artifact_location == f"{s3_root}/custom"
    for outside in (
        f"s3://{s3_server.bucket}/elsewhere",
        "s3://another-bucket/x",
        f"{s3_root}/../elsewhere",
        f"{s3_root}/a?b",
    ):
        with pytest.raises(ArtifactLocationError):
            client.create_experiment(f"out-{uuid.uuid4().hex[:6]}", artifact_location=outside)
    run_id = client.create_run(inside).info.run_id
    client.log_text(run_id, "kept", "kept.txt")
    # The same run, read by a process whose S3 root is another prefix: refused, not read.
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", f"s3://{s3_server.bucket}/other-prefix")
    with pytest.raises(ArtifactLocationError, match="outside the allowed artifact roots"):
        client.list_artifacts(run_id)


def test_mlflow_endpoint_variable_is_honoured(
    client: Client, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARNET_S3_ENDPOINT_URL")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_server.endpoint)
    run_id = client.create_run(client.create_experiment("mlflow-endpoint")).info.run_id
    client.log_text(run_id, "via MLflow's variable", "note.txt")
    assert client.read_artifact(run_id, "note.txt") == b"via MLflow's variable"


def _assert_plain(error: CarnetError) -> None:
    """A Carnet error with no botocore exception chained to it."""
    assert error.__cause__ is None and error.__suppress_context__, repr(error.__context__)


def test_missing_bucket_is_a_carnet_error(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, s3_root: str
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", "s3://no-such-bucket-here/p")
    client = Client(sqlite_uri(tmp_path))
    run_id = client.create_run(client.create_experiment("no-bucket")).info.run_id
    with pytest.raises(StoreError, match="'no-such-bucket-here' does not exist") as caught:
        client.log_text(run_id, "x", "x.txt")
    _assert_plain(caught.value)


def test_wrong_credentials_are_a_carnet_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("bad-secret")).info.run_id
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(StoreError, match="AWS_SECRET_ACCESS_KEY") as caught:
        client.log_text(run_id, "x", "x.txt")
    _assert_plain(caught.value)
    with pytest.raises(StoreError, match="AWS_SECRET_ACCESS_KEY"):
        client.list_artifacts(run_id)


def test_unreachable_endpoint_is_a_carnet_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("unreachable")).info.run_id
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CARNET_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(StoreError, match="cannot reach the S3 endpoint") as caught:
        client.log_text(run_id, "x", "x.txt")
    _assert_plain(caught.value)


def test_without_boto3_the_error_says_what_to_install(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = client.create_run(client.create_experiment("no-boto3")).info.run_id
    monkeypatch.setenv("CARNET_S3_ENDPOINT_URL", "http://127.0.0.1:9/never-used")
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if it were not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'carnet\[s3\]'"):
        client.log_text(run_id, "x", "x.txt")


def test_a_malformed_s3_root_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for bad in ("s3://", "s3://Bad_Bucket/x", "s3://bucket/a/../b", "s3://bucket/x?y=1"):
        monkeypatch.setenv("CARNET_ARTIFACT_ROOT", bad)
        with pytest.raises(ConfigurationError, match="CARNET_ARTIFACT_ROOT"):
            Client(sqlite_uri(tmp_path))


def test_logged_model_files_live_in_the_bucket(
    client: Client, s3_root: str, s3_server: S3Server, tmp_path: Path
) -> None:
    experiment_id = client.create_experiment("models-in-a-bucket")
    model = client.create_logged_model(experiment_id, name="m")
    assert model.artifact_location == f"{s3_root}/{experiment_id}/models/{model.model_id}/artifacts"
    files = tmp_path / "model"
    files.mkdir()
    (files / "MLmodel").write_text("flavors: {}\n")
    client.log_model_artifacts(model.model_id, files)
    assert [f.path for f in client.list_logged_model_artifacts(model.model_id)] == ["MLmodel"]
    assert client.read_logged_model_artifact(model.model_id, "MLmodel") == b"flavors: {}\n"
    local = client.logged_model_folder(model.model_id)
    assert (local / "MLmodel").read_text() == "flavors: {}\n"
    prefix = _key_prefix(model.artifact_location, s3_server.bucket)
    assert s3_server.keys(prefix) == [f"{prefix}/MLmodel"]


def test_gc_purges_the_records_and_keeps_the_objects(
    client: Client, s3_server: S3Server, tmp_path: Path
) -> None:
    from carnet.store.purge import collect_garbage

    run = client.create_run(client.create_experiment("collected"))
    client.log_text(run.info.run_id, "kept", "kept.txt")
    client.delete_run(run.info.run_id)
    report = collect_garbage(client.tracking_uri)
    assert report.run_ids == [run.info.run_id]
    assert [run.info.run_id in line and "kept" in line for line in report.kept] == [True]
    prefix = _key_prefix(run.info.artifact_uri, s3_server.bucket)
    assert s3_server.keys(prefix) == [f"{prefix}/kept.txt"]
