"""Every bad call in ``bad_calls.BAD_CALLS`` raises what the table says and changes nothing.

One store per backend is prepared once for the module; each case resumes its
active run, dumps every table, makes the bad call, and dumps again. The two
dumps must be equal, and no file may appear in or beside the artifact folders.
The heartbeat is switched off for these tests: it is the one write a bad call
does not cause, and it would make the before/after comparison flaky.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import carnet
import carnet.errors
from carnet.store.page_tokens import encode_page_token
from carnet.store.sql_store import SqlStore

from .bad_calls import BAD_CALLS, KNOWN_GAPS, BadCall, markdown_gaps, markdown_table
from .conftest import dump_store, files_under_root, nan_safe

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def _prepare(uri: str, root: Path) -> dict[str, Any]:
    os.environ["CARNET_ARTIFACT_ROOT"] = str(root / "artifacts")
    try:
        client = carnet.Client(uri)
        exp_id = client.create_experiment("reliability")
        old = client.create_experiment("old")
        client.delete_experiment(old)
        active = client.create_run(exp_id, run_name="active")
        client.log_batch(
            active.info.run_id,
            metrics=[("loss", 0.5, 1, 0)],
            params=[("alpha", 0.1)],
            tags=[("k", "v")],
        )
        client.log_text(active.info.run_id, "kept", "notes/kept.txt")
        finished = client.create_run(exp_id, run_name="finished")
        client.set_tag(finished.info.run_id, "k", "v")
        client.set_terminated(finished.info.run_id, "FINISHED")
        deleted = client.create_run(exp_id, run_name="deleted")
        client.delete_run(deleted.info.run_id)
    finally:
        del os.environ["CARNET_ARTIFACT_ROOT"]
    local = root / "model.txt"
    local.write_text("weights")
    return {
        "run_id": active.info.run_id,
        "finished_id": finished.info.run_id,
        "deleted_id": deleted.info.run_id,
        "exp_id": exp_id,
        "deleted_exp_id": old,
        "unknown_id": "0" * 32,
        "huge_token": encode_page_token(2**70),
        "local_file": str(local),
        "tmp": str(root),
    }


@pytest.fixture(scope="module")
def prepared(module_uri: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bad-input")
    return {"uri": module_uri, "root": root, **_prepare(module_uri, root)}


@pytest.fixture
def namespace(
    prepared: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(SqlStore, "heartbeat", lambda self, run_ids: None)
    monkeypatch.setenv("CARNET_ARTIFACT_ROOT", str(prepared["root"] / "artifacts"))
    uri = prepared["uri"]
    carnet.set_tracking_uri(uri)
    carnet.set_experiment("reliability")
    carnet.start_run(run_id=prepared["run_id"])
    ro = carnet.Client(uri, read_only=True)
    yield {**prepared, "carnet": carnet, "client": carnet.Client(uri), "ro": ro}
    if ro._writer is not None:  # a point a known gap queued must not be "lost" at exit
        ro._writer.queue.clear()
        ro._writer.errors.clear()


CASES = [pytest.param(c, id=str(i)) for i, c in enumerate(BAD_CALLS, 1)] + [
    pytest.param(
        c, id=f"gap{i}", marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=c.gap)
    )
    for i, c in enumerate(KNOWN_GAPS, 1)
]


@pytest.mark.parametrize("case", CASES)
def test_bad_call_raises_and_changes_nothing(case: BadCall, namespace: dict[str, Any]) -> None:
    uri, root = namespace["uri"], namespace["root"]
    before, files = nan_safe(dump_store(uri)), files_under_root(root)
    expected = getattr(carnet.errors, case.error)
    with pytest.raises(carnet.errors.CarnetError) as info:
        eval(case.code, dict(namespace))
    assert type(info.value) is expected, f"{case.code} raised {info.type.__name__}: {info.value}"
    assert case.fragment in str(info.value), str(info.value)
    assert nan_safe(dump_store(uri)) == before, f"{case.code} changed the store"
    assert files_under_root(root) == files, f"{case.code} wrote or removed files"
    active = carnet.active_run()
    assert active is not None and active.info.run_id == namespace["run_id"]
    assert carnet.get_tracking_uri() == uri


def test_the_table_is_big_enough_and_has_no_duplicates() -> None:
    assert len(BAD_CALLS) >= 50
    assert len({c.code for c in BAD_CALLS}) == len(BAD_CALLS)
    for case in BAD_CALLS:
        assert issubclass(getattr(carnet.errors, case.error), carnet.errors.CarnetError)


def test_the_docs_show_this_table() -> None:
    """docs/reliability.md carries the table verbatim; regenerate it from bad_calls.py."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- bad-calls:start -->\n(.*?)\n<!-- bad-calls:end -->", text, re.S)
    assert match, "docs/reliability.md lost its bad-calls markers"
    assert match.group(1) == markdown_table(), (
        "the table in docs/reliability.md differs from tests/reliability/bad_calls.py; "
        "paste markdown_table() between the markers"
    )
    gaps = re.search(r"<!-- known-gaps:start -->\n(.*?)\n<!-- known-gaps:end -->", text, re.S)
    assert gaps and gaps.group(1) == markdown_gaps(), "paste markdown_gaps() between its markers"


