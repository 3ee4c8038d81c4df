"""(n) Model serving: ``carnet models serve`` against ``mlflow models serve``, same model,
same bodies, same load generator.

The model is the tutorial's diabetes ElasticNet, logged once by Carnet with a
signature and an input example (MLflow loads Carnet's models, so both servers
serve the very same folder). Each repetition starts one server as an operator
would (Carnet: ``carnet models serve -m FOLDER``; MLflow: ``mlflow models serve
-m FOLDER --env-manager local``, both one worker on localhost), waits for
``/ping``, then drives it with ``wrk`` (keep-alive, one connection for
latency, four for throughput) for ``--scoring-seconds`` per figure:

1. a one-row ``dataframe_split`` body: p50 and p99 latency, one connection;
2. the same with four connections: requests/s (the issue's "4 concurrent clients");
3. a 1,000-row ``dataframe_split`` body: p50 and p99 latency and requests/s, one connection.

Every answer must be a 200: any other status or a socket error fails the
workload. Without ``wrk`` (Debian's package ``wrk``) a keep-alive httpx client
in this process measures the same figures, more slowly. Cold
``pyfunc.load_model`` is timed in fresh interpreters: the import of the
pyfunc module and the load call, each side.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import mlflow_env
from bench.config import REPO, Config
from bench.harness import Plan, Row, Samples, Variant, median, run_worker
from bench.server import clean_env, free_port, tail

START_TIMEOUT_S = 180.0
#: The issue's targets: requests/s against MLflow's, p99 latencies, cold load.
MLFLOW_FACTOR = 5.0
P99_ONE_MS = 2.0
P99_THOUSAND_MS = 3.0
LOAD_S = 0.2
CONCURRENCY = 4
#: wrk prints one JSON line when a run is done (latencies in microseconds).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"p50_us": %d, "p99_us": %d, "requests": %d, "duration_us": %d, "errors": %d, '
    .. '"non2xx": %d}\\n', latency:percentile(50), latency:percentile(99), summary.requests,
    summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
end
"""
LOAD_CODE = """
import json, sys, time
t0 = time.perf_counter()
import {module} as pyfunc
t1 = time.perf_counter()
if sys.argv[2] == "library-first":
    import sklearn.linear_model
t2 = time.perf_counter()
model = pyfunc.load_model(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "library_s": t2 - t1, "load_s": t3 - t2}}))
"""


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    """``prepare``: log the model and write the bodies (in a fresh interpreter)."""
    assert variant == "prepare"
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import ElasticNet

    import carnet
    import carnet.sklearn
    from carnet.models import resolve_model_folder

    folder = Path(args["folder"])
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    model = ElasticNet(alpha=0.01, l1_ratio=0.5, random_state=0).fit(x, y)
    db = f"sqlite:///{folder / 'carnet.db'}"
    carnet.set_tracking_uri(db)
    with carnet.start_run():
        info = carnet.sklearn.log_model(model, name="model", input_example=x.head(5))
    model_dir = resolve_model_folder(info.model_uri, db)
    for name, rows in (
        ("one", x.head(1)),
        ("thousand", x.sample(1000, replace=True, random_state=0)),
    ):
        body = {
            "dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}
        }
        (folder / f"{name}.json").write_text(json.dumps(body))
    return {"model": str(model_dir)}


def carnet_env() -> dict[str, str]:
    """The clean environment, with this checkout's Carnet first on the path."""
    return clean_env(PYTHONPATH=os.pathsep.join([str(REPO / "sdk"), str(REPO)]))


