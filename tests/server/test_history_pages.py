"""metrics/get-history served a page at a time: every point once, in order, spelled as
MLflow's protobuf JSON (non-finite values as strings), whatever the key holds."""

from __future__ import annotations

import math
import urllib.parse

import carnet
from tests.server.served import Server, call

API = "/api/2.0/mlflow"
#: A key with a space, a slash and a letter JSON escapes.
KEY = "val/loss: é-1"


def _pages(server: Server, run_id: str, page: int | None) -> list[dict[str, object]]:
    points: list[dict[str, object]] = []
    token = None
    while True:
        query = {"run_id": run_id, "metric_key": KEY}
        if page is not None:
            query["max_results"] = str(page)
        if token:
            query["page_token"] = token
        answer = call(server, "GET", f"{API}/metrics/get-history?{urllib.parse.urlencode(query)}")
        assert answer.status == 200
        body = answer.json()
        points.extend(body.get("metrics", []))
        token = body.get("next_page_token")
        if token is None:
            return points


def test_pages_hold_every_point_once_in_order(any_server: Server) -> None:
    client = carnet.Client(any_server.uri)
    run_id = client.create_run(client.create_experiment("pages")).info.run_id
    values = [0.5 * i for i in range(2500)]
    values[3], values[1200], values[2499] = math.nan, math.inf, -math.inf
    metrics = [(KEY, v, 1_000 + i, i) for i, v in enumerate(values)]
    metrics.append((KEY, 7.0, 5, 2_000))  # logged out of step order: served in step order
    client.log_batch(run_id, metrics=metrics)
    expected = sorted(
        ({"key": KEY, "value": v, "timestamp": t, "step": s} for _, v, t, s in metrics),
        key=lambda m: (m["step"], m["timestamp"]),
    )
    for m in expected:
        v = m["value"]
        assert isinstance(v, float)
        if not math.isfinite(v):
            m["value"] = "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    whole = _pages(any_server, run_id, None)
    assert whole == expected
    assert _pages(any_server, run_id, 1000) == expected
    assert _pages(any_server, run_id, 2501) == expected


def test_an_empty_history_has_no_metrics_field(any_server: Server) -> None:
    client = carnet.Client(any_server.uri)
    run_id = client.create_run(client.create_experiment("empty")).info.run_id
    query = urllib.parse.urlencode({"run_id": run_id, "metric_key": "none", "max_results": 10})
    answer = call(any_server, "GET", f"{API}/metrics/get-history?{query}")
    assert answer.status == 200 and answer.json() == {}
