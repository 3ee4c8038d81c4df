"""The PostgreSQL team set-up of docs/reliability.md, run as written.

A database owned by a writer role, a reader role that only has SELECT (by
default privileges), training processes logging as the writer, and the
dashboard's read path and ``carnet db check`` as the reader. Needs a server
where the test may create roles and databases (the CI cluster runs as its
superuser).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import carnet
from carnet.errors import ReadOnlyError, StoreError
from carnet.store.engine import dispose_engines, get_engine
from carnet.store.maintenance import check_store

from .conftest import finish, need_postgres, release, start_worker


def _with_user(url: str, user: str, password: str, database: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, f"/{database}", "connect_timeout=10", ""))


@pytest.fixture
def team() -> Iterator[dict[str, str]]:
    """The docs' SQL, run by the server's superuser; dropped afterwards."""
    import psycopg

    url = need_postgres()
    admin = url.replace("postgresql+psycopg://", "postgresql://")
    tag = uuid.uuid4().hex[:8]
    writer, reader, database = f"cw_{tag}", f"cr_{tag}", f"carnet_{tag}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {writer} LOGIN PASSWORD 'w-{tag}'")
        conn.execute(f"CREATE ROLE {reader} LOGIN PASSWORD 'r-{tag}'")
        conn.execute(f"CREATE DATABASE {database} OWNER {writer}")
    in_db = urlunsplit(urlsplit(admin)._replace(path=f"/{database}"))
    with psycopg.connect(in_db, autocommit=True) as conn:
        conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {writer} IN SCHEMA public "
            f"GRANT SELECT ON TABLES TO {reader}"
        )
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {reader}")
    yield {
        "writer": _with_user(url, writer, f"w-{tag}", database),
        "reader": _with_user(url, reader, f"r-{tag}", database),
    }
    dispose_engines()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {database} WITH (FORCE)")
        conn.execute(f"DROP ROLE {writer}")
        conn.execute(f"DROP ROLE {reader}")


@pytest.mark.postgres
def test_machines_log_as_the_writer_and_the_dashboard_reads_as_the_reader(
    team: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(StoreError, match="no Carnet tables in this store yet"):
        carnet.Client(team["reader"], read_only=True)  # before anyone logged: a clear word

    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(3)]
    writers = [
        start_worker(
            "writer",
            {
                "uri": team["writer"],
                "index": i,
                "runs": 3,
                "points": 10,
                "ready": str(ready[i]),
                "go": str(go),
            },
        )
        for i in range(3)
    ]
    release(go, ready, writers)
    for proc in writers:
        code, out, err = finish(proc)
        assert code == 0, err
        assert len(json.loads(out)["run_ids"]) == 3

    dashboard = carnet.Client(team["reader"], read_only=True)
    experiment = dashboard.get_experiment_by_name("concurrency")
    assert experiment is not None
    frame = dashboard.search_runs_frame([experiment.experiment_id], "params.p0 LIKE '1.%'")
    assert len(frame) == 3
    assert dashboard.data_version()  # the dashboard's cache key works for the reader role
    run_id = str(frame["run_id"][0])
    assert len(dashboard.get_metric_history(run_id, "loss")) == 10
    with pytest.raises(ReadOnlyError):
        dashboard.set_tag(run_id, "k", "v")

    conn = get_engine(team["reader"], read_only=True).raw_connection()
    try:  # even with the session's read-only flag lifted, the role may not write
        cur = conn.cursor()
        cur.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(Exception, match="permission denied"):
            cur.execute("DELETE FROM runs")
    finally:
        conn.rollback()
        conn.close()

    report = check_store(team["reader"])
    assert report.ok, report.format()
