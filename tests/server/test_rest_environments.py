"""Environment records over http: Carnet's SDK keeps a run's record on the server once per
process, ``carnet reproduce`` reads it back, and the endpoints refuse what is not a record."""

from __future__ import annotations

import base64
import json

import pytest

import carnet
from carnet import capture
from carnet.entities import EnvironmentRecord
from carnet.errors import InvalidInputError, NotFoundError
from carnet.record_digest import MAX_PATCH_BYTES, record_digest
from carnet.reproduce_plan import recorded_environment
from tests.server.served import Server, assert_mlflow_error, call

PUT = "/api/2.0/carnet/environments/put"
GET = "/api/2.0/carnet/environments/get"


def body(record: bytes, patch: bytes | None = None, digest: str | None = None) -> dict[str, str]:
    out = {
        "digest": digest or record_digest(record, patch),
        "record": base64.b64encode(record).decode(),
    }
    if patch is not None:
        out["patch"] = base64.b64encode(patch).decode()
    return out


def test_runs_started_over_http_share_one_record_kept_on_the_server(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_CAPTURE", "on")
    carnet.set_tracking_uri(server.base)
    carnet.set_experiment("environments over http")
    with carnet.start_run() as first:
        pass
    with carnet.start_run() as second:
        pass
    client = carnet.Client(server.base)
    one, two = client.get_run(first.info.run_id), client.get_run(second.info.run_id)
    digest = one.data.tags[capture.ENVIRONMENT_TAG]
    assert two.data.tags[capture.ENVIRONMENT_TAG] == digest
    assert (
        int(two.data.tags[capture.RUN_INDEX_TAG]) == int(one.data.tags[capture.RUN_INDEX_TAG]) + 1
    )
    record, _ = recorded_environment(client, two)
    assert record["run_index"] == int(two.data.tags[capture.RUN_INDEX_TAG])
    assert {"distributions", "entry_point", "git", "python"} <= set(record)
    # the same record, read from the server's store directly
    direct = carnet.Client(server.uri, read_only=True).store.get_environment_record(digest)
    assert direct == client.store.get_environment_record(digest)


def test_a_record_and_its_patch_round_trip_byte_for_byte(server: Server) -> None:
    record, patch = b'{"format": 1, "x": "\\u00e9"}', bytes(range(256)) * 10
    digest = record_digest(record, patch)
    assert call(server, "POST", PUT, body(record, patch)).status == 200
    assert call(server, "POST", PUT, body(record, patch)).status == 200  # again: no change
    got = call(server, "GET", f"{GET}?digest={digest}").json()
    assert base64.b64decode(got["record"]) == record and base64.b64decode(got["patch"]) == patch
    kept = carnet.Client(server.base).store.get_environment_record(digest)
    assert kept == EnvironmentRecord(digest, record, patch)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"digest": "0" * 64}, "does not match its digest"),
        ({"digest": "ABC"}, "64 lowercase hex digits"),
        ({"record": "not base64!"}, "'record' must be base64"),
        ({"patch": "@@@"}, "'patch' must be base64"),
        ({"record": 12}, "record"),
    ],
)
def test_a_bad_record_is_refused_and_nothing_is_kept(
    server: Server, change: dict[str, object], words: str
) -> None:
    record = b'{"format": 1, "bad": true}'
    sent = {**body(record), **change}
    message = assert_mlflow_error(
        call(server, "POST", PUT, sent), 400, "INVALID_PARAMETER_VALUE", server=server
    )
    assert words in message
    answer = call(server, "GET", f"{GET}?digest={record_digest(record, None)}")
    assert_mlflow_error(answer, 404, "RESOURCE_DOES_NOT_EXIST", server=server)


def test_oversized_and_non_json_bodies_are_refused(server: Server) -> None:
    big = b"x" * (MAX_PATCH_BYTES + 1)
    answer = call(server, "POST", PUT, body(b"{}", big))
    assert "at most" in assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)
    raw = json.dumps(body(b"{}")).encode()
    answer = call(server, "POST", PUT, raw=raw, content_type="text/plain")
    assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)
    answer = call(server, "POST", PUT, raw=b"[1, 2]")
    assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)
    answer = call(server, "GET", f"{GET}?digest=../../etc")
    assert_mlflow_error(answer, 400, "INVALID_PARAMETER_VALUE", server=server)


def test_the_rest_store_checks_a_record_before_sending_it(server: Server) -> None:
    store = carnet.Client(server.base).store
    with pytest.raises(InvalidInputError, match="does not match its digest"):
        store.put_environment_record(EnvironmentRecord("0" * 64, b"{}"))
    with pytest.raises(NotFoundError):
        store.get_environment_record("1" * 64)
