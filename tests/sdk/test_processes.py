"""Real subprocesses: buffered points survive exit, signals and multiprocessing workers;
exit codes end runs as a with-block would; the store is one file after a clean exit;
racing store creation."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import carnet

pytestmark = pytest.mark.slow


#: Runs a script with SIGINT and SIGTERM ignored, as a background job (`cmd &`, nohup)
#: or a CI runner may start it: the script inherits the ignored dispositions.
_IGNORING = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def _spawn(
    code: str, db: Path, *, ignoring: bool = False, cwd: Path | None = None, **env: str
) -> subprocess.Popen[str]:
    full_env = {**os.environ, "CARNET_TRACKING_URI": str(db), **env}
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if ignoring:
        command = [sys.executable, "-c", _IGNORING, *command[1:]]
    return subprocess.Popen(
        command,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def _only_run(db: Path, experiment: str = "x") -> carnet.Run:
    client = carnet.Client(str(db))
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1
    return runs[0]


def test_buffered_points_are_written_at_exit(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    proc = _spawn(
        """
        import carnet
        carnet.set_experiment("x")
        carnet.start_run(run_name="no-context")
        for i in range(5000):
            carnet.log_metric("loss", 1.0 / (i + 1), step=i, synchronous=False)
        """,
        db,
        CARNET_FLUSH_INTERVAL="60",
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    client = carnet.Client(str(db))
    run = client.search_runs([client.get_experiment_by_name("x").experiment_id])[0]  # type: ignore[union-attr]
    assert run.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 5000


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_flush_and_end_killed(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "sig.db"
    proc = _spawn(
        """
        import signal, sys, time, carnet
        # A test may itself run as a background job, with SIGINT ignored: take it back.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        carnet.set_experiment("x")
        with carnet.start_run():
            for i in range(1000):
                carnet.log_metric("loss", float(i), step=i, synchronous=False)
            print("ready", flush=True)
            time.sleep(120)
        """,
        db,
        CARNET_FLUSH_INTERVAL="60",
        CARNET_ASYNC_LOGGING="true",
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    client = carnet.Client(str(db))
    run = client.search_runs([client.get_experiment_by_name("x").experiment_id])[0]  # type: ignore[union-attr]
    assert run.info.status == "KILLED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1000


@pytest.mark.parametrize("code", [3, "stopped: diverged", 0])
def test_sys_exit_after_a_bare_start_run_ends_it_as_a_with_block_would(
    tmp_path: Path, code: int | str
) -> None:
    """A non-zero exit ends the run KILLED, a zero one FINISHED, buffered points written."""
    db = tmp_path / "exit.db"
    proc = _spawn(
        f"""
        import sys, carnet
        carnet.set_experiment("x")
        carnet.start_run()
        for i in range(300):
            carnet.log_metric("loss", float(i), step=i, synchronous=False)
        sys.exit({code!r})
        """,
        db,
        CARNET_FLUSH_INTERVAL="3600",
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (0 if code == 0 else 3 if code == 3 else 1), err
    run = _only_run(db)
    assert run.info.status == ("FINISHED" if code == 0 else "KILLED")
    assert len(carnet.Client(str(db)).get_metric_history(run.info.run_id, "loss")) == 300


@pytest.mark.parametrize("reader_open", [False, True], ids=["alone", "reader-open"])
def test_after_a_clean_exit_the_database_file_alone_holds_the_run(
    tmp_path: Path, reader_open: bool
) -> None:
    """Nothing is left only in carnet.db-wal: a plain copy of carnet.db has the run,
    even while another process (a dashboard) keeps the store open."""
    db = tmp_path / "carnet.db"
    reader = None
    if reader_open:
        carnet.Client(str(db)).create_experiment("warm-up")  # the file exists, in WAL mode
        reader = sqlite3.connect(db)
        reader.execute("SELECT count(*) FROM runs").fetchone()
    try:
        proc = _spawn(
            """
            import carnet
            carnet.set_experiment("x")
            with carnet.start_run(run_name="kept"):
                carnet.log_params({"lr": 0.1})
                for i in range(2000):
                    carnet.log_metric("loss", float(i), step=i, synchronous=False)
            """,
            db,
        )
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        copy = tmp_path / "copy" / "carnet.db"
        copy.parent.mkdir()
        shutil.copyfile(db, copy)  # not carnet.db-wal
    finally:
        if reader is not None:
            reader.close()
    run = _only_run(copy)
    assert (run.info.run_name, run.info.status) == ("kept", "FINISHED")
    assert run.data.params == {"lr": "0.1"}
    assert len(carnet.Client(str(copy)).get_metric_history(run.info.run_id, "loss")) == 2000


_POOL_SCRIPT = """
import multiprocessing, sys
import carnet

