"""Child processes for the reliability tests: ``python workers.py ROLE JSON-ARGS``.

Each role is what a real user process does (a training script, a dashboard
poll, a process opening an old store), so the tests can start several at the
same instant, kill them with real signals, and look at the store afterwards.
A role reports by printing one JSON line, and by writing marker files the
test waits for. Configuration that Carnet reads at import (heartbeat
interval and timeout, flush interval, safe mode) comes from the environment
the test gives the process.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

N_PARAMS = 5
N_TAGS = 3
EXPERIMENT = "concurrency"


def metric_value(worker: int, run: int, step: int) -> float:
    """A value that says who logged it, so a lost or misplaced point is visible."""
    return worker * 1_000_000 + run * 1_000 + step + 0.25


def expected_run(worker: int, run: int, points: int) -> dict[str, Any]:
    """What run ``run`` of ``worker`` must contain after :func:`log_one_run`."""
    return {
        "name": f"w{worker}-r{run}",
        "params": {f"p{j}": f"{worker}.{run}.{j}" for j in range(N_PARAMS)},
        "tags": {f"t{j}": f"tag {worker}/{run}/{j} ✓" for j in range(N_TAGS)},
        "loss": [metric_value(worker, run, s) for s in range(points)],
    }


def log_one_run(carnet: Any, worker: int, run: int, points: int) -> str:
    """One training run through the fluent API: params, single-call metrics, tags."""
    want = expected_run(worker, run, points)
    with carnet.start_run(run_name=want["name"]) as active:
        carnet.log_params(want["params"])
        for step, value in enumerate(want["loss"]):
            carnet.log_metric("loss", value, step=step)
        carnet.set_tags(want["tags"])
        return str(active.info.run_id)


def _mark(path: str, text: str) -> None:
    """Write a marker whole: the test may read it the instant the name appears."""
    tmp = Path(path + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _wait_for(go: Path, timeout: float | None = None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    while not go.exists() and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.001)


def writer(a: dict[str, Any]) -> dict[str, Any]:
    """A training process: runs one after another, as fast as it can.

    It reports (wall clock, seconds) when its first run was complete and when
    its last run began, so the test can tell which reads overlapped writing.
    With ``first_done`` and ``overlapped`` marker paths, it creates the first
    when its first run is complete and, before its last run, waits (60 s at
    most) for the reader to create the second: a read then surely falls
    between the two, however slow the reader's first read is.
    """
    import carnet

    carnet.set_tracking_uri(a["uri"])
    Path(a["ready"]).touch()
    _wait_for(Path(a["go"]))
    start = time.perf_counter()
    carnet.set_experiment(EXPERIMENT)
    ids = []
    first_done = last_begin = 0.0
    for r in range(a["runs"]):
        if r == a["runs"] - 1:
            if r > 0 and a.get("overlapped"):
                _wait_for(Path(a["overlapped"]), timeout=60)
            last_begin = time.time()
        ids.append(log_one_run(carnet, a["index"], r, a["points"]))
        if r == 0:
            first_done = time.time()
            if a.get("first_done"):
                Path(a["first_done"]).touch()
    return {
        "run_ids": ids,
        "seconds": time.perf_counter() - start,
        "first_done": first_done,
        "last_begin": last_begin,
    }


def reader(a: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's read path, polling while the writers work.

    A store that does not exist yet (or has no tables yet) is the one
    CarnetError a dashboard may see here: it shows "log a run first" and
    retries. Anything else is a failure. Each full read is reported with its
    wall-clock start and end, the run count it saw, and the name, status and
    loss history of the runs it sampled, for the test to check. With
    ``first_done`` and ``overlapped`` marker paths, it creates the second once
    a read that began after the first appeared is over (see :func:`writer`).
    """
    from carnet import Client
    from carnet.errors import StoreError

    stop = Path(a["stop"])
    Path(a["ready"]).touch()
    _wait_for(Path(a["go"]))
    polls = not_yet = rows_seen = 0
    reads: list[dict[str, Any]] = []
    client = None
    while not stop.exists() or polls == 0:  # at least one full read, however loaded
        if client is None:
            try:
                client = Client(a["uri"], read_only=True)
            except StoreError as exc:
                if "no Carnet" not in str(exc):
                    raise
                not_yet += 1
                time.sleep(0.005)
                continue
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            not_yet += 1
            time.sleep(0.005)
            continue
        ids = [experiment.experiment_id]
        # Looked at before the clock is read: a marker seen was made before ``began``.
        after_first_run = bool(a.get("first_done")) and Path(a["first_done"]).exists()
        began = time.time()
        frame = client.search_runs_frame(ids, order_by=["start_time DESC"], max_results=50)
        rows_seen = max(rows_seen, len(frame))
        count = client.count_runs(ids)
        sampled = []
        for run in client.search_runs(ids, max_results=3):
            got = client.get_run(run.info.run_id)
            history = client.get_metric_history(run.info.run_id, "loss")
            sampled.append([got.info.run_name, got.info.status, [m.value for m in history]])
        if a.get("filter"):
            client.search_runs(ids, filter_string=a["filter"], max_results=5)
        reads.append(
            {
                "began": began,
                "ended": time.time(),
                "rows": len(frame),
                "count": count,
                "runs": sampled,
            }
        )
        if after_first_run and a.get("overlapped"):
            Path(a["overlapped"]).touch()
        polls += 1
    return {"polls": polls, "not_yet": not_yet, "rows_seen": rows_seen, "reads": reads}


