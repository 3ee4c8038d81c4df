"""``carnet server --artifacts s3://...``: the real MLflow client logs and downloads
artifacts through the server's proxy, with no bucket endpoint or credentials of its own."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from carnet import Client
from tests.s3.conftest import S3Server
from tests.server.served import call, carnet_server, run_mlflow

SCRIPT = Path(__file__).resolve().parent / "scripts" / "mlflow_artifacts.py"


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--artifacts", "--artifacts-destination"])
def test_mlflow_client_through_the_server_proxy(
    s3_server: S3Server, tmp_path: Path, flag: str
) -> None:
    prefix = f"srv-{uuid.uuid4().hex[:12]}"
    root = f"s3://{s3_server.bucket}/{prefix}"
    with carnet_server(tmp_path / "server", args=(flag, root), env=s3_server.env()) as server:
        seen = run_mlflow(server, str(SCRIPT), tmp_path / "mlflow")
        experiment_id, run_id = seen["experiment_id"], seen["run_id"]
        assert seen["s3_variables"] == []  # the client has no way to reach the bucket itself
        assert seen["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
        assert seen["root_listing"] == [
            ["config.json", False],
            ["data", True],
            ["model.txt", False],
            ["notes", True],
            ["tree", True],
        ]
        assert seen["tree_listing"] == [["tree/a.txt", False], ["tree/sub", True]]
        assert seen["text"] == "hello carnet\n"
        assert seen["dict"] == {"alpha": 0.1}
        assert seen["downloaded"]["data/big.bin"] == seen["big_sha256"]

        # Every file is an object under the run's prefix in the bucket, and nowhere else.
        run_prefix = f"{prefix}/{experiment_id}/{run_id}/artifacts/"
        stored = s3_server.keys(prefix)
        assert [k.removeprefix(run_prefix) for k in stored] == sorted(seen["downloaded"])
        bucket = s3_server.client()
        for key in stored:
            body = bucket.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == seen["downloaded"][key[len(run_prefix) :]]
        assert not (server.folder / "artifacts").exists()

        # Paths that would leave the run are refused by the proxy; nothing reaches the bucket.
        base = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts"
        for escape in ("%2e%2e/%2e%2e/escape.txt", "..%2F..%2Fescape.txt", "a/%2E%2E/../x.txt"):
            answer = call(server, "PUT", f"{base}/{escape}", raw=b"x", content_type=None)
            assert answer.status in (400, 404), (escape, answer.status, answer.body[:300])
        assert s3_server.keys(prefix) == stored

        # Carnet's own SDK over HTTP reads the same files, also without credentials.
        remote = Client(server.base)
        assert remote.read_artifact(run_id, "model.txt") == b"weights: 1 2 3\n"


@pytest.mark.slow
def test_mlflow_logged_models_keep_their_files_in_the_bucket(
    s3_server: S3Server, tmp_path: Path
) -> None:
    prefix = f"models-{uuid.uuid4().hex[:12]}"
    root = f"s3://{s3_server.bucket}/{prefix}"
    with carnet_server(tmp_path / "server", args=("--artifacts", root), env=s3_server.env()) as srv:
        seen = run_mlflow(srv, "logged_models.py", tmp_path / "mlflow")
    assert seen["sklearn_ok"] and seen["pyfunc_ok"] and seen["runs_uri_ok"]
    assert seen["autolog_predict_ok"]
    model_id = seen["model_id"]
    keys = s3_server.keys(prefix)
    model_files = [k for k in keys if f"/models/{model_id}/artifacts/" in k]
    assert any(k.endswith(f"/models/{model_id}/artifacts/MLmodel") for k in model_files), keys
    assert all(k.startswith(f"{prefix}/") for k in keys)
    assert not (tmp_path / "server" / "artifacts").exists()
