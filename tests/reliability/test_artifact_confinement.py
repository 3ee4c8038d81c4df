"""Artifacts stay in their run's folder, and run folders stay under the allowed roots.

A location in the store (an experiment's ``artifact_location``, a run's
``artifact_uri``) is data anyone with write access to the database can change;
here it is set to hostile values, and every reader and writer (SDK, CLI,
dashboard, MLflow importer) must refuse it with a Carnet error. Inside a run's
folder, planted symbolic links are never followed, and file-system failures
come back as Carnet errors that leave no partial or temporary file behind.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

import carnet
from carnet import artifacts
from carnet.cli import cli
from carnet.errors import (
    ArtifactLocationError,
    ArtifactPathError,
    ConfigurationError,
    InvalidValueError,
    StoreError,
)
from carnet.mlflow_import import import_mlflow
from carnet.store import schema
from carnet.store.engine import dispose_engines, get_engine
from tests.dashboard.conftest import make_app
from tests.ecosystem.mlflow_stores import build_file_store, build_sqlite_store

from .conftest import dump_store, files_under_root

SECRET = "ssh-rsa do-not-copy"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder no artifact root contains, holding a secret and a victim file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    (folder / "victim.txt").write_text("untouched")
    return folder


def new_run(client: carnet.Client, name: str = "confined") -> str:
    experiment = client.get_experiment_by_name(name)
    eid = experiment.experiment_id if experiment else client.create_experiment(name)
    return client.create_run(eid).info.run_id


def set_artifact_uri(uri: str, run_id: str, value: str) -> None:
    """What a hand-edited store does: the SDK never writes such a location."""
    with get_engine(uri).begin() as conn:
        conn.execute(
            update(schema.runs).where(schema.runs.c.run_uuid == run_id).values(artifact_uri=value)
        )


def every_artifact_call(
    client: carnet.Client, run_id: str, local: Path
) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("list_artifacts", lambda: client.list_artifacts(run_id)),
        ("list_artifacts(sub)", lambda: client.list_artifacts(run_id, "secret.txt")),
        ("download_artifacts", lambda: client.download_artifacts(run_id, "", str(local / "dl"))),
        ("read_artifact", lambda: client.read_artifact(run_id, "secret.txt")),
        ("get_artifact_path", lambda: client.get_artifact_path(run_id, "secret.txt")),
        ("log_text", lambda: client.log_text(run_id, "planted", "planted.txt")),
        ("log_dict", lambda: client.log_dict(run_id, {"a": 1}, "planted.json")),
        ("log_artifact", lambda: client.log_artifact(run_id, str(local / "model.txt"))),
        ("log_artifacts", lambda: client.log_artifacts(run_id, str(local / "tree"))),
    ]


# -- experiment locations at creation ----------------------------------------------------


OUTSIDE_ROOTS = "is outside the allowed artifact roots"


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("file:///etc#", "contains '?' or '#'"),
        ("file:///etc?x=1", "contains '?' or '#'"),
        ("{root}/inside#", "contains '?' or '#'"),
        ("file://{root}/inside?x", "contains '?' or '#'"),
        ("file://somehost/etc", "names the host 'somehost'"),
        ("s3://bucket/artifacts", "names no S3 root"),
        ("gs://bucket/artifacts", "is not a local folder"),
        ("file:relative/folder", "is not an absolute folder"),
        ("/etc", OUTSIDE_ROOTS),
        ("{outside}", OUTSIDE_ROOTS),
        ("{root}/../outside", OUTSIDE_ROOTS),
        ("file://{root}/a\x00b", "NUL character"),
    ],
)
def test_create_experiment_refuses_a_location_that_is_not_a_plain_allowed_folder(
    client: carnet.Client, tracking: str, tmp_path: Path, outside: Path, location: str, why: str
) -> None:
    """The same refusal on SQLite and PostgreSQL, and nothing is created."""
    where = location.format(root=tmp_path / "artifacts", outside=outside)
    client.create_experiment("before")
    before = dump_store(tracking)
    with pytest.raises(ArtifactLocationError) as info:
        client.create_experiment("x", artifact_location=where)
    assert why in str(info.value)
    if why == OUTSIDE_ROOTS:
        assert "add the folder to CARNET_ARTIFACT_ROOTS" in str(info.value)
    assert dump_store(tracking) == before
    assert client.get_experiment_by_name("x") is None


def test_create_experiment_refuses_a_location_of_the_wrong_type(client: carnet.Client) -> None:
    with pytest.raises(InvalidValueError, match="folder path or a file:// URI"):
        client.create_experiment("x", artifact_location=42)  # type: ignore[arg-type]


def test_an_allowed_location_is_normalised_and_each_run_gets_its_own_folder(
    client: carnet.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, other = tmp_path / "shared", tmp_path / "other"
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", f"{shared}{os.pathsep}{other}")
    eid = client.create_experiment("own", artifact_location=f"{shared}/team/../exp")
    assert client.get_experiment(eid).artifact_location == (shared / "exp").as_uri()
    first, second = (client.create_run(eid).info for _ in range(2))
    assert first.artifact_uri == (shared / "exp" / first.run_id / "artifacts").as_uri()
    client.log_text(first.run_id, "one", "same.txt")
    client.log_text(second.run_id, "two", "same.txt")
    assert client.read_artifact(first.run_id, "same.txt") == b"one"
    assert client.read_artifact(second.run_id, "same.txt") == b"two"
    again = client.create_experiment("other", artifact_location=other.as_uri())
    assert client.get_experiment(again).artifact_location == other.as_uri()


def test_the_artifact_roots_setting_takes_absolute_folders_only(
    client: carnet.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOTS", "relative/folder")
    with pytest.raises(ConfigurationError, match="not an absolute path"):
        client.create_experiment("x", artifact_location="/srv/anything")


def test_an_experiment_whose_location_was_edited_to_hide_the_run_folder_takes_no_run(
    client: carnet.Client, tracking: str
) -> None:
    eid = client.create_experiment("edited")
    with get_engine(tracking).begin() as conn:
        conn.execute(
            update(schema.experiments)
            .where(schema.experiments.c.experiment_id == int(eid))
            .values(artifact_location="file:///etc#")
        )
    before = dump_store(tracking)
    with pytest.raises(ArtifactLocationError, match="would share one folder"):
        client.create_run(eid)
    assert dump_store(tracking) == before


# -- a run's location, as every reader and writer sees it --------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "file:///proc/self",
        "file:///etc#",
        "file:///etc?",
        "file://otherhost/etc",
        "{outside}",
        "file://{outside}",
        "{root}",
        "s3://bucket/run",
    ],
)
def test_every_sdk_call_refuses_a_run_whose_location_is_outside_the_roots(
    client: carnet.Client, tracking: str, tmp_path: Path, outside: Path, hostile: str
) -> None:
    run_id = new_run(client)
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a")
    set_artifact_uri(tracking, run_id, hostile.format(outside=outside, root=tmp_path / "artifacts"))
    for name, call in every_artifact_call(client, run_id, tmp_path):
        with pytest.raises(ArtifactLocationError) as info:
            call()
        assert "CARNET_ARTIFACT_ROOTS" in str(info.value) or "not" in str(info.value), name
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt", "victim.txt"]
    assert not (tmp_path / "dl").exists()
    assert not list((tmp_path / "artifacts").rglob("planted*"))


def test_containment_is_decided_on_real_paths_not_on_string_prefixes(
    client: carnet.Client, tracking: str, tmp_path: Path
) -> None:
    """``artifacts-x`` shares a prefix with the root ``artifacts``; neither it nor a link
    inside the root that leads to it is inside."""
    root = tmp_path / "artifacts"
    sibling = tmp_path / "artifacts-x"
    (sibling / "r" / "artifacts").mkdir(parents=True)
    (sibling / "r" / "artifacts" / "secret.txt").write_text(SECRET)
    run_id = new_run(client)
    root.mkdir(exist_ok=True)
    os.symlink(sibling, root / "link")
    for location in (sibling / "r" / "artifacts", root / "link" / "r" / "artifacts"):
        set_artifact_uri(tracking, run_id, location.as_uri())
        with pytest.raises(ArtifactLocationError, match="outside the allowed artifact roots"):
            client.list_artifacts(run_id)
        with pytest.raises(ArtifactLocationError):
            client.read_artifact(run_id, "secret.txt")
        with pytest.raises(ArtifactLocationError):
            client.log_text(run_id, "x", "planted.txt")
    with pytest.raises(ArtifactLocationError, match="outside the allowed artifact roots"):
        client.create_experiment("via-link", artifact_location=str(root / "link"))
    assert sorted(p.name for p in (sibling / "r" / "artifacts").iterdir()) == ["secret.txt"]


def test_the_cli_shows_the_run_and_says_why_its_artifacts_are_not_listed(
    client: carnet.Client, tracking: str, outside: Path
) -> None:
    run_id = new_run(client)
    set_artifact_uri(tracking, run_id, outside.as_uri())
    result = CliRunner().invoke(cli, ["runs", "show", run_id, "--db", tracking])
    assert result.exit_code == 0, result.output
    assert "outside the allowed artifact roots" in result.stderr
    assert "secret.txt" not in result.stdout and "victim.txt" not in result.stdout


# -- symbolic links inside a run's folder ------------------------------------------------


@pytest.fixture
def run_folder(client: carnet.Client) -> tuple[str, Path]:
    run_id = new_run(client)
    client.log_text(run_id, "kept", "kept.txt")
    return run_id, client.get_artifact_path(run_id)


def test_a_link_planted_at_the_destination_is_replaced_not_written_through(
    client: carnet.Client, run_folder: tuple[str, Path], outside: Path, tmp_path: Path
) -> None:
    run_id, root = run_folder
    victim = outside / "victim.txt"
    os.symlink(victim, root / "c.txt")
    os.symlink(victim, root / "notes.txt.tmp")  # where an older writer put its temporary file
    local = tmp_path / "c.txt"
    local.write_text("logged")
    client.log_artifact(run_id, str(local))
    client.log_text(run_id, "notes", "notes.txt")
    client.log_dict(run_id, {"a": 1}, "c.txt")
    assert victim.read_text() == "untouched"
    assert not (root / "c.txt").is_symlink() and not (root / "notes.txt").is_symlink()
    assert client.read_artifact(run_id, "notes.txt") == b"notes"


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_a_linked_subfolder_is_refused_for_every_write(
    client: carnet.Client, run_folder: tuple[str, Path], outside: Path, tmp_path: Path, target: str
) -> None:
    run_id, root = run_folder
    (root / "real").mkdir()
    os.symlink(outside if target == "outside" else root / "real", root / "sub")
    local = tmp_path / "model.txt"
    local.write_text("weights")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a")
    expected = "leaves the run's artifact folder through" if target == "outside" else "goes through"
    calls: list[Callable[[], object]] = [
        lambda: client.log_text(run_id, "x", "sub/planted.txt"),
        lambda: client.log_text(run_id, "x", "sub/deeper/planted.txt"),
        lambda: client.log_artifact(run_id, str(local), "sub"),
        lambda: client.log_artifacts(run_id, str(tmp_path / "tree"), "sub"),
        lambda: client.list_artifacts(run_id, "sub"),
        lambda: client.read_artifact(run_id, "sub/secret.txt"),
        lambda: client.download_artifacts(run_id, "sub", str(tmp_path / "dl")),
        lambda: client.get_artifact_path(run_id, "sub/secret.txt"),
    ]
    for call in calls:
        with pytest.raises(ArtifactPathError, match=f"{expected} the symbolic link 'sub'"):
            call()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt", "victim.txt"]
    assert list((root / "real").iterdir()) == []
    assert not (tmp_path / "dl").exists()


def test_links_and_unfinished_files_are_never_listed_read_or_downloaded(
    client: carnet.Client, run_folder: tuple[str, Path], outside: Path, tmp_path: Path
) -> None:
    run_id, root = run_folder
    os.symlink(tmp_path / "nowhere", root / "dangling.txt")
    os.symlink(outside / "secret.txt", root / "secret.txt")
    os.symlink(outside, root / "folder")
    (root / ".carnet-0123456789abcdef.tmp").write_text("half")  # a writer killed mid-file
    assert [f.path for f in client.list_artifacts(run_id)] == ["kept.txt"]
    for name in ("dangling.txt", "secret.txt"):
        with pytest.raises(ArtifactPathError, match="symbolic link"):
            client.read_artifact(run_id, name)
        with pytest.raises(ArtifactPathError, match="symbolic link"):
            client.download_artifacts(run_id, name, str(tmp_path / "dl"))
        with pytest.raises(ArtifactPathError, match="symbolic link"):
            client.list_artifacts(run_id, name)
    copied = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    assert sorted(p.name for p in copied.rglob("*")) == ["kept.txt"]


# -- file-system errors as Carnet errors -------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["a\x00b.txt", "dir\x00/x.txt", "x" * 256 + ".txt", "/".join(["d" * 200] * 6) + "/x.txt"],
    ids=["nul", "nul-folder", "long-name", "long-path"],
)
def test_nul_bytes_and_over_long_names_are_carnet_errors(
    client: carnet.Client, run_folder: tuple[str, Path], tmp_path: Path, bad: str
) -> None:
    run_id, _ = run_folder
    before = files_under_root(tmp_path)
    calls: list[Callable[[], object]] = [
        lambda: client.log_text(run_id, "x", bad),
        lambda: client.log_dict(run_id, {"a": 1}, bad),
        lambda: client.list_artifacts(run_id, bad),
        lambda: client.read_artifact(run_id, bad),
        lambda: client.download_artifacts(run_id, bad, str(tmp_path / "dl")),
        lambda: client.get_artifact_path(run_id, bad),
    ]
    for call in calls:
        with pytest.raises(ArtifactPathError, match=r"NUL character|too long"):
            call()
    with pytest.raises(InvalidValueError, match="NUL character"):
        client.log_artifact(run_id, str(tmp_path / "a\x00b.txt"))
    with pytest.raises(InvalidValueError, match="NUL character"):
        client.log_artifacts(run_id, str(tmp_path / "a\x00b"))
    assert files_under_root(tmp_path) == before


def full_disk(real_write: Callable[[int, Any], int]) -> Callable[[int, Any], int]:
    """An ``os.write`` that writes a few bytes, then fails as a full disk does."""
    wrote: list[int] = []

    def write(fd: int, data: Any) -> int:
        if wrote:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        wrote.append(fd)
        return real_write(fd, bytes(data[:3]))

    return write


def test_a_full_disk_is_a_carnet_error_and_leaves_the_old_file_and_no_temporary_one(
    client: carnet.Client, run_folder: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, root = run_folder
    client.log_text(run_id, "old", "notes.txt")
    before = sorted(p.name for p in root.iterdir())
    real_write = os.write
    for call in (
        lambda: client.log_text(run_id, "new text, longer than three bytes", "notes.txt"),
        lambda: client.log_text(run_id, "new text, longer than three bytes", "new/sub/n.txt"),
        lambda: client.log_dict(run_id, {"a": list(range(100))}, "d.json"),
    ):
        monkeypatch.setattr(os, "write", full_disk(real_write))
        try:
            with pytest.raises(StoreError, match="no space left on the device"):
                call()
        finally:
            monkeypatch.setattr(os, "write", real_write)
    assert client.read_artifact(run_id, "notes.txt") == b"old"
    assert sorted(p.name for p in root.iterdir()) == before  # no .tmp file, no empty 'new/'
    assert [f.path for f in client.list_artifacts(run_id)] == ["kept.txt", "notes.txt"]


def test_no_temporary_file_is_listed_while_a_write_is_under_way(
    client: carnet.Client, run_folder: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing taken in the middle of a write (here: from inside ``os.write``)."""
    run_id, _ = run_folder
    seen: list[list[str]] = []
    real_write = os.write

    def listing_write(fd: int, data: Any) -> int:
        seen.append([f.path for f in artifacts.list_files(client.get_artifact_path(run_id), "")])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", listing_write)
    client.log_text(run_id, "text", "notes.txt")
    monkeypatch.setattr(os, "write", real_write)
    assert seen and all(paths == ["kept.txt"] for paths in seen)


