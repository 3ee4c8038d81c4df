"""Sort keys and filters that once crashed the process, through the SDK, the CLI and
the dashboard, each in a child process so a crash is a failed test, not a dead pytest.

Before ``order_by`` was bounded, 21 param keys (or 31 metric keys) made SQLite 3.40
segfault (one LEFT JOIN and up to three ORDER BY terms per key), 1,000 copies of one
key raised RecursionError, 200 metric keys surfaced SQLAlchemy's "too many FROM
clause terms" with the SQL text, and a filter nested 26 levels deep overflowed
SQLite's parser. Each now runs, or is a ``FilterError`` that says the bound, with
no SQL in it; on the dashboard it is an inline message, never an exception.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import carnet
from carnet.store.engine import dispose_engines

from .conftest import REPO, worker_env

RUNS = 12
PARAMS = 25
METRICS = 40
EXPERIMENT = "bounds"
SQL_WORDS = ("SELECT", "FROM ", "JOIN", "[SQL", "Traceback", "sqlalchemy")


def params(n: int) -> list[str]:
    return [f"params.p{i}" for i in range(n)]


def metrics(n: int) -> list[str]:
    return [f"metrics.m{i}" for i in range(n)]


def alternating(depth: int) -> str:
    """``(c AND (c OR (c AND ...)))``: ``depth`` levels of logic, the hardest for SQLite."""
    leaf = "params.p0 NOT IN ('a', -1)"
    text = leaf
    for i in range(depth):
        text = f"({leaf} {'OR' if i % 2 else 'AND'} {text})"
    return text


#: name -> (filter, order_by, page size); the child reports labels or the error.
SDK_CASES: dict[str, tuple[str, list[str], int | None]] = {
    "21 params": ("", params(21), None),
    "31 metrics": ("", metrics(31), None),
    "31 metrics, paged": ("", metrics(31), 5),
    "200 metrics": ("", metrics(METRICS) * 5 + [f"metrics.n{i}" for i in range(160)], None),
    "1000 copies": ("", ["metrics.m0 DESC"] * 1000, None),
    "1000 copies, paged": ("", ["metrics.m0 DESC"] * 1000, 5),
    "10 params": ("", params(10), None),
    "10 params, paged": ("", params(10), 5),
    "10 keys and 200 comparisons": (
        " OR ".join(f"metrics.m{i % METRICS} >= {i}" for i in range(200)),
        params(5) + metrics(5),
        5,
    ),
    "not x 40": ("NOT " * 40 + "metrics.m0 > 0", [], 5),
    "26 levels": (alternating(26), params(1), 5),
    "10 levels": (alternating(10), params(10), 5),
}


def by_p0(descending: bool = False) -> list[str]:
    """Every run has a distinct p0 and m0 (= p0), so the first key decides the order."""
    order = sorted(range(RUNS), key=lambda i: float(i * 7 % RUNS) / 4, reverse=descending)
    return [f"r{i:02d}" for i in order]


def write_store(uri: str) -> None:
    client = carnet.Client(uri)
    experiment_id = client.create_experiment(EXPERIMENT)
    for i in range(RUNS):
        run_id = client.create_run(experiment_id, run_name=f"r{i:02d}").info.run_id
        value = (i * 7 % RUNS) / 4
        client.log_batch(
            run_id,
            metrics=[(f"m{k}", value + k, 0, 0) for k in range(METRICS)],
            params=[(f"p{k}", str(value + k)) for k in range(PARAMS)],
            tags=[("team", "a" if i % 2 else "b")],
        )
        client.set_terminated(run_id)
    dispose_engines()


@pytest.fixture(scope="module")
def store(module_uri: str) -> Iterator[str]:
    write_store(module_uri)
    yield module_uri
    dispose_engines()


def child(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run this module's ``main`` in a fresh interpreter; fail clearly if it crashed."""
    code = "import sys; from tests.reliability.test_order_bounds import main; main(sys.argv[1:])"
    return run([sys.executable, "-c", code, *args], timeout)


