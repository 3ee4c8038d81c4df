"""Opening SQLite stores that are not plainly ours or not plainly writable.

- A viewer who may read the store file but not write its folder (a dashboard
  running as another user) opens it read-only and reads, whether the store is
  closed or a writer is at work. Root ignores permissions, so when the tests
  run as root the viewer is a subprocess that drops to ``nobody``.
- A file that is a database of another application, or no database at all,
  is refused untouched with a message naming the file; an empty file, or a
  SQLite file without tables, becomes a new store.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import carnet
from carnet.cli import cli
from carnet.errors import StoreError
from carnet.store.engine import dispose_engines

from .conftest import worker_env

#: What the viewer runs: open read-only as the dashboard does, read, print what it saw.
#: As root, it first reads a scratch store (so every module it needs is imported while
#: the interpreter under /root is still readable), then drops to ``nobody`` for good.
VIEWER = textwrap.dedent(
    """
    import json, os, sys
    import carnet
    from carnet.store.engine import dispose_engines

    def read(uri):
        client = carnet.Client(uri, read_only=True)
        exp = client.get_experiment_by_name("shared")
        runs = client.search_runs([exp.experiment_id], order_by=["attributes.run_name"])
        return {
            "runs": [r.info.run_name for r in runs],
            "loss": [r.data.metrics.get("loss") for r in runs],
            "history": len(client.get_metric_history(runs[0].info.run_id, "loss")),
            "version": len(client.data_version()),
        }

    if os.geteuid() == 0:
        import pwd
        read(sys.argv[2])
        dispose_engines()
        nobody = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setresgid(nobody.pw_gid, nobody.pw_gid, nobody.pw_gid)
        os.setresuid(nobody.pw_uid, nobody.pw_uid, nobody.pw_uid)
        assert not os.access(sys.argv[3], os.W_OK)
    print(json.dumps(read(sys.argv[1])))
    """
)


def run_viewer(uri: str, folder: Path, scratch: Path) -> dict[str, object]:
    """The viewer process; ``scratch`` is a writable folder for its warm-up store."""
    warm = f"sqlite:///{scratch / 'warm.db'}"
    _write_store(warm, 1)  # no dispose_engines(): a writer of the shared store stays open
    proc = subprocess.run(
        [sys.executable, "-c", VIEWER, uri, warm, str(folder)],
        env=worker_env(PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder outside root's private pytest tree, so ``nobody`` can reach it."""
    base = Path(tempfile.mkdtemp(prefix="carnet-viewer-"))
    base.chmod(0o755)
    folder = base / "store"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(base)


def _write_store(uri: str, n: int) -> carnet.Client:
    client = carnet.Client(uri)
    exp = client.create_experiment("shared")
    for i in range(n):
        run = client.create_run(exp, run_name=f"run-{i}")
        client.log_batch(run.info.run_id, metrics=[("loss", 1.0 / (i + 1), 5, s) for s in range(3)])
        client.set_terminated(run.info.run_id)
    return client


def _read_only_folder(folder: Path) -> None:
    for p in folder.iterdir():
        p.chmod(0o644)
    folder.chmod(0o555)  # readable and searchable by all, writable by no one but root


def test_a_viewer_without_write_access_reads_a_closed_store(
    shared_folder: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{shared_folder / 'carnet.db'}"
    _write_store(uri, 2)
    dispose_engines()  # the last connection checkpoints and removes -wal and -shm
    assert sorted(p.name for p in shared_folder.iterdir()) == ["carnet.db"]
    _read_only_folder(shared_folder)
    seen = run_viewer(uri, shared_folder, tmp_path)
    assert seen == {"runs": ["run-0", "run-1"], "loss": [1.0, 0.5], "history": 3, "version": 2}
    assert sorted(p.name for p in shared_folder.iterdir()) == ["carnet.db"]


def test_a_viewer_without_write_access_reads_while_a_writer_works(
    shared_folder: Path, tmp_path: Path
) -> None:
    """The writer's -wal and -shm files exist; the viewer sees what the WAL holds."""
    uri = f"sqlite:///{shared_folder / 'carnet.db'}"
    writer = _write_store(uri, 1)
    exp = writer.get_experiment_by_name("shared")
    assert exp is not None
    late = writer.create_run(exp.experiment_id, run_name="run-late")
    writer.log_metric(late.info.run_id, "loss", 7.0, timestamp=5, step=0)
    assert (shared_folder / "carnet.db-wal").stat().st_size > 0
    _read_only_folder(shared_folder)
    seen = run_viewer(uri, shared_folder, tmp_path)
    assert seen["runs"] == ["run-0", "run-late"] and seen["loss"] == [1.0, 7.0]
    assert (shared_folder / "carnet.db-wal").stat().st_size > 0  # the writer was still at work


# -- files that are not Carnet stores ---------------------------------------------------


def _foreign(path: Path) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_foreign_database_is_refused_untouched(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "app.db"
    before = _foreign(path)
    with pytest.raises(StoreError) as info:
        carnet.Client(str(path), read_only=read_only)
    message = str(info.value)
    assert str(path) in message and "notes" in message and "new file" in message, message
    dispose_engines()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_the_fluent_api_and_the_cli_refuse_a_foreign_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    before = _foreign(path)
    carnet.set_tracking_uri(str(path))
    with pytest.raises(StoreError, match="another application"):
        carnet.start_run()
    result = CliRunner().invoke(cli, ["runs", "list", "--db", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: ") and "another application" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    dispose_engines()
    assert path.read_bytes() == before


@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as info:
        carnet.Client(str(path), read_only=read_only)
    assert str(path) in str(info.value) and "not a SQLite database" in str(info.value)
    assert path.read_bytes() == b"these are my notes, not a database\n" * 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    client = carnet.Client(str(path))
    client.create_experiment("first")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "first"]


def test_a_sqlite_file_without_tables_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "blank.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 7")  # writes the header: a database, no tables
    conn.close()
    assert path.stat().st_size > 0 and stat.S_ISREG(path.stat().st_mode)
    client = carnet.Client(str(path))
    client.create_experiment("first")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "first"]