# -- what used to leak raw errors or write before failing ---------------------------------


def test_none_means_nothing_in_log_batch(client: carnet.Client) -> None:
    """MLflow's log_batch treats None as an empty list; so does Carnet."""
    run_id = client.create_run(carnet.set_experiment("none").experiment_id).info.run_id
    client.log_batch(run_id, metrics=None, params=None, tags=None)  # type: ignore[arg-type]
    client.log_batch(run_id, metrics=[("m", 1.0, 1, 0)], params=None)  # type: ignore[arg-type]
    got = client.get_run(run_id).data
    assert got.metrics == {"m": 1.0} and got.params == {}


def test_a_max_results_beyond_any_store_means_no_limit(client: carnet.Client) -> None:
    exp_id = carnet.set_experiment("many").experiment_id
    for _ in range(3):
        client.create_run(exp_id)
    huge = 10**30
    runs = client.search_runs([exp_id], max_results=huge)
    assert len(runs) == 3 and runs.token is None
    assert len(carnet.search_runs([exp_id], max_results=huge)) == 3
    found = client.search_experiments(max_results=huge)
    assert sorted(e.name for e in found) == ["Default", "many"]
    assert len(client.search_runs([exp_id], max_results=2**62 - 1)) == 3


def test_renaming_through_the_name_tag_renames_the_run(client: carnet.Client) -> None:
    run_id = client.create_run(carnet.set_experiment("names").experiment_id).info.run_id
    client.set_tag(run_id, "mlflow.runName", "n" * 250)
    client.log_batch(run_id, tags=[("mlflow.runName", "final")])
    run = client.get_run(run_id)
    assert run.info.run_name == "final" and run.data.tags["mlflow.runName"] == "final"


def test_resuming_a_run_checks_first_then_writes_once(tracking: str) -> None:
    client = carnet.Client()
    with carnet.start_run(run_name="first") as run:
        run_id = run.info.run_id
    ended = client.get_run(run_id).info.end_time
    with pytest.raises(carnet.errors.InvalidKeyError):
        carnet.start_run(run_id=run_id, tags={"ok": "1", "bad;key": "2"})
    info = client.get_run(run_id).info
    assert (info.status, info.end_time) == ("FINISHED", ended)
    assert "ok" not in client.get_run(run_id).data.tags
    with carnet.start_run(run_id=run_id, tags={"ok": "1"}, run_name="again", description="d"):
        resumed = client.get_run(run_id)
        assert (resumed.info.status, resumed.info.end_time) == ("RUNNING", None)
        assert resumed.info.run_name == "again"
        assert resumed.data.tags["mlflow.note.content"] == "d" and resumed.data.tags["ok"] == "1"
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_valid_parent_is_recorded(client: carnet.Client) -> None:
    exp_id = carnet.set_experiment("family").experiment_id
    parent = client.create_run(exp_id).info.run_id
    child = client.create_run(exp_id, parent_run_id=parent)
    assert child.data.tags["mlflow.parentRunId"] == parent
    assert client.get_parent_run(child.info.run_id).info.run_id == parent  # type: ignore[union-attr]
    with carnet.start_run(parent_run_id=parent) as run:
        assert run.data.tags["mlflow.parentRunId"] == parent


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "-e", "99999999999999999999999"],
        ["experiments", "delete", "99999999999999999999999"],
        ["experiments", "rename", "99999999999999999999999", "x"],
        ["runs", "list", "-e", "reliability", "--filter", "metrics.x <"],
        ["experiments", "create", ""],
        ["gc", "--experiment-ids", "99999999999999999999999", "--dry-run"],
    ],
)
def test_the_cli_reports_a_carnet_error_in_one_line(uri: str, args: list[str]) -> None:
    from click.testing import CliRunner

    from carnet.cli import cli

    carnet.Client(uri).create_experiment("reliability")
    result = CliRunner().invoke(cli, [*args, "--db", uri])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