# -- the MLflow importer -------------------------------------------------------------------


@pytest.fixture
def planted_home(tmp_path: Path) -> Path:
    """A fake ``~/.ssh`` that a source store's run points its artifacts at."""
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(parents=True)
    (ssh / "id_rsa").write_text(SECRET)
    return ssh


def _plant_in_sqlite(db: Path, run_id: str, location: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (location, run_id))
    conn.close()


def _plant_in_mlruns(mlruns: Path, run_id: str, location: str) -> None:
    meta = next(mlruns.glob(f"*/{run_id}/meta.yaml"))
    lines = meta.read_text().splitlines()
    meta.write_text(
        "\n".join(
            f"artifact_uri: {location}" if ln.startswith("artifact_uri:") else ln for ln in lines
        )
        + "\n"
    )


@pytest.mark.parametrize("layout", ["sqlite", "mlruns"])
def test_import_copies_no_folder_outside_the_source_artifact_root(
    layout: str, tmp_path: Path, uri: str, planted_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "carnet-artifacts"))
    source_root = tmp_path / "mlflow"
    source_root.mkdir()
    planted = "a" * 32  # the run with artifacts in the sample store
    if layout == "sqlite":
        source = build_sqlite_store(source_root)
        _plant_in_sqlite(source, planted, str(planted_home))
        (source_root / "mlruns" / "1" / planted / "artifacts" / "notes.txt").unlink()
    else:
        source = build_file_store(source_root)
        _plant_in_mlruns(source, planted, planted_home.as_uri())
    report = import_mlflow(str(source), tracking_uri=uri)
    assert report.runs_imported == 5
    assert any("outside the source's artifact folders" in w for w in report.warnings), (
        report.warnings
    )
    copied = files_under_root(tmp_path / "carnet-artifacts")
    assert not [name for name, _ in copied if "id_rsa" in name]
    for path in (tmp_path / "carnet-artifacts").rglob("*"):
        assert not path.is_file() or SECRET not in path.read_text(errors="replace")


