"""``carnet models serve`` answers MLflow's scoring bodies as MLflow's server does, and
refuses the ones that do not fit with MLflow's error JSON (status, code, a message naming
the column and its type), never a traceback."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from carnet.models import load_input_example
from carnet.pyfunc import load_model
from tests.scoring.served import LoggedModel, serving

JSON = {"Content-Type": "application/json"}


def expected(logged: LoggedModel, rows: pd.DataFrame) -> list[float]:
    return [float(v) for v in load_model(logged.folder).predict(rows)]


def split(rows: pd.DataFrame) -> dict[str, object]:
    return {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}


def post(base: str, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{base}/invocations", content=content, headers=headers or JSON, timeout=30)


def predictions(answer: httpx.Response) -> list[float]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert list(document) == ["predictions"]
    return list(document["predictions"])


def refused(answer: httpx.Response, status: int, code: str, *fragments: str) -> str:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert set(document) == {"error_code", "message"}, document
    assert document["error_code"] == code, document
    message = str(document["message"])
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in message and 'File "' not in message
    return message


def test_each_body_format_predicts_as_pyfunc(base: str, logged: LoggedModel) -> None:
    rows = logged.frame.iloc[10:17]
    want = expected(logged, rows)
    records = rows.to_dict(orient="records")
    columns = {c: rows[c].tolist() for c in rows.columns}
    bodies = {
        "dataframe_split": {"dataframe_split": split(rows)},
        "dataframe_split, columns out of order": {
            "dataframe_split": split(rows[rows.columns[::-1]])
        },
        "dataframe_split with index": {"dataframe_split": {**split(rows), "index": list(range(7))}},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs as records": {"inputs": records},
        "inputs as columns": {"inputs": columns},
        "with params": {"dataframe_split": split(rows), "params": {"unused": 1}},
    }
    for name, body in bodies.items():
        got = predictions(post(base, body))
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    csv = rows.to_csv(index=False)
    got = predictions(post(base, csv, {"Content-Type": "text/csv"}))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got = predictions(post(base, csv, {"Content-Type": "text/csv; charset=utf-8"}))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_saved_serving_example_is_accepted(base: str, logged: LoggedModel) -> None:
    body = (logged.folder / "serving_input_example.json").read_bytes()
    example = load_input_example(logged.folder)  # as saved: JSON keeps 10 digits
    np.testing.assert_allclose(predictions(post(base, body)), expected(logged, example), rtol=1e-12)


def test_integers_for_double_columns_are_converted(base: str, logged: LoggedModel) -> None:
    rows = pd.DataFrame(np.arange(20).reshape(2, 10) - 5, columns=logged.frame.columns)
    got = predictions(post(base, {"dataframe_split": split(rows)}))
    np.testing.assert_allclose(got, expected(logged, rows.astype("float64")), rtol=1e-12)


def test_a_thousand_rows(base: str, logged: LoggedModel) -> None:
    rows = logged.frame.sample(1000, replace=True, random_state=3)
    want = expected(logged, rows)
    for body in (
        {"dataframe_split": split(rows)},
        {"dataframe_records": rows.to_dict(orient="records")},
    ):
        got = predictions(post(base, body))
        assert len(got) == 1000
        np.testing.assert_allclose(got, want, rtol=1e-12)
    got = predictions(post(base, rows.to_csv(index=False), {"Content-Type": "text/csv"}))
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bodies_that_do_not_fit_the_signature(base: str, logged: LoggedModel) -> None:
    rows = logged.frame.head(3)
    refused(
        post(base, {"dataframe_split": split(rows.drop(columns=["bmi"]))}),
        400,
        "INVALID_PARAMETER_VALUE",
        "lacks required column(s): bmi (double)",
    )
    refused(
        post(base, {"dataframe_records": rows.drop(columns=["s1", "s2"]).to_dict("records")}),
        400,
        "INVALID_PARAMETER_VALUE",
        "s1 (double), s2 (double)",
    )
    refused(
        post(base, rows.drop(columns=["bp"]).to_csv(index=False), {"Content-Type": "text/csv"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "bp (double)",
    )
    text = rows.assign(bmi=["a", "b", "c"])
    refused(
        post(base, {"dataframe_split": split(text)}),
        400,
        "BAD_REQUEST",
        "Failed to convert column 'bmi' to type 'double'",
        "could not convert string",
    )
    csv = rows.assign(age=["x", "y", "z"]).to_csv(index=False)
    refused(
        post(base, csv, {"Content-Type": "text/csv"}),
        400,
        "BAD_REQUEST",
        "Failed to convert column 'age' to type 'double'",
    )
    nested = rows.astype(object)
    nested.iloc[1, 2] = [1.0, 2.0]
    refused(
        post(base, {"dataframe_records": nested.to_dict("records")}),
        400,
        "BAD_REQUEST",
        "Failed to convert column 'bmi' to type 'double'",
    )


def test_what_mlflow_converts_or_ignores_is_accepted(base: str, logged: LoggedModel) -> None:
    """As MLflow's server: extra columns are ignored, numbers in text and booleans are
    converted to the column's type."""
    rows = logged.frame.head(3)
    want = expected(logged, rows)
    got = predictions(post(base, {"dataframe_split": split(rows.assign(extra=1.0, id="x"))}))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    as_text = rows.assign(bmi=[repr(v) for v in rows["bmi"]])
    got = predictions(post(base, {"dataframe_records": as_text.to_dict("records")}))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    flags = rows.assign(sex=[True, False, True])
    got = predictions(post(base, {"dataframe_records": flags.to_dict("records")}))
    np.testing.assert_allclose(got, expected(logged, flags.astype("float64")), rtol=1e-12)


