"""Logged models: MLflow's model format, written and read by Carnet.

A model logged as ``name`` in a run is the artifact folder ``<name>/``, laid out
as MLflow lays it out, so MLflow loads Carnet's models and Carnet loads MLflow's::

    <name>/
      MLmodel                     YAML: flavours (``python_function`` and e.g. ``sklearn``),
                                  signature, input example info, uuid, creation time
      model.pkl                   the serialised model (per flavour)
      requirements.txt            pins of the libraries it was saved with
      python_env.yaml, conda.yaml environments built from those pins (or ``conda_env``)
      code/                       the modules of ``code_paths``, put on ``sys.path`` to load
      input_example.json          the example input, if one was given
      serving_input_example.json  the same example as a body for ``/invocations``

``runs:/<run_id>/<name>`` names it, as in MLflow. :func:`load_model` reads the
descriptor and hands the folder to the loader of a flavour it knows (only
Carnet's own loaders: the descriptor's ``loader_module`` is never imported).
Models written by earlier Carnet versions (a JSON descriptor) keep loading.

Trust boundary: flavours such as ``sklearn`` store a *pickle*, and unpickling
runs code chosen by whoever wrote the file. Load models only from stores you
trust as much as your own code. The SHA-256 check catches a damaged or
swapped model file, not a forged model folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import platform
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from carnet import fluent, logged_model_fluent, registry_fluent, run_context
from carnet.client import Client
from carnet.entities import LoggedModel
from carnet.errors import (
    ArtifactNotFoundError,
    LoggedModelNotFoundError,
    ModelError,
    RunNotActiveError,
)
from carnet.model_ids import MODEL_ID, logged_model_id
from carnet.model_signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

DESCRIPTOR = "MLmodel"
INPUT_EXAMPLE = "input_example.json"
SERVING_INPUT_EXAMPLE = "serving_input_example.json"
REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"
#: 1: Carnet's JSON descriptor; 2: MLflow's YAML ``MLmodel``. Models without the field are MLflow's.
FORMAT_VERSION = 2
MODEL_HISTORY_TAG = "mlflow.log-model.history"
#: a logged model's id (``ModelInfo.model_id``), as in ``models:/m-0a1b...``

#: Flavour name -> module with ``_load_flavor(folder, descriptor)``; never read from a file.
FLAVOR_LOADERS: dict[str, str] = {"sklearn": "carnet.sklearn"}


class ModelVersionWarning(UserWarning):
    """A model was saved with other library versions than the ones installed now."""


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns: where the model is, what it takes and was saved with."""

    model_uri: str
    run_id: str | None
    artifact_path: str | None
    flavors: dict[str, Any]
    versions: dict[str, str]
    model_uuid: str
    utc_time_created: str
    input_example: str | None = None
    signature: ModelSignature | None = None
    metadata: dict[str, Any] | None = None
    #: ``m-<hex>``, stable for the model's life; ``models:/<model_id>`` loads it
    model_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The version ``log_model(..., registered_model_name=)`` registered, else None
    registered_model_version: str | None = None


# -- versions ----------------------------------------------------------------------------