def server_command(tool: str, model: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The command line an operator types for ``tool``, and its environment."""
    if tool == "carnet":
        return [
            sys.executable,
            "-m",
            "carnet.cli",
            "models",
            "serve",
            "-m",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ], carnet_env()
    python = mlflow_env.python()
    # mlflow models serve execs `uvicorn` from PATH: its own venv's
    env = clean_env(
        PATH=f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
    )
    return [
        str(python),
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        model,
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ], env


def _pinged(base: str) -> bool:
    with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/ping", timeout=2) as r:
        return bool(r.status == 200)
    return False


@contextlib.contextmanager
def serving(tool: str, model: str, folder: Path) -> Iterator[str]:
    """``tool``'s model server on a free port until the block ends; yields its URL."""
    port = free_port()
    command, env = server_command(tool, model, port)
    log = folder / f"{tool}-serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
            start_new_session=True,
        )  # a fixed argv, no shell
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _pinged(base):
            if proc.poll() is not None:
                raise RuntimeError(f"{tool} models serve exited {proc.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tool} models serve: no /ping in {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wrk(url: str, body: Path, connections: int, seconds: int, folder: Path) -> dict[str, Any]:
    """One wrk run POSTing ``body``: p50/p99 (s), requests/s; a non-200 fails it."""
    script = folder / f"{body.stem}.lua"
    payload = body.read_text()
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{payload}]==]\n{WRK_REPORT}"
    )
    threads = min(connections, 2)
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["errors"] or report["non2xx"] or not report["requests"]:
        raise RuntimeError(f"{url}: not every answer was a 200: {report}")
    return {
        "p50_s": report["p50_us"] / 1e6,
        "p99_s": report["p99_us"] / 1e6,
        "rps": report["requests"] / (report["duration_us"] / 1e6),
    }


def httpx_load(url: str, body: Path, connections: int, seconds: int) -> dict[str, Any]:
    """wrk's figures from keep-alive httpx clients in threads (when wrk is missing)."""
    import httpx

    content = body.read_bytes()
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(headers={"Content-Type": "application/json"}, timeout=30) as c:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                answer = c.post(url, content=content)
                latencies.append(time.perf_counter() - t0)
                if answer.status_code != 200:
                    raise RuntimeError(f"{url} answered {answer.status_code}")

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "p50_s": quantiles[49],
        "p99_s": quantiles[98],
        "rps": len(latencies) / (time.monotonic() - began),
    }