def test_malformed_bodies(base: str, logged: LoggedModel) -> None:
    rows = logged.frame.head(2)
    refused(post(base, b'{"dataframe_split": '), 400, "BAD_REQUEST", "valid JSON")
    refused(post(base, b""), 400, "BAD_REQUEST", "empty")
    refused(post(base, b"\xff\xfe{}"), 400, "BAD_REQUEST", "valid JSON")
    refused(post(base, [1, 2]), 400, "BAD_REQUEST", "exactly one of", "Received a list")
    refused(post(base, {"data": split(rows)}), 400, "BAD_REQUEST", "exactly one of", "'data'")
    both = {"dataframe_split": split(rows), "inputs": rows.to_dict("records")}
    refused(post(base, both), 400, "BAD_REQUEST", "exactly one of")
    refused(
        post(base, {"dataframe_split": rows.to_dict("records")}),
        400,
        "BAD_REQUEST",
        "Dataframe split format must be a dictionary",
    )
    refused(post(base, {"dataframe_split": {"rows": []}}), 400, "BAD_REQUEST", "'data' field")
    refused(
        post(base, {"dataframe_records": split(rows)}),
        400,
        "BAD_REQUEST",
        "must be a list of records",
    )
    refused(
        post(base, {"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}),
        400,
        "BAD_REQUEST",
        "not a valid dataframe representation",
    )
    refused(post(base, {"inputs": split(rows), "params": [1]}), 400, "BAD_REQUEST", "'params'")
    deep = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    refused(post(base, deep), 400, "BAD_REQUEST", "valid JSON")


def test_content_types(base: str, logged: LoggedModel) -> None:
    body = json.dumps({"dataframe_split": split(logged.frame.head(1))})
    refused(
        post(base, body, {"Content-Type": "text/plain"}),
        415,
        "BAD_REQUEST",
        "only supports the following content types",
        "text/plain",
    )
    refused(
        post(base, body, {"Content-Type": "application/json; charset=latin-1"}),
        415,
        "BAD_REQUEST",
        "UTF-8",
    )
    refused(
        post(base, body, {"Content-Type": "application/json; format=pandas-split"}),
        415,
        "BAD_REQUEST",
        "Unrecognized content type parameters: format",
    )
    answer = httpx.post(f"{base}/invocations", content=body.encode(), timeout=10)
    refused(answer, 415, "BAD_REQUEST", "Content-Type")
    assert httpx.get(f"{base}/invocations", timeout=10).status_code == 405


def test_a_model_failure_is_a_400_without_a_traceback(base: str, logged: LoggedModel) -> None:
    rows = logged.frame.head(2).astype(object)
    rows.iloc[0, 3] = None
    message = refused(
        post(base, {"dataframe_records": rows.to_dict("records")}),
        400,
        "BAD_REQUEST",
        "evaluating the model",
        "NaN",
    )
    assert len(message) < 600


def test_ping_health_version(base: str) -> None:
    for path in ("/ping", "/health"):
        answer = httpx.get(base + path, timeout=10)
        assert answer.status_code == 200 and answer.text == "\n"
    answer = httpx.get(base + "/version", timeout=10)
    assert answer.status_code == 200 and answer.text == metadata.version("carnet")
    assert httpx.get(base + "/nothing", timeout=10).status_code == 404


def test_body_and_row_bounds(logged: LoggedModel, tmp_path: Path) -> None:
    bounds = {"CARNET_SCORING_MAX_BODY_MB": "1", "CARNET_SCORING_MAX_ROWS": "100"}
    with serving(logged.uri, logged.db, tmp_path / "serve.log", env=bounds) as base:
        rows = logged.frame.sample(101, replace=True, random_state=0)
        refused(
            post(base, {"dataframe_split": split(rows)}),
            400,
            "INVALID_PARAMETER_VALUE",
            "101 rows",
            "CARNET_SCORING_MAX_ROWS",
        )
        refused(
            post(base, rows.to_csv(index=False), {"Content-Type": "text/csv"}),
            400,
            "INVALID_PARAMETER_VALUE",
            "101 rows",
        )
        assert len(predictions(post(base, {"dataframe_split": split(rows.head(100))}))) == 100
        big = b'{"inputs": [' + b"1.0," * 300_000 + b"1.0]}"
        refused(
            post(base, big), 413, "INVALID_PARAMETER_VALUE", "1 MB", "CARNET_SCORING_MAX_BODY_MB"
        )

        def chunks():  # no Content-Length: the bound holds while the body streams in
            for _ in range(300):
                yield b" " * 10_000

        answer = httpx.post(f"{base}/invocations", content=chunks(), headers=JSON, timeout=30)
        refused(answer, 413, "INVALID_PARAMETER_VALUE", "1 MB")
        assert httpx.get(f"{base}/ping", timeout=10).status_code == 200


def test_workers(logged: LoggedModel, tmp_path: Path) -> None:
    with serving(logged.uri, logged.db, tmp_path / "serve.log", "--workers", "2") as base:
        rows = logged.frame.head(4)
        for _ in range(6):
            got = predictions(post(base, {"dataframe_split": split(rows)}))
            np.testing.assert_allclose(got, expected(logged, rows), rtol=1e-12)
    assert "Started parent process" in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize("uri", ["runs:/0123456789abcdef0123456789abcdef/model", "/no/such/model"])
def test_a_model_that_cannot_be_loaded_stops_the_start(uri: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.scoring.served import child_env

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "carnet.cli",
            "models",
            "serve",
            "-m",
            uri,
            "--db",
            f"sqlite:///{tmp_path / 'c.db'}",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert done.returncode == 1
    assert "Error:" in done.stderr and "Traceback" not in done.stderr