def test_import_does_not_follow_links_in_a_source_artifact_folder(
    tmp_path: Path, uri: str, planted_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "carnet-artifacts"))
    source_root = tmp_path / "mlflow"
    source_root.mkdir()
    mlruns = build_file_store(source_root)
    folder = mlruns / "1" / ("a" * 32) / "artifacts"
    os.symlink(planted_home, folder / "ssh")
    os.symlink(planted_home / "id_rsa", folder / "key.txt")
    report = import_mlflow(str(mlruns), tracking_uri=uri)
    assert report.artifact_files == 2  # the run's two real files
    assert sorted(w.split(": ", 1)[1] for w in report.warnings if "symbolic link" in w) == [
        "artifact 'key.txt' is a symbolic link; not copied.",
        "artifact 'ssh' is a symbolic link; not copied.",
    ]
    client = carnet.Client(uri)
    run = next(
        r
        for r in client.search_runs([client.get_experiment_by_name("diabetes").experiment_id])
        if r.info.run_name == "parent"
    )
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["model", "notes.txt"]


# -- the dashboard -------------------------------------------------------------------------


@pytest.fixture
def dashboard_store(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside: Path
) -> dict[str, str]:
    """A store with a run whose artifact_uri was edited, and runs with planted links."""
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    client = carnet.Client(uri)
    eid = client.create_experiment("dash")
    ids = {}
    for name in ("hostile", "etc", "links", "broken-image"):
        ids[name] = client.create_run(eid, run_name=name).info.run_id
        client.log_text(ids[name], "kept", "kept.txt")
    set_artifact_uri(uri, ids["hostile"], "file:///proc/self")
    set_artifact_uri(uri, ids["etc"], outside.as_uri() + "#")
    links = client.get_artifact_path(ids["links"])
    os.symlink(outside / "secret.txt", links / "secret.txt")
    os.symlink(outside / "gone.txt", links / "dangling.txt")
    client.log_text(ids["broken-image"], "not a png", "figures/plot.png")
    dispose_engines()
    monkeypatch.setenv("CARNET_TRACKING_URI", uri)
    monkeypatch.delenv("CARNET_UI_PASSWORD", raising=False)
    return ids