def one_round(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Start ``tool``'s server, drive it with each load, stop it."""
    load = wrk if shutil.which("wrk") else None
    out: dict[str, Any] = {}
    data = Path(args["data"])
    with (
        tempfile.TemporaryDirectory(dir=args["tmp"]) as tmp,
        serving(tool, args["model"], Path(tmp)) as base,
    ):
        url = f"{base}/invocations"
        for key, body, connections in (
            ("one", "one", 1),
            ("one_c4", "one", CONCURRENCY),
            ("thousand", "thousand", 1),
        ):
            path, seconds = data / f"{body}.json", args["seconds"]
            got = (
                load(url, path, connections, seconds, Path(tmp))
                if load is not None
                else httpx_load(url, path, connections, seconds)
            )
            out.update({f"{key}_{k}": v for k, v in got.items()})
    return out


def cold_load(tool: str, model: str, mode: str) -> dict[str, Any]:
    """Import the pyfunc module and load the model in a fresh interpreter of ``tool``;
    ``mode`` ``library-first`` imports scikit-learn before the (timed) load call, so the
    call shows what the loader itself costs beside the import unpickling needs."""
    python = sys.executable if tool == "carnet" else str(mlflow_env.python())
    module = "carnet.pyfunc" if tool == "carnet" else "mlflow.pyfunc"
    env = (
        carnet_env() if tool == "carnet" else clean_env(MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true")
    )
    if tool != "carnet":
        env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [python, "-c", LOAD_CODE.format(module=module), model, mode],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} load_model failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def plan(cfg: Config) -> Plan:
    """Carnet's and MLflow's model servers, interleaved, and their cold loads."""
    folder = cfg.tmp_dir() / "scoring"
    args: dict[str, Any] = {
        "tmp": str(cfg.tmp_dir()),
        "data": str(folder),
        "seconds": cfg.scoring_seconds,
    }
    tools = ["carnet", "mlflow"] if cfg.mlflow else ["carnet"]

    def prepare() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        args["model"] = run_worker("scoring", "prepare", {"folder": str(folder)})["model"]

    variants = [Variant(t, lambda t=t: one_round(t, args)) for t in tools]
    variants += [
        Variant(f"{t}-{mode}", lambda t=t, mode=mode: cold_load(t, args["model"], mode))
        for t in tools
        for mode in ("load", "library-first")
    ]

    def summarize(s: Samples) -> list[Row]:
        def ms(variant: str, key: str) -> float | None:
            v = median(s, variant, key)
            return None if v is None else v * 1000

        rows = [
            Row(
                "n",
                f"1-row body, {CONCURRENCY} connections: requests/s",
                "/s",
                median(s, "carnet", "one_c4_rps"),
                higher=True,
                mlflow=median(s, "mlflow", "one_c4_rps"),
                mlflow_note="mlflow models serve",
                mlflow_target=MLFLOW_FACTOR,
                target_text=f"≥ {MLFLOW_FACTOR:.0f}× mlflow",
            ),
            Row(
                "n",
                "1-row body, 1 connection: p50 latency",
                "ms",
                ms("carnet", "one_p50_s"),
                mlflow=ms("mlflow", "one_p50_s"),
                mlflow_note="mlflow models serve",
                mlflow_target=None,
            ),
            Row(
                "n",
                "1-row body, 1 connection: p99 latency",
                "ms",
                ms("carnet", "one_p99_s"),
                mlflow=ms("mlflow", "one_p99_s"),
                mlflow_note="mlflow models serve",
                target=P99_ONE_MS,
                target_text=f"≤ {P99_ONE_MS:g} ms",
                mlflow_target=None,
            ),
            Row(
                "n",
                "1-row body, 1 connection: requests/s",
                "/s",
                median(s, "carnet", "one_rps"),
                higher=True,
                mlflow=median(s, "mlflow", "one_rps"),
                mlflow_note="mlflow models serve",
                mlflow_target=MLFLOW_FACTOR,
                target_text=f"≥ {MLFLOW_FACTOR:.0f}× mlflow",
            ),
            Row(
                "n",
                "1,000-row body, 1 connection: p50 latency",
                "ms",
                ms("carnet", "thousand_p50_s"),
                mlflow=ms("mlflow", "thousand_p50_s"),
                mlflow_note="mlflow models serve",
                mlflow_target=None,
            ),
            Row(
                "n",
                "1,000-row body, 1 connection: p99 latency",
                "ms",
                ms("carnet", "thousand_p99_s"),
                mlflow=ms("mlflow", "thousand_p99_s"),
                mlflow_note="mlflow models serve",
                target=P99_THOUSAND_MS,
                target_text=f"≤ {P99_THOUSAND_MS:g} ms",
                mlflow_target=None,
            ),
            Row(
                "n",
                "1,000-row body, 1 connection: requests/s",
                "/s",
                median(s, "carnet", "thousand_rps"),
                higher=True,
                mlflow=median(s, "mlflow", "thousand_rps"),
                mlflow_note="mlflow models serve",
                mlflow_target=None,
            ),
            Row(
                "n",
                "pyfunc.load_model cold, scikit-learn imported before (the load call)",
                "s",
                median(s, "carnet-library-first", "load_s"),
                mlflow=median(s, "mlflow-library-first", "load_s"),
                mlflow_note="mlflow.pyfunc",
                target=LOAD_S,
                target_text=f"≤ {LOAD_S:g} s",
                mlflow_target=None,
            ),
            Row(
                "n",
                "pyfunc.load_model cold, the call importing scikit-learn itself",
                "s",
                median(s, "carnet-load", "load_s"),
                mlflow=median(s, "mlflow-load", "load_s"),
                mlflow_note="mlflow.pyfunc",
                mlflow_target=None,
            ),
            Row(
                "n",
                "import of the pyfunc module (fresh interpreter)",
                "s",
                median(s, "carnet-load", "import_s"),
                mlflow=median(s, "mlflow-load", "import_s"),
                mlflow_note="import mlflow.pyfunc",
                mlflow_target=None,
            ),
        ]
        generator = "wrk" if shutil.which("wrk") else "keep-alive httpx clients (no wrk)"
        result.notes.append(
            f"load generator: {generator}, {cfg.scoring_seconds} s per figure; both servers "
            "one worker on localhost serving the same Carnet-logged diabetes ElasticNet "
            "folder; bodies: dataframe_split of 1 and 1,000 rows; every answer a 200"
        )
        return rows

    result = Plan(variants, summarize, prepare=prepare)
    return result