def _tracking(a: dict[str, Any]) -> Any:
    import carnet

    carnet.set_tracking_uri(a["uri"])
    carnet.set_experiment(a.get("experiment", "crashes"))
    return carnet


def crash(a: dict[str, Any]) -> dict[str, Any]:
    """Log synchronously, say so, then hang until the test SIGKILLs us."""
    carnet = _tracking(a)
    run = carnet.start_run(run_name="doomed")
    carnet.log_params({"lr": 0.01, "layers": 3})
    for step in range(a["points"]):
        carnet.log_metric("loss", 1.0 / (step + 1), step=step)
    carnet.set_tag("phase", "training")
    _mark(a["marker"], run.info.run_id)
    time.sleep(120)
    return {}


def buffered(a: dict[str, Any]) -> dict[str, Any]:
    """Queue points with synchronous=False, then wait for a signal (or exit, or raise)."""
    carnet = _tracking(a)

    def body(run_id: str) -> None:
        carnet.log_metric("sync", 1.0, step=0)
        for step in range(a["points"]):
            carnet.log_metric("buffered", float(step), step=step, synchronous=False)
        _mark(a["marker"], run_id)
        if a["then"] == "wait":
            time.sleep(120)
        elif a["then"] == "raise":
            raise ValueError(f"diverged at step {a['points']} {a['secret']}")

    if a["with_block"]:
        with carnet.start_run(run_name="buffered") as run:
            body(run.info.run_id)
    else:
        body(carnet.start_run(run_name="buffered").info.run_id)
    return {}


def open_store(a: dict[str, Any]) -> dict[str, Any]:
    """Open a store with the current code (which upgrades an old one), at the same instant."""
    from carnet import Client

    Path(a["ready"]).touch()
    _wait_for(Path(a["go"]))
    client = Client(a["uri"])
    return {"experiments": len(client.search_experiments(view_type="ALL"))}


def safe_training(a: dict[str, Any]) -> dict[str, Any]:
    """A training loop whose tracker breaks half-way: with safe mode it must finish."""
    carnet = _tracking(a)
    carnet.start_run(run_name="safe")
    done = 0
    for step in range(a["points"]):
        if step == a["points"] // 2:
            carnet.log_param("lr", 0.1)
            carnet.log_param("lr", 0.2)  # a tracking mistake: params are immutable
            carnet.log_metric("loss", "not a number", step=step)  # another one
        carnet.log_metric("loss", 1.0 / (step + 1), step=step)
        done += 1
    return {"steps": done}


ROLES = {
    "writer": writer,
    "reader": reader,
    "crash": crash,
    "buffered": buffered,
    "open_store": open_store,
    "safe_training": safe_training,
}


def main() -> None:
    # Set our own dispositions: a test run started as a background job (`make test &`,
    # nohup, some CI runners) hands its children SIGINT ignored, and the tests that
    # interrupt a worker would wait for it forever.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    role, args = sys.argv[1], json.loads(sys.argv[2])
    try:
        result = ROLES[role](args)
    except Exception:
        if args.get("expect_exception"):
            raise  # the test wants Python's own uncaught-exception path
        traceback.print_exc()
        sys.exit(3)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