def page_text(at: AppTest) -> str:
    """Every text the main area shows (the sidebar names the store, which is fine)."""
    parts: list[str] = []
    for kind in ("error", "warning", "caption", "markdown", "code", "text", "title", "info"):
        parts += [str(e.value) for e in at.get(kind)]
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    return "\n".join(parts)


@pytest.mark.parametrize("run", ["hostile", "etc"])
def test_the_dashboard_refuses_a_run_whose_location_is_outside_the_roots(
    dashboard_store: dict[str, str], outside: Path, run: str
) -> None:
    at = make_app("run", run=dashboard_store[run], rtab="Artifacts")
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "This run's artifacts are not shown: its artifact location is outside the folders "
        "this dashboard reads artifacts from. If the location is genuine, the dashboard's "
        "administrator can add its folder to CARNET_ARTIFACT_ROOTS."
    ]
    assert not at.dataframe and not at.get("download_button") and not at.selectbox
    text = page_text(at)
    for leak in ("/proc", str(outside), "environ", "secret", "Traceback", "CARNET_UI_PASSWORD="):
        assert leak not in text


def test_the_dashboard_lists_no_link_and_no_dangling_link(
    dashboard_store: dict[str, str], outside: Path
) -> None:
    at = make_app("run", run=dashboard_store["links"], rtab="Artifacts")
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[0].value["path"].tolist() == ["kept.txt"]
    assert str(outside) not in page_text(at)


def test_a_broken_image_preview_is_a_plain_warning(
    dashboard_store: dict[str, str], outside: Path
) -> None:
    at = make_app("run", run=dashboard_store["broken-image"], rtab="Artifacts")
    at.selectbox(key="run.artifact").set_value("figures/plot.png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == [
        "Could not preview this file: it is not an image the dashboard can read."
    ]
    assert "object at 0x" not in page_text(at)
