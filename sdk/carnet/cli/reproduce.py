"""``carnet reproduce RUN_ID``: run a recorded run again, and compare its metrics."""

from __future__ import annotations

import click

from carnet.cli._common import db_option, open_client


@click.command()
@click.argument("run_id")
@click.option(
    "--env",
    "env",
    type=click.Choice(["new", "current"]),
    default="new",
    show_default=True,
    help="new: a fresh environment with the run's packages (uv when installed, else pip); "
    "current: this Python as it is (packages that differ are listed).",
)
@click.option(
    "--manager",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    show_default=True,
    help="What builds the new environment.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; build and run nothing.")
@db_option
def reproduce(run_id: str, env: str, manager: str, dry_run: bool, db: str | None) -> None:
    """Run RUN_ID again from its record and print both runs' metrics side by side.

    The recorded commit is exported to a temporary folder and the run's
    uncommitted changes applied; a fresh environment gets the recorded
    packages; the recorded command runs there against the same store. The new
    run is tagged carnet.reproduces=RUN_ID. A commit, package or Python version
    that cannot be had stops it with a message naming it.
    """
    from carnet.reproduce_plan import make_plan
    from carnet.reproduce_run import compare_metrics, format_comparison
    from carnet.reproduce_run import reproduce as run_again

    client = open_client(db)
    plan = make_plan(client, run_id)
    click.echo(plan.describe())
    if dry_run:
        for warning in plan.warnings:
            click.echo(f"warning: {warning}")
        return
    new = run_again(client, plan, env=env, manager=manager, say=click.echo)
    original = client.get_run(run_id)
    click.echo(f"reproduction: run {new.info.run_id}")
    rows = compare_metrics(original, new)
    click.echo(format_comparison(rows, run_id, new.info.run_id))