def installed_version(distribution: str) -> str | None:
    """The installed version of a pip distribution, or None if it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def current_versions(distributions: Mapping[str, str]) -> dict[str, str]:
    """Python's version and each distribution's (label -> pip name) installed version."""
    found = {"python": platform.python_version()}
    for label, dist in distributions.items():
        version = installed_version(dist)
        if version is not None:
            found[label] = version
    return found


def _comparable(label: str, version: str) -> str:
    # A patch release of Python does not change pickles; any other library might.
    return ".".join(version.split(".")[:2]) if label == "python" else version


def version_mismatches(saved: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """``label saved -> now`` for each library whose version differs."""
    out = []
    for label, version in saved.items():
        current = now.get(label)
        if current is not None and _comparable(label, version) != _comparable(label, current):
            out.append(f"{label} {version} -> {current}")
    return out


def warn_on_mismatch(descriptor: Mapping[str, Any], distributions: Mapping[str, str]) -> None:
    """Warn (``ModelVersionWarning``) when a model was saved under other versions
    of Python or of ``distributions`` (label -> pip name) than are installed now,
    since a pickled model may then load wrongly or predict differently.
    """
    saved = {str(k): str(v) for k, v in (descriptor.get("versions") or {}).items()}
    now = current_versions(distributions)
    diffs = version_mismatches({k: v for k, v in saved.items() if k in now}, now)
    if diffs:
        warnings.warn(
            f"the model was saved with other versions than are installed ({', '.join(diffs)}); "
            "it may load wrongly or predict differently. Install the saved versions (see the "
            f"model's {REQUIREMENTS}) or log the model again with the current ones.",
            ModelVersionWarning,
            stacklevel=3,
        )


# -- input examples ----------------------------------------------------------------------


def example_to_json(example: Any) -> tuple[str, Any, dict[str, Any]]:
    """MLflow's files for an input example: ``(type, input_example.json document,
    serving_input_example.json document)`` for a DataFrame, a NumPy array, a dict or a list.
    """
    kind = type(example).__module__.split(".")[0] + "." + type(example).__name__
    if hasattr(example, "to_dict") and hasattr(example, "columns"):  # a pandas DataFrame
        frame = example.head(100)
        split = {
            "columns": [str(c) for c in frame.columns],
            "data": json.loads(frame.to_json(orient="values", date_format="iso")),
        }
        return "dataframe", split, {"dataframe_split": split}
    if hasattr(example, "tolist") and hasattr(example, "dtype"):  # a NumPy array
        data = example[:100].tolist()
        return "ndarray", data, {"inputs": data}
    try:
        json.dumps(example, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"input_example of type {kind} cannot be stored as JSON ({exc}); pass a pandas "
            "DataFrame, a NumPy array, or a list/dict of plain values."
        ) from None
    return "json_object", example, {"inputs": example}


def example_from_json(document: Any, info: Mapping[str, Any] | None = None) -> Any:
    """The input example stored in ``input_example.json``, rebuilt as a DataFrame,
    an array or plain JSON (MLflow's layout, or the one of earlier Carnet versions).
    """
    info = info or {}
    if isinstance(document, dict) and document.get("type") in ("dataframe", "ndarray", "json"):
        return _legacy_example(document)
    kind = info.get("type")
    if kind == "dataframe" and isinstance(document, dict):
        import pandas as pd

        if info.get("pandas_orient", "split") == "records":
            return pd.DataFrame(document)
        return pd.DataFrame(document.get("data"), columns=document.get("columns"))
    if kind == "ndarray":
        import numpy as np

        if isinstance(document, dict) and "inputs" in document:
            document = document["inputs"]
        return np.asarray(document)
    return document


def _legacy_example(document: Mapping[str, Any]) -> Any:
    """An input example in the JSON layout of earlier Carnet versions."""
    kind = document.get("type")
    if kind == "dataframe":
        import pandas as pd

        frame = pd.DataFrame(document["data"], columns=document["columns"])
        for column, dtype in (document.get("dtypes") or {}).items():
            try:
                frame[column] = frame[column].astype(dtype)
            except (TypeError, ValueError):
                pass  # keep what JSON gave; a dtype of this pandas may not exist there
        return frame
    if kind == "ndarray":
        import numpy as np

        return np.asarray(document["data"], dtype=document.get("dtype"))
    return document.get("data")


# -- writing -----------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks (recorded so a loaded model can be checked)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _active_or_new_run_id() -> str:
    """This thread's active run, else one started now (as MLflow's ``log_model`` does)."""
    return run_context.active_run_id() or fluent.start_run().info.run_id


@dataclass(frozen=True)
class FlavorWriter:
    """What a flavour contributes to a model folder.

    ``write_model(folder)`` writes the model file and returns its name;
    ``conf`` is the flavour's ``MLmodel`` section (the model file's name and
    SHA-256 are added); ``predict`` computes an output for signature inference.
    """

    flavor: str
    loader_module: str
    conf: dict[str, Any]
    write_model: Callable[[Path], str]
    distributions: Mapping[str, str]
    predict: Callable[[Any], Any] | None = None
    #: What ``pyfunc``'s predict calls on the model (MLflow's ``pyfunc_predict_fn``).
    predict_fn: str = "predict"
    #: Requirements added to the inferred ones (MLflow's ``extra_pip_requirements``).
    extra_pins: tuple[str, ...] = ()
    #: A checked conda environment (MLflow's ``conda_env``, see :mod:`carnet.model_env`):
    #: written as ``conda.yaml``, its pip list as ``requirements.txt``.
    conda_env: Mapping[str, Any] | None = None
    #: Checked files and folders copied into ``code/`` (MLflow's ``code_paths``).
    code_paths: tuple[Path, ...] = ()


def _environment_files(
    folder: Path, pins: list[str], conda_env: Mapping[str, Any] | None = None
) -> None:
    """``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` as MLflow writes them
    (with ``conda_env``, that environment and its pip list).
    """
    import yaml

    from carnet.model_env import pip_requirements

    python = platform.python_version()
    conda: Mapping[str, Any] = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": pins}],
        "name": "mlflow-env",
    }
    if conda_env is not None:
        conda, pins = conda_env, pip_requirements(conda_env)
    (folder / REQUIREMENTS).write_text("".join(f"{pin}\n" for pin in pins))
    python_env = {
        "python": python,
        "build_dependencies": ["pip", "setuptools", "wheel"],
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (folder / PYTHON_ENV).write_text(yaml.safe_dump(python_env, sort_keys=False))
    (folder / CONDA_ENV).write_text(yaml.safe_dump(dict(conda), sort_keys=False))


def _signature_for(
    writer: FlavorWriter, signature: ModelSignature | None, input_example: Any
) -> ModelSignature | None:
    """The given signature, else one inferred from the input example and the model's
    output on it (as MLflow does); None if neither is possible.
    """
    if signature is not None or input_example is None:
        return signature
    from carnet.errors import CarnetError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. scikit-learn's feature-name warnings
            output = writer.predict(input_example) if writer.predict is not None else None
            return infer_signature(input_example, output)
    except (CarnetError, ValueError, TypeError):
        return None  # an example the model cannot predict on still gets stored


def save_model_folder(
    folder: Path,
    writer: FlavorWriter,
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    model_id: str | None = None,
) -> dict[str, Any]:
    """Write an MLflow-format model folder into the empty ``folder``; return its descriptor."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ModelError(
            f"{str(folder)!r} is not empty; save the model into a new folder (models are "
            "immutable once saved)."
        )
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _write_folder(folder, writer, signature, input_example, pip_requirements,
                             metadata, run_id, artifact_path, model_id)  # fmt: skip
    except BaseException:
        # a failed save leaves nothing behind: the folder was empty (or absent) before
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        if created:
            folder.rmdir()
        raise


def _write_folder(
    folder: Path,
    writer: FlavorWriter,
    signature: ModelSignature | None,
    input_example: Any,
    pip_requirements: list[str] | None,
    metadata: dict[str, Any] | None,
    run_id: str | None,
    artifact_path: str | None,
    model_id: str | None = None,
) -> dict[str, Any]:
    """The files of :func:`save_model_folder`, written into the empty ``folder``."""
    import yaml

    from carnet.model_code import copy_code

    versions = current_versions(writer.distributions)
    code = copy_code(writer.code_paths, folder)
    model_file = writer.write_model(folder)
    conf = {**writer.conf, "pickled_model": model_file, "sha256": sha256_file(folder / model_file)}
    if code is not None:
        conf["code"] = code
    example_info = None
    if input_example is not None:
        kind, document, serving = example_to_json(input_example)
        (folder / INPUT_EXAMPLE).write_text(json.dumps(document, allow_nan=True))
        (folder / SERVING_INPUT_EXAMPLE).write_text(json.dumps(serving, indent=2, allow_nan=True))
        example_info = {"artifact_path": INPUT_EXAMPLE, "serving_input_path": SERVING_INPUT_EXAMPLE,
                        "type": kind}  # fmt: skip
        if kind == "dataframe":
            example_info["pandas_orient"] = "split"
    signature = _signature_for(writer, signature, input_example)
    if pip_requirements is None:
        pip_requirements = [f"{dist}=={versions[label]}" for label, dist in
                            writer.distributions.items() if label in versions]  # fmt: skip
    pins = [str(p) for p in [*pip_requirements, *writer.extra_pins]]
    _environment_files(folder, pins, writer.conda_env)
    python_function: dict[str, Any] = {
        "env": {"conda": CONDA_ENV, "virtualenv": PYTHON_ENV},
        "loader_module": writer.loader_module,
        "model_path": model_file,
        "predict_fn": writer.predict_fn,
        "python_version": platform.python_version(),
    }
    if code is not None:
        python_function["code"] = code
    descriptor: dict[str, Any] = {}
    model_uuid = model_id or uuid.uuid4().hex  # MLflow 3 uses the model id as the uuid
    if model_id is not None:
        descriptor.update(artifact_path=artifact_path, run_id=run_id, model_id=model_id)
    descriptor.update(
        flavors={"python_function": python_function, writer.flavor: conf},
        format_version=FORMAT_VERSION,
        carnet_version=installed_version("carnet") or "unknown",
        model_size_bytes=sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
        model_uuid=model_uuid,
        saved_input_example_info=example_info,
        signature=signature.to_dict() if signature is not None else None,
        utc_time_created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        versions=versions,
    )
    if metadata:
        descriptor["metadata"] = metadata
    (folder / DESCRIPTOR).write_text(yaml.safe_dump(descriptor, sort_keys=False))
    return descriptor


def log_model_folder(
    writer: FlavorWriter,
    *,
    name: str,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    registered_model_name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Record a logged model of the run, write its folder, then mark it READY (FAILED if
    writing fails), as MLflow 3 does: the model gets an id, the run's params, the run's
    metrics at ``step``, and an entry in the run's outputs.

    The run is ``run_id``, else the active run (started if there is none, as MLflow does).
    With ``model_id`` the files go into that existing model (made by
    ``initialize_logged_model`` or ``create_external_model``, still without files)
    instead of a new one, linked to ``run_id`` or the active run if there is one; its
    name stays, ``tags`` and ``params`` are added to it, and an external model loses
    its ``mlflow.model.isExternal`` tag, as in MLflow 3.
    With ``registered_model_name`` the logged model is then registered as that model's
    next version (the registered model is created if it is new).
    """
    from carnet.artifacts import safe_relative
    from carnet.entities import LoggedModelStatus

    rel = safe_relative(name)
    if not rel.parts:
        raise ModelError("a model needs a name, e.g. log_model(model, 'model').")
    artifact_path = str(rel)
    client = run_context.client()
    if model_id is not None:
        model = _model_without_files(client, model_id)
        rid = run_id if run_id is not None else run_context.active_run_id()
        if tags:
            client.set_logged_model_tags(model.model_id, tags)
        if params:
            client.log_model_params(model.model_id, params)
        artifact_path = model.name
    else:
        rid = run_id if run_id is not None else _active_or_new_run_id()
        run = client.get_run(rid)
        model = client.create_logged_model(
            run.info.experiment_id,
            artifact_path,
            rid,
            tags=tags,
            params={**(params or {}), **run.data.params},
            model_type=model_type,
        )
    try:
        if rid is not None:
            _link_to_run(client, model.model_id, rid, step)
        with tempfile.TemporaryDirectory(prefix="carnet-model-") as tmp:
            folder = Path(tmp) / "model"
            descriptor = save_model_folder(
                folder,
                writer,
                signature=signature,
                input_example=input_example,
                pip_requirements=pip_requirements,
                metadata=metadata,
                run_id=rid,
                artifact_path=model.artifact_location,
                model_id=model.model_id,
            )
            client.log_model_artifacts(model.model_id, folder)
        if model.tags.get(logged_model_fluent.EXTERNAL_TAG, "false").lower() == "true":
            client.delete_logged_model_tag(model.model_id, logged_model_fluent.EXTERNAL_TAG)
    except BaseException:
        client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    logged_model_fluent.set_last_logged_model_id(model.model_id)
    info = dataclasses.replace(model_info(descriptor, model.model_uri), artifact_path=artifact_path)
    if registered_model_name is None:
        return info
    version = registry_fluent.register_version(
        client, info.model_uri, registered_model_name, model_id=info.model_id
    )
    return dataclasses.replace(info, registered_model_version=version.version)


def _model_without_files(client: Client, model_id: str) -> LoggedModel:
    """The existing logged model ``log_model(model_id=)`` names, refused when it already
    holds files (a model's files are immutable once logged) or does not exist."""
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise ModelError(
            f"model_id must be a logged model's id such as 'm-0a1b...' (from "
            f"initialize_logged_model or create_external_model), got {model_id!r}."
        )
    try:
        model = client.get_logged_model(model_id)
    except LoggedModelNotFoundError as exc:
        raise ModelError(
            f"{exc} Create it first with carnet.initialize_logged_model(), or leave out "
            "model_id to log a new model."
        ) from None
    if client.list_logged_model_artifacts(model_id):
        raise ModelError(
            f"the logged model {model_id} already holds files; a model's files cannot be "
            "replaced, so log a new model (leave out model_id)."
        )
    return model


def _link_to_run(client: Client, model_id: str, run_id: str, step: int) -> None:
    """Record the model as an output of the run and link the run's metrics at ``step``."""
    from carnet.entities import LoggedModelOutput

    run = client.get_run(run_id)
    client.log_outputs(run_id, [LoggedModelOutput(model_id, step)])
    points = [m for key in run.data.metrics for m in client.get_metric_history(run_id, key)
              if m.step == step]  # fmt: skip
    try:
        client.log_model_metrics(model_id, points, run_id)
    except RunNotActiveError:
        pass  # a deleted run's points are not linked


def model_info(descriptor: Mapping[str, Any], model_uri: str) -> ModelInfo:
    """The :class:`ModelInfo` of a model from its descriptor."""
    section = descriptor.get("signature")
    example = descriptor.get("saved_input_example_info") or {}
    return ModelInfo(
        model_uri=model_uri,
        run_id=descriptor.get("run_id"),
        artifact_path=descriptor.get("artifact_path"),
        flavors=dict(descriptor["flavors"]),
        versions={str(k): str(v) for k, v in (descriptor.get("versions") or {}).items()},
        model_uuid=str(descriptor.get("model_uuid")),
        utc_time_created=str(descriptor.get("utc_time_created")),
        input_example=example.get("artifact_path"),
        signature=ModelSignature.from_dict(section) if isinstance(section, dict) else None,
        metadata=descriptor.get("metadata"),
        model_id=descriptor.get("model_id"),
    )


# -- reading -----------------------------------------------------------------------------


def resolve_model_folder(
    model_uri: str | Path, tracking_uri: str | None = None, *, _depth: int = 0
) -> Path:
    """The local folder of a model: ``runs:/<run_id>/<path>``, ``models:/<model_id>``,
    a registered version (``models:/<name>/<version>``, ``models:/<name>@<alias>``,
    ``models:/<name>/latest``), ``file://...`` or a path.
    """
    text = str(model_uri)
    if text.startswith("runs:"):
        rest = text[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        if not run_id or not path.strip("/"):
            raise ModelError(
                f"model URI {text!r} must look like 'runs:/<run_id>/<model name>', "
                "e.g. 'runs:/0a1b2c.../model'."
            )
        folder = run_model_folder(Client(tracking_uri), run_id, path.strip("/"))
    elif logged_model_id(text) is not None:
        folder = _logged_model_folder(text, tracking_uri)
    elif text.startswith("models:"):
        if _depth >= _MAX_REGISTRY_HOPS:
            raise ModelError(
                f"model URI {text!r}: registered versions refer to each other more than "
                f"{_MAX_REGISTRY_HOPS} deep; register the model from its run instead."
            )
        source = registered_version_source(text, tracking_uri)
        return resolve_model_folder(source, tracking_uri, _depth=_depth + 1)
    elif (scheme := _scheme(text)) not in (None, "file"):
        raise ModelError(
            f"model URI scheme {scheme!r} is not supported; use 'runs:/<run_id>/<name>', "
            "a file:// URI or a local folder."
        )
    else:
        folder = Path(unquote(urlparse(text).path)) if text.startswith("file://") else Path(text)
    if not (folder / DESCRIPTOR).is_file():
        raise ModelError(
            f"no logged model at {text!r} (no {DESCRIPTOR} file in {str(folder)!r}); check the "
            "run id and the name given to log_model (see the run's artifacts)."
        )
    return folder


#: How many registered versions a model URI may pass through (a version's source can
#: itself be ``models:/...``) before the chain is refused as a loop.
_MAX_REGISTRY_HOPS = 4
_REGISTERED_URI = re.compile(r"models:/([^/@]+)(?:/([^/@]+)|@([^/@]+))/?")
#: A run's artifact as a tracking server hands it out: ``mlflow-artifacts:/<exp>/<run>/
#: artifacts/<path>``, which MLflow's ``register_model`` records as a version's source.
_PROXIED_RUN_SOURCE = re.compile(r"mlflow-artifacts:/+[^/]+/([^/]+)/artifacts/(.+)")


def registered_version_source(text: str, tracking_uri: str | None) -> str:
    """The source of the registered version a ``models:/<name>/<version>``,
    ``models:/<name>/latest`` or ``models:/<name>@<alias>`` URI names."""
    from carnet.client import Client
    from carnet.errors import InvalidInputError, NotFoundError

    match = _REGISTERED_URI.fullmatch(text)
    if match is None:
        raise ModelError(
            f"model URI {text!r} is not supported: use 'models:/<name>/<version>', "
            "'models:/<name>/latest', 'models:/<name>@<alias>', 'models:/<model_id>' "
            "(the model_id of log_model's ModelInfo) or 'runs:/<run_id>/<name>'."
        )
    name, version, alias = match.groups()
    client = Client(tracking_uri)
    try:
        if alias is not None:
            found = client.get_model_version_by_alias(name, alias)
        elif version.lower() == "latest":
            latest = client.get_latest_versions(name)
            if not latest:
                raise ModelError(f"{text}: registered model {name!r} has no versions yet.")
            found = latest[0]
        else:
            found = client.get_model_version(name, version)
    except (NotFoundError, InvalidInputError) as exc:
        raise ModelError(f"{text}: {exc}") from None
    if not found.source:
        raise ModelError(f"{text}: version {found.version} of {name!r} has no source.")
    proxied = _PROXIED_RUN_SOURCE.fullmatch(found.source)
    if proxied is not None:  # what MLflow's client records for runs:/ on a tracking server
        return f"runs:/{proxied.group(1)}/{proxied.group(2)}"
    return found.source


def run_model_folder(client: Client, run_id: str, path: str) -> Path:
    """The folder of ``runs:/<run_id>/<path>`` in ``client``'s store: the run's artifact
    folder ``path`` when it holds a model (models logged before logged models existed),
    else the run's newest logged model named ``path`` (as MLflow 3 resolves it).

    The client is the caller's, so the dashboard resolves through its read-only one.
    Raises :class:`ModelError` when the run has neither.
    """
    from carnet.query import quote_string

    try:
        folder = client.get_artifact_path(run_id, path)
        if (folder / DESCRIPTOR).is_file():
            return folder
    except ArtifactNotFoundError as exc:
        missing: Exception = exc
    else:
        missing = ModelError(f"no {DESCRIPTOR} in the run's artifact folder {path!r}")
    run = client.get_run(run_id)
    found = client.search_logged_models(
        [run.info.experiment_id],
        f"source_run_id = {quote_string(run_id)} AND name = {quote_string(path)}",
        max_results=1,
    )
    if not found:
        raise ModelError(
            f"no logged model at 'runs:/{run_id}/{path}': the run has no logged model named "
            f"{path!r} ({missing}); check the run id and the name given to log_model."
        )
    return client.logged_model_folder(found[0].model_id)


def _logged_model_folder(text: str, tracking_uri: str | None) -> Path:
    """The folder of ``models:/<model_id>``, found through the store's logged models."""
    from carnet.client import Client

    model_id = text[len("models:") :].strip("/")
    client = Client(tracking_uri)
    try:
        client.get_logged_model(model_id)
        return client.logged_model_folder(model_id)
    except LoggedModelNotFoundError as exc:  # its message says how to check the id
        raise ModelError(
            f"{text}: {exc} A model logged in a run also loads as 'runs:/<run_id>/<name>'."
        ) from None
    except ArtifactNotFoundError as exc:
        raise ModelError(
            f"{text}: {exc} Check the id (ModelInfo.model_id) and the tracking URI, or load "
            "it with 'runs:/<run_id>/<name>'."
        ) from None


def _scheme(text: str) -> str | None:
    """The URI scheme, if ``text`` has one (a Windows drive letter is not a scheme)."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):", text)
    return match.group(1).lower() if match else None


def read_descriptor(folder: Path) -> dict[str, Any]:
    """The ``MLmodel`` descriptor of a model folder, checked: it must have a
    ``flavors`` mapping and a format this Carnet reads, else a ``ModelError`` says why.
    YAML (MLflow's, and Carnet's since format 2) and JSON (earlier Carnet) are both read.
    """
    import yaml

    try:
        descriptor = yaml.safe_load((folder / DESCRIPTOR).read_text())
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ModelError(
            f"the model descriptor {str(folder / DESCRIPTOR)!r} cannot be read ({exc}); "
            "was the folder written by log_model (Carnet's or MLflow's)?"
        ) from None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("flavors"), dict):
        raise ModelError(f"{str(folder / DESCRIPTOR)!r} has no 'flavors' mapping.")
    version = descriptor.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(
            f"the model was saved in format {version!r}, newer than this Carnet reads "
            f"({FORMAT_VERSION}); upgrade Carnet to load it."
        )
    return descriptor


def read_signature(descriptor: Mapping[str, Any]) -> ModelSignature | None:
    """The model's signature from its descriptor, or None if it was saved without one."""
    section = descriptor.get("signature")
    return ModelSignature.from_dict(section) if isinstance(section, dict) else None


def verified_model_file(folder: Path, conf: Mapping[str, Any]) -> Path:
    """The flavour's model file, after checking it is the one that was saved
    (when a SHA-256 was recorded: Carnet records one, MLflow does not).
    """
    from carnet.artifacts import resolve

    name = conf.get("pickled_model", conf.get("model_file"))
    if not isinstance(name, str):
        raise ModelError(f"the descriptor in {str(folder)!r} names no model file.")
    path = resolve(folder, name)
    if not path.is_file():
        raise ModelError(f"the model file {str(path)!r} is missing.")
    expected = conf.get("sha256")
    if expected is not None and sha256_file(path) != expected:
        raise ModelError(
            f"the model file {str(path)!r} does not match the SHA-256 recorded when it was "
            "logged; it was changed or damaged, so it is not loaded."
        )
    return path


def load_model(model_uri: str | Path, *, tracking_uri: str | None = None) -> Any:
    """Load a logged model with the loader of its flavour (e.g. scikit-learn).

    Unpickling runs code: load only models from stores you trust.
    """
    folder = resolve_model_folder(model_uri, tracking_uri)
    return load_folder(folder, read_descriptor(folder), str(model_uri))


def load_folder(folder: Path, descriptor: Mapping[str, Any], model_uri: str) -> Any:
    """The model in ``folder``, loaded by Carnet's loader of the first flavour it knows
    (the loaders pyfunc and :func:`load_model` share).
    """
    for flavor in descriptor["flavors"]:
        module_name = FLAVOR_LOADERS.get(flavor)
        if module_name is not None:
            module = importlib.import_module(module_name)
            return module._load_flavor(folder, descriptor)
    raise ModelError(
        f"the model at {model_uri!r} has flavours {sorted(descriptor['flavors'])}, none of "
        f"which Carnet can load (it knows {sorted(FLAVOR_LOADERS)})."
    )


def load_input_example(model_uri: str | Path, *, tracking_uri: str | None = None) -> Any:
    """The input example saved with a model, or None."""
    folder = resolve_model_folder(model_uri, tracking_uri)
    info = read_descriptor(folder).get("saved_input_example_info") or {}
    name = info.get("artifact_path")
    if not name:
        return None
    from carnet.artifacts import resolve

    return example_from_json(json.loads(resolve(folder, name).read_text()), info)


def get_model_info(model_uri: str | Path, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """The model's descriptor (flavours, versions, run) without loading the model."""
    return read_descriptor(resolve_model_folder(model_uri, tracking_uri))


def local_model_folder(
    model_uri: str | Path, tracking_uri: str | None = None, dst_path: str | Path | None = None
) -> Path:
    """The folder a loader reads: the model's own, or with ``dst_path`` (MLflow's loaders'
    argument) a copy made in that folder first, which the model is then loaded from."""
    folder = resolve_model_folder(model_uri, tracking_uri)
    if dst_path is None:
        return folder
    target = Path(dst_path) / folder.name
    shutil.copytree(folder, target, dirs_exist_ok=True)
    return target


def copy_model(model_uri: str | Path, dst: str | Path, *, tracking_uri: str | None = None) -> Path:
    """Copy a logged model's folder to ``dst`` (e.g. to ship it beside a service)."""
    folder = resolve_model_folder(model_uri, tracking_uri)
    target = Path(dst)
    shutil.copytree(folder, target, dirs_exist_ok=True)
    return target


__all__ = [
    "FLAVOR_LOADERS",
    "ColSpec",
    "ModelInfo",
    "ModelSignature",
    "ModelVersionWarning",
    "Schema",
    "TensorSpec",
    "copy_model",
    "get_model_info",
    "infer_signature",
    "load_input_example",
    "load_model",
    "local_model_folder",
]
