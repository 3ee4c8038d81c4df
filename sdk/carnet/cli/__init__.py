"""The ``carnet`` command line: one click group, one module per command group.

``main()`` is the console script. Every ``CarnetError`` becomes a one-line
message on stderr and exit status 1, never a traceback: the CLI is for people
at a terminal and for shell scripts, and both want a short reason.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from carnet import settings
from carnet.errors import CarnetError


class CarnetGroup(click.Group):
    """A click group that turns Carnet's errors into a clean exit."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a Carnet, database or disk error becomes a one-line
        message and exit status 1 (``CARNET_DEBUG=1`` shows the traceback instead).
        """
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return super().invoke(ctx)
        except CarnetError as exc:
            raise click.ClickException(_one_line(exc)) from None
        except (SQLAlchemyError, OSError) as exc:
            # The database or the disk, not Carnet: say what happened in one line.
            if settings.DEBUG.get_or_default():  # a bad value must not hide this error
                raise
            message = f"{type(exc).__name__}: {_one_line(exc)}"[:500]
            raise click.ClickException(
                f"{message} (set CARNET_DEBUG=1 to see the traceback)"
            ) from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@click.group(cls=CarnetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carnet", prog_name="carnet")
def cli() -> None:
    """Carnet: experiment tracking with MLflow's API over a fast SQL store."""


def _register() -> None:
    from carnet.cli import (
        db,
        experiments,
        export,
        gc,
        import_mlflow,
        models,
        replay,
        reproduce,
        run,
        runs,
        server,
        ui,
    )

    for command in (
        ui.ui,
        experiments.experiments,
        runs.runs,
        export.export,
        gc.gc,
        db.db,
        import_mlflow.import_mlflow,
        replay.replay,
        reproduce.reproduce,
        run.run,
        server.server,
        models.models,
    ):
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="carnet")


__all__ = ["cli", "main"]