def work(task):
    run_id, start = task
    for step in range(start, start + 1250):
        carnet.log_metric("loss", float(step), step=step, synchronous=False, run_id=run_id)
    return start

if __name__ == "__main__":
    method, shape = sys.argv[1], sys.argv[2]
    context = multiprocessing.get_context(method)
    carnet.set_experiment("x")
    with carnet.start_run() as run:
        # Queued in the parent when the workers fork: the parent writes these, once.
        for i in range(100):
            carnet.log_metric("parent", float(i), step=i, synchronous=False)
        tasks = [(run.info.run_id, k * 1250) for k in range(4)]
        if shape == "pool":  # leaving the with-block terminates the workers (SIGTERM)
            with context.Pool(2) as pool:
                pool.map(work, tasks)
        else:
            workers = [context.Process(target=work, args=(t,)) for t in tasks]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        # The workers neither ended the run nor lost a point; this is a new Client.
        client = carnet.Client()
        print(client.get_run(run.info.run_id).info.status, flush=True)
        print(len(client.get_metric_history(run.info.run_id, "loss")), flush=True)
"""


@pytest.mark.parametrize("shape", ["pool", "process"])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_buffered_points_of_multiprocessing_workers_all_arrive(
    tmp_path: Path, method: str, shape: str
) -> None:
    db = tmp_path / "pool.db"
    script = tmp_path / "train.py"
    script.write_text(_POOL_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), method, shape],
        env={**os.environ, "CARNET_TRACKING_URI": str(db), "CARNET_FLUSH_INTERVAL": "3600"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.split() == ["RUNNING", "5000"], err
    run = _only_run(db)
    assert run.info.status == "FINISHED"
    client = carnet.Client(str(db))
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.value for m in loss) == [float(s) for s in range(5000)]
    assert len(client.get_metric_history(run.info.run_id, "parent")) == 100
    assert not list(tmp_path.glob("carnet-unwritten-*")), err


def test_signals_a_process_inherited_ignored_stay_ignored(tmp_path: Path) -> None:
    """Carnet never turns an ignored SIGINT into KeyboardInterrupt, nor handles an ignored
    SIGTERM: a job started in the background keeps running through both."""
    db = tmp_path / "bg.db"
    go = tmp_path / "go"
    proc = _spawn(
        f"""
        import pathlib, signal, time, carnet
        carnet.set_experiment("x")
        carnet.start_run()
        for i in range(100):
            carnet.log_metric("loss", float(i), step=i, synchronous=False)
        print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
              signal.getsignal(signal.SIGTERM) is signal.SIG_IGN, flush=True)
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.01)
        carnet.log_metric("after", 1.0)
        """,
        db,
        ignoring=True,
        CARNET_FLUSH_INTERVAL="3600",
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["True", "True"]
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    go.touch()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    run = _only_run(db)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"loss": 99.0, "after": 1.0}


def test_many_processes_create_a_new_store_at_once(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    start_at = time.time() + 1.5
    code = f"""
        import time, carnet
        time.sleep(max(0.0, {start_at} - time.time()))
        carnet.set_experiment("race")
        for i in range(5):
            with carnet.start_run():
                carnet.log_params({{"i": i}})
                carnet.log_metrics({{"m": float(i)}})
        """
    procs = [_spawn(code, db) for _ in range(6)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    frame = carnet.Client(str(db)).search_runs_frame(
        [carnet.Client(str(db)).get_experiment_by_name("race").experiment_id]  # type: ignore[union-attr]
    )
    assert len(frame) == 30
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