def run(argv: list[str], timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        argv,
        env=worker_env(**env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode < 0:
        pytest.fail(
            f"the process died of signal {-proc.returncode}; stderr:\n{proc.stderr[-3000:]}"
        )
    return proc


# -- what the child process does ---------------------------------------------------------
def _sdk(uri: str) -> dict[str, Any]:
    carnet.set_tracking_uri(uri)
    client = carnet.Client(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    experiment_id = experiment.experiment_id
    out: dict[str, Any] = {}
    for name, (text, order_by, size) in SDK_CASES.items():
        try:
            if size is None:
                frame = client.search_runs_frame([experiment_id], text, order_by=order_by)
                out[name] = {"runs": [str(n) for n in frame["run_name"]]}
            else:
                page = client.search_runs(
                    [experiment_id], text, max_results=size, order_by=order_by
                )
                out[name] = {"runs": [r.info.run_name for r in page]}
        except carnet.CarnetError as exc:
            out[name] = {"error": type(exc).__name__, "message": str(exc)}
    return out


def _dashboard(uri: str) -> dict[str, Any]:
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["CARNET_TRACKING_URI"] = uri
    out: dict[str, Any] = {}
    cases = {
        "21 sort keys": {"sort": ", ".join(params(21))},
        "200 sort keys": {"sort": ", ".join(metrics(METRICS) * 5)},
        "1000 copies": {"sort": ", ".join(["metrics.m0 DESC"] * 1000)},
        "deep query": {"q": alternating(26), "sort": "params.p0"},
    }
    for name, url in cases.items():
        for page in ("runs", "compare", "run"):
            at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=90)
            at.query_params["exp"] = EXPERIMENT
            for key, value in url.items():
                at.query_params[key] = value
            at.run()
            if page != "runs":
                at.switch_page(f"app_pages/{page}.py").run()
            shown = [e.value for e in (*at.error, *at.warning, *at.markdown, *at.code)]
            out[f"{name} on {page}"] = {
                "exceptions": [str(e.value) for e in at.exception],
                "errors": [str(e.value) for e in at.error],
                "shown": [str(v) for v in shown],
            }
    return out


def main(argv: list[str]) -> None:
    """``python -c ... main(['sdk' | 'dashboard', URI])``: print the outcomes as JSON."""
    role, uri = argv
    result = _sdk(uri) if role == "sdk" else _dashboard(uri)
    print(json.dumps(result))


def _outcomes(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the tests ---------------------------------------------------------------------------
def test_sdk_bounds_sort_keys_and_nesting(store: str) -> None:
    out = _outcomes(child("sdk", store))
    for name in ("21 params", "31 metrics", "31 metrics, paged", "200 metrics"):
        assert out[name]["error"] == "FilterError", (name, out[name])
        message = out[name]["message"]
        assert "at most 10 different keys" in message and "clause 11" in message, message
        assert not any(word in message for word in SQL_WORDS), message
    for name in ("not x 40", "26 levels"):
        assert out[name]["error"] == "FilterError", (name, out[name])
        assert "nests deeper than 10 levels" in out[name]["message"]
    assert out["1000 copies"]["runs"] == by_p0(descending=True)
    assert out["1000 copies, paged"]["runs"] == by_p0(descending=True)[:5]
    assert out["10 params"]["runs"] == by_p0()
    assert out["10 params, paged"]["runs"] == by_p0()[:5]
    assert out["10 keys and 200 comparisons"]["runs"] == by_p0()[:5]
    assert out["10 levels"]["runs"] == by_p0()[:5]


def test_cli_bounds_sort_keys(store: str) -> None:
    def carnet_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run([sys.executable, "-m", "carnet.cli", *args], 120)

    base = ["runs", "search", "--db", store, "-e", EXPERIMENT, "--format", "csv"]
    for keys in (params(21), metrics(METRICS) * 5):
        proc = carnet_cli(*base, *(arg for key in keys for arg in ("--order-by", key)))
        assert proc.returncode == 1, proc.stderr
        assert "at most 10 different keys" in proc.stderr
        assert not any(word in proc.stderr for word in SQL_WORDS), proc.stderr
    proc = carnet_cli(*base, "--filter", alternating(26))
    assert proc.returncode == 1 and "nests deeper than 10 levels" in proc.stderr, proc.stderr
    proc = carnet_cli(*base, "--columns", "run_name", *["--order-by", "metrics.m0 DESC"] * 1000)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[1:] == by_p0(descending=True)


def test_dashboard_shows_sort_and_nesting_bounds_inline(store: str) -> None:
    out = _outcomes(child("dashboard", store, timeout=900))
    for name, page in out.items():
        assert page["exceptions"] == [], (name, page["exceptions"])
        for text in page["shown"]:
            assert not any(word in text for word in ("SELECT", "[SQL", "Traceback")), (name, text)
    for page in ("runs", "compare"):
        for name in ("21 sort keys", "200 sort keys"):
            errors = " ".join(out[f"{name} on {page}"]["errors"])
            assert "at most 10 different keys" in errors, (name, page, errors)
        errors = " ".join(out[f"deep query on {page}"]["errors"])
        assert "nests deeper than 10 levels" in errors, (page, errors)
        assert out[f"1000 copies on {page}"]["errors"] == []
