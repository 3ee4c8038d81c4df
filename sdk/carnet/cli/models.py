"""``carnet models``: serve a logged model, predict with it from files, build its image.

The commands and their options are ``mlflow models serve``, ``predict`` and
``build-docker``'s, so a script written for MLflow's CLI runs with ``carnet``
in its place. ``-m`` takes any model URI Carnet loads (``runs:/<run>/<name>``,
``models:/...``, ``file://`` or a folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from carnet.cli._common import db_option

MODEL_HELP = "The model: runs:/<run_id>/<name>, models:/..., a file:// URI or a folder."


@click.group()
def models() -> None:
    """Serve logged models, predict with them, build images that serve them."""


def _folder(model_uri: str, db: str | None) -> Path:
    from carnet.models import resolve_model_folder

    return resolve_model_folder(model_uri, db).resolve()


@models.command()
@click.option("--model-uri", "-m", required=True, metavar="URI", help=MODEL_HELP)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 serves your network.",
)
@click.option(
    "--port",
    "-p",
    default=5001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port (MLflow's default for model servers).",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes, each with its own copy of the model.",
)
@click.option(
    "--access-log/--no-access-log", default=False, show_default=True, help="Log every request."
)
@db_option
def serve(
    model_uri: str, host: str, port: int, workers: int, access_log: bool, db: str | None
) -> None:
    """Serve a model over MLflow's scoring protocol.

    POST /invocations takes MLflow's JSON bodies (dataframe_split, dataframe_records,
    instances, inputs) or CSV and answers {"predictions": [...]}; GET /ping, /health,
    /version. See docs/serving.md.
    """
    from carnet.scoring.app import load_app
    from carnet.scoring.app import serve as run

    folder = _folder(model_uri, db)
    app = load_app(folder)  # a model that cannot be loaded stops us here, in one line
    click.echo(f"Serving {model_uri} on http://{host}:{port}/invocations")
    sys.stdout.flush()
    run(folder, host=host, port=port, workers=workers, access_log=access_log, app=app)


@models.command()
@click.option("--model-uri", "-m", required=True, metavar="URI", help=MODEL_HELP)
@click.option(
    "--input-path",
    "-i",
    default=None,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A JSON or CSV body (default: stdin).",
)
@click.option(
    "--output-path",
    "-o",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the predictions go (default: stdout).",
)
@click.option(
    "--content-type",
    "-t",
    default="json",
    show_default=True,
    type=click.Choice(["json", "csv"]),
    help="The input's format.",
)
@db_option
def predict(
    model_uri: str,
    input_path: Path | None,
    output_path: Path | None,
    content_type: str,
    db: str | None,
) -> None:
    """Predict on a JSON or CSV input, as the model's server would answer it.

    The input is one of /invocations' bodies; the output is {"predictions": [...]}.
    """
    from carnet import settings
    from carnet.errors import ModelError
    from carnet.pyfunc import load_model
    from carnet.scoring.errors import ScoringError
    from carnet.scoring.invocations import Scorer
    from carnet.scoring.output import write_predictions
    from carnet.scoring.parsing import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON

    scorer = Scorer.of(load_model(_folder(model_uri, db)), settings.SCORING_MAX_ROWS.get())
    body = input_path.read_bytes() if input_path is not None else sys.stdin.buffer.read()
    mime = CONTENT_TYPE_CSV if content_type == "csv" else CONTENT_TYPE_JSON
    try:
        raw = scorer.predict(body, mime)
    except ScoringError as exc:
        raise ModelError(exc.message) from None
    if output_path is None:
        write_predictions(raw, sys.stdout)
        sys.stdout.write("\n")
    else:
        with output_path.open("w", encoding="utf-8") as out:
            write_predictions(raw, out)


@models.command("build-docker")
@click.option("--model-uri", "-m", required=True, metavar="URI", help=MODEL_HELP)
@click.option(
    "--name",
    "-n",
    default="carnet-pyfunc-servable",
    show_default=True,
    help="The image's name (and tag).",
)
@click.option(
    "--output-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Only write the build context (Dockerfile, model, Carnet) here; no build.",
)
@click.option(
    "--base-image",
    default=None,
    metavar="IMAGE",
    help="The Python image to build on (default: python:<model's X.Y>-slim).",
)
@click.option(
    "--network",
    default=None,
    metavar="MODE",
    help="docker build --network (e.g. host, where builds have no bridge).",
)
@db_option
def build_docker(
    model_uri: str,
    name: str,
    output_dir: Path | None,
    base_image: str | None,
    network: str | None,
    db: str | None,
) -> None:
    """Build an image that serves the model on port 8080, as MLflow's does.

    It runs `carnet models serve` as an unprivileged user, with a HEALTHCHECK on /ping:
    docker run -p 8080:8080 NAME.
    """
    import tempfile

    from carnet.scoring.docker import build, write_context

    folder = _folder(model_uri, db)
    if output_dir is not None:
        write_context(folder, output_dir, base=base_image)
        click.echo(
            f"Wrote the build context to {output_dir}; build it with "
            f"docker build -t {name} {output_dir}"
        )
        return
    args = ["--network", network] if network else []
    with tempfile.TemporaryDirectory(prefix="carnet-image-") as tmp:
        context = write_context(folder, Path(tmp) / "context", base=base_image)
        build(context, name, docker_args=args)
    click.echo(f"Built {name}: docker run -p 8080:8080 {name}")
