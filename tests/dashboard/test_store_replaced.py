"""A store file that changes under a running dashboard: deleted, replaced, truncated, overwritten.

The dashboard keeps one read-only client per store for the whole server. Its
pooled connections hold the file that was there when they opened, so without a
check a deleted or replaced store would keep being served from the old file.
Each test opens the app on the test store, changes the file the way a person or
a script would, and reruns the same session.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import carnet
from carnet.store.engine import dispose_engines
from tests.dashboard.conftest import make_app, no_exceptions
from tests.dashboard.store_data import EXPERIMENT, StoreInfo

REPLACEMENT = "replacement-experiment"


def store_file(info: StoreInfo) -> Path:
    return Path(info.uri.removeprefix("sqlite:///"))


def sidebar_experiments(at: AppTest) -> list[str]:
    """The labels of the experiment choices in the sidebar ("name · N runs")."""
    if not at.sidebar.multiselect:
        return []
    chooser = at.sidebar.multiselect[0]
    return [chooser.format_func(option) for option in chooser.options]


def shows_old_store(at: AppTest) -> bool:
    labels = " ".join(sidebar_experiments(at))
    return EXPERIMENT in labels or any("matching runs" in m.value for m in at.markdown)


def shows_replacement(at: AppTest) -> bool:
    """The other store's experiments are the choices (its own and the empty ``Default``
    every store has) and its two runs are listed."""
    choices = set(sidebar_experiments(at))
    return choices == {f"{REPLACEMENT} · 2 runs", "Default · 0 runs"} and any(
        m.value.startswith("**2** matching runs") for m in at.markdown
    )


def problem_text(at: AppTest) -> str:
    """What the page says about the store (the welcome page's code block and errors)."""
    return " ".join([c.value for c in at.code] + [e.value for e in at.error])


@pytest.fixture
def other_store(tmp_path: Path) -> Path:
    """A second, different Carnet store (two runs in another experiment), fully on disk."""
    path = tmp_path / "other" / "carnet.db"
    client = carnet.Client(f"sqlite:///{path}")
    experiment = client.create_experiment(REPLACEMENT)
    for loss in (0.5, 0.25):
        run = client.create_run(experiment, run_name=f"loss-{loss}")
        client.log_metric(run.info.run_id, "loss", loss)
        client.set_terminated(run.info.run_id)
    dispose_engines()  # checkpoints its WAL: the .db file alone is the store
    return path


@pytest.fixture
def opened(store: StoreInfo, other_store: Path) -> AppTest:
    """The app showing the test store (its pooled connections now hold that file)."""
    at = make_app()
    no_exceptions(at)
    assert shows_old_store(at)
    return at


def test_a_store_replaced_by_another_is_reopened(
    opened: AppTest, store: StoreInfo, other_store: Path
) -> None:
    os.replace(other_store, store_file(store))
    opened.run()
    no_exceptions(opened)
    assert shows_replacement(opened)


def test_a_store_overwritten_in_place_is_reopened(
    opened: AppTest, store: StoreInfo, other_store: Path
) -> None:
    inode = store_file(store).stat().st_ino
    shutil.copyfile(other_store, store_file(store))  # same file, new bytes
    assert store_file(store).stat().st_ino == inode
    opened.run()
    no_exceptions(opened)
    assert shows_replacement(opened)


def test_a_deleted_store_is_a_clear_message(opened: AppTest, store: StoreInfo) -> None:
    store_file(store).unlink()
    opened.run()
    no_exceptions(opened)
    assert not shows_old_store(opened)
    assert "no longer exists" in problem_text(opened)


def test_a_store_truncated_to_nothing_is_not_a_carnet_store(
    opened: AppTest, store: StoreInfo
) -> None:
    os.truncate(store_file(store), 0)
    opened.run()
    no_exceptions(opened)
    assert not shows_old_store(opened)
    assert "no Carnet tables" in problem_text(opened)


def test_a_store_cut_in_half_is_an_error_not_a_traceback(opened: AppTest, store: StoreInfo) -> None:
    path = store_file(store)
    os.truncate(path, path.stat().st_size // 2)
    opened.run()
    no_exceptions(opened)
    assert not shows_old_store(opened)
    assert "store" in problem_text(opened)


def test_a_file_that_is_not_a_database_is_a_clear_message(
    opened: AppTest, store: StoreInfo
) -> None:
    store_file(store).write_bytes(b"not a database, just some text\n" * 200)
    opened.run()
    no_exceptions(opened)
    assert not shows_old_store(opened)
    assert "not a database" in problem_text(opened)


def test_new_runs_appear_after_the_store_comes_back(
    opened: AppTest, store: StoreInfo, other_store: Path
) -> None:
    """Deleted, then a new store at the same place: the dashboard follows it."""
    store_file(store).unlink()
    opened.run()
    assert "no longer exists" in problem_text(opened)
    os.replace(other_store, store_file(store))
    opened.run()
    no_exceptions(opened)
    assert shows_replacement(opened)


def test_an_unchanged_store_keeps_its_connections(opened: AppTest, store: StoreInfo) -> None:
    """Reruns of an untouched store do not reopen it (the check is one stat)."""
    engine = carnet.Client(store.uri, read_only=True).store.engine
    pool = engine.pool
    opened.run()
    opened.run()
    no_exceptions(opened)
    assert engine.pool is pool


def test_a_store_damaged_past_its_schema_is_an_error_not_a_traceback(
    opened: AppTest, store: StoreInfo
) -> None:
    """Page 1 and the schema table still read, the runs' pages do not."""
    path = store_file(store)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 4)
        f.write(b"\xff" * (size - size // 4))
    opened.run()
    no_exceptions(opened)
    assert not shows_old_store(opened)
    assert "could not be read" in problem_text(opened) or "malformed" in problem_text(opened)
