"""``carnet runs``: list and search runs, show one, delete and restore."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from carnet.cli._common import (
    db_option,
    echo_frame,
    find_experiment,
    fmt_cell,
    fmt_time,
    format_option,
    open_client,
    table,
    to_json,
)
from carnet.errors import CarnetError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from carnet.client import Client

DEFAULT_COLUMNS = ["run_id", "run_name", "experiment_id", "status", "start_time"]


@click.group()
def runs() -> None:
    """List, search, show, delete and restore runs."""


def _search_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        db_option,
        click.option(
            "-e", "--experiment", "experiments", multiple=True, metavar="NAME_OR_ID",
            help="Experiment to search (repeatable; default: every active experiment).",
        ),
        click.option("--filter", "filter_string", default="", metavar="QUERY",
                     help="e.g. \"metrics.rmse < 50 and params.alpha = '0.1'\"."),
        click.option("--order-by", multiple=True, metavar="KEY [ASC|DESC]",
                     help="Sort key, e.g. 'metrics.rmse ASC' (repeatable)."),
        click.option("--columns", default=None, metavar="LIST",
                     help="Comma-separated columns; shell patterns work, e.g. "
                          "'run_id,metrics.*,params.alpha'. Default: ids, name, status, "
                          "start, then every metric and param."),
        click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True,
                     help="At most this many runs (0 for all)."),
        click.option("--all", "show_all", is_flag=True, help="Include deleted runs."),
        click.option("--deleted", is_flag=True, help="Only deleted runs."),
        format_option,
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _experiment_ids(client: Client, idents: Sequence[str], view: str) -> list[str]:
    if idents:
        return [find_experiment(client, i).experiment_id for i in idents]
    return [e.experiment_id for e in client.search_experiments(view)]


def select_columns(frame: pd.DataFrame, spec: str | None) -> pd.DataFrame:
    """The columns asked for (names or shell patterns), in the order asked."""
    available = list(frame.columns)
    if spec is None:
        wanted = [c for c in DEFAULT_COLUMNS if c in available]
        wanted += sorted(c for c in available if c.startswith(("metrics.", "params.")))
        return frame[wanted]
    wanted = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        matches = [c for c in available if fnmatch.fnmatchcase(c, item)]
        if not matches and not any(ch in item for ch in "*?["):
            if item in ("run_id", "run_name", "status", "start_time", "end_time", "experiment_id",
                        "user_id", "artifact_uri", "lifecycle_stage", "parent_run_id") or \
                    item.startswith(("metrics.", "params.", "tags.")):  # fmt: skip
                frame = frame.assign(**{item: None})  # a column no matched run has
                matches = [item]
            else:
                raise InvalidInputError(
                    f"--columns: no column {item!r}; use run_id, run_name, status, "
                    "start_time, end_time, metrics.<key>, params.<key> or tags.<key>."
                )
        wanted += [m for m in matches if m not in wanted]
    return frame[wanted]


def _search(
    db: str | None,
    experiments: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    columns: str | None,
    limit: int,
    show_all: bool,
    deleted: bool,
    fmt: str,
) -> None:
    client = open_client(db, read_only=True)
    view = "DELETED_ONLY" if deleted else "ALL" if show_all else "ACTIVE_ONLY"
    # deleted runs also live in deleted experiments
    ids = _experiment_ids(client, experiments, "ACTIVE_ONLY" if view == "ACTIVE_ONLY" else "ALL")
    if not ids:
        frame = client.search_runs_frame([], "", view, 0)
    else:
        frame = client.search_runs_frame(
            ids, filter_string, view, limit or None, list(order_by) or None
        )
    echo_frame(select_columns(frame, columns), fmt, "run")


@runs.command("list")
@_search_options
def list_(**options: Any) -> None:
    """Runs of one or more experiments, newest first."""
    _search(**options)


@runs.command()
@click.argument("query", required=False, default=None)
@_search_options
def search(query: str | None, **options: Any) -> None:
    """Runs matching QUERY (MLflow's filter syntax, plus OR, NOT and parentheses).

    \b
    Examples:
      carnet runs search "metrics.rmse < 50" --order-by "metrics.rmse ASC" --limit 5
      carnet runs search "params.alpha < 0.1 and tags.team LIKE 'med%'" --format csv
    """
    if query is not None:
        if options["filter_string"]:
            raise InvalidInputError("give the query either as an argument or with --filter.")
        options["filter_string"] = query
    _search(**options)


@runs.command()
@db_option
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people, json for scripts.")  # fmt: skip
def show(db: str | None, run_id: str, fmt: str) -> None:
    """Everything about one run: info, params, metrics, tags and artifacts."""
    client = open_client(db, read_only=True)
    run = client.get_run(run_id)
    info = run.info
    try:
        artifacts = client.list_artifacts(run_id)
    except CarnetError as exc:  # refused, or a folder on another machine: show the run anyway
        artifacts = []
        click.echo(f"warning: artifacts not listed: {exc}", err=True)
    metrics = {}
    for key, value in sorted(run.data.metrics.items()):
        s = run.summaries.get(key)
        metrics[key] = {"last": value, "min": s.min if s else None, "max": s.max if s else None,
                        "count": s.count if s else None, "step": s.step if s else None}  # fmt: skip
    if fmt == "json":
        click.echo(to_json({
            "info": {**info.__dict__, "experiment_name": _experiment_name(client, info)},
            "params": run.data.params,
            "metrics": metrics,
            "tags": run.data.tags,
            "artifacts": [a.__dict__ for a in artifacts],
        }))  # fmt: skip
        return
    duration = ""
    if info.start_time is not None and info.end_time is not None:
        duration = f"{(info.end_time - info.start_time) / 1000:.1f}s"
    fields = [
        ("run_id", info.run_id),
        ("name", info.run_name),
        ("experiment", f"{_experiment_name(client, info)} (id {info.experiment_id})"),
        ("status", info.status),
        ("lifecycle", info.lifecycle_stage),
        ("user", info.user_id),
        ("start", fmt_time(info.start_time)),
        ("end", fmt_time(info.end_time)),
        ("duration", duration),
        ("parent", run.data.tags.get("mlflow.parentRunId", "")),
        ("artifact_uri", info.artifact_uri),
    ]
    width = max(len(k) for k, _ in fields)
    for name, text in fields:
        click.echo(f"{name.ljust(width)}  {text}")
    _section("params", ["key", "value"], sorted(run.data.params.items()))
    _section(
        "metrics",
        ["key", "last", "min", "max", "count", "step"],
        [
            (k, *(_number(m[c]) for c in ("last", "min", "max", "count", "step")))
            for k, m in metrics.items()
        ],
    )
    _section("tags", ["key", "value"], sorted(run.data.tags.items()), max_width=80)
    _section(
        "artifacts",
        ["path", "size"],
        [(a.path + ("/" if a.is_dir else ""), a.file_size) for a in artifacts],
    )


def _number(value: Any) -> str:
    """A metric value as text; unlike table cells in lists, NaN shows as 'nan' here."""
    if isinstance(value, float) and value != value:
        return "nan"
    return fmt_cell(value)


def _experiment_name(client: Client, info: Any) -> str:
    try:
        return client.get_experiment(info.experiment_id).name
    except Exception:
        return ""


def _section(
    title: str, headers: list[str], rows: Sequence[Sequence[Any]], max_width: int = 40
) -> None:
    click.echo(f"\n{title} ({len(rows)})")
    if rows:
        click.echo(table(headers, rows, max_width=max_width))


@runs.command()
@db_option
@click.argument("run_ids", nargs=-1, required=True)
def delete(db: str | None, run_ids: tuple[str, ...]) -> None:
    """Delete runs (restorable until 'carnet gc' purges them)."""
    client = open_client(db)
    for run_id in run_ids:
        client.delete_run(run_id)
        click.echo(f"deleted run {run_id}")


@runs.command()
@db_option
@click.argument("run_ids", nargs=-1, required=True)
def restore(db: str | None, run_ids: tuple[str, ...]) -> None:
    """Restore deleted runs."""
    client = open_client(db)
    for run_id in run_ids:
        client.restore_run(run_id)
        click.echo(f"restored run {run_id}")


__all__ = ["fmt_cell", "runs", "select_columns"]
