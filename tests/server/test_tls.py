"""``--ssl-keyfile`` and ``--ssl-certfile``: the server speaks HTTPS (dashboard and API on
the same port) and the real MLflow client logs over it, trusting the certificate."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

import carnet
from carnet.errors import ConfigurationError
from tests.server.served import call, carnet_server, run_mlflow


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (it makes the test certificate)")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(  # a fixed argv, no shell
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return key, cert


def test_https_with_the_mlflow_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key, cert = _certificate(tmp_path)
    args = ("--ssl-keyfile", str(key), "--ssl-certfile", str(cert))
    with carnet_server(tmp_path / "server", args=args, ca=cert) as server:
        assert server.base.startswith("https://")
        assert call(server, "GET", "/health").body == b"OK"
        assert b"<html" in call(server, "GET", "/").body.lower()
        plain = server.base.replace("https://", "http://") + "/health"
        with pytest.raises((OSError, http.client.HTTPException)):  # no plain HTTP on it
            urllib.request.urlopen(plain, timeout=10)
        result = run_mlflow(
            server,
            "tls.py",
            tmp_path / "mlflow",
            env={"MLFLOW_TRACKING_SERVER_CERT_PATH": str(cert)},
        )
        # Carnet's own SDK over HTTPS: refused at once without the CA, then trusting it.
        monkeypatch.delenv("CARNET_TRACKING_SERVER_CERT_PATH", raising=False)
        monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH", raising=False)
        with pytest.raises(ConfigurationError, match="CARNET_TRACKING_SERVER_CERT_PATH"):
            carnet.Client(server.base).get_experiment_by_name("Default")
        monkeypatch.setenv("CARNET_TRACKING_SERVER_CERT_PATH", str(cert))
        carnet.set_tracking_uri(server.base)
        carnet.set_experiment("carnet over TLS")
        with carnet.start_run() as ours:
            carnet.log_param("secure", "also")
            carnet.log_text("Carnet over TLS", "note.txt")
        assert carnet.Client().read_artifact(ours.info.run_id, "note.txt") == b"Carnet over TLS"
    assert result["text"] == "over TLS" and result["params"] == {"secure": "yes"}
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(server.artifacts))
    store = carnet.Client(server.uri, read_only=True)
    assert store.get_run(result["run_id"]).data.params == {"secure": "yes"}
    assert store.read_artifact(result["run_id"], "note.txt") == b"over TLS"
    assert store.get_run(ours.info.run_id).data.params == {"secure": "also"}
