"""One ``predict`` for every model, with the model's signature enforced first.

``carnet.pyfunc.load_model(uri)`` loads a model logged by Carnet or MLflow
(``runs:/<run_id>/<name>``, ``file://`` or a folder) and wraps it in a
:class:`PyFuncModel`. Its ``predict`` takes a DataFrame, an array, a list or a
dict, checks it against the signature in ``MLmodel`` (missing or extra
columns, types that cannot be converted safely: :class:`~carnet.errors.SchemaError`
naming the column), converts what MLflow converts (int -> double) and calls
the model. Loading runs the flavour's loader: a pickle runs code, so load only
from stores you trust.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from carnet.errors import ModelError
from carnet.model_signature import ModelSignature, Schema, enforce_schema
from carnet.models import (
    ModelVersionWarning,
    load_folder,
    local_model_folder,
    read_descriptor,
    read_signature,
)

#: prediction methods a descriptor's ``predict_fn`` may name; anything else is refused
PREDICT_FUNCTIONS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


class ModelMetadata(dict[str, Any]):
    """The ``MLmodel`` descriptor, read as a dict and with what MLflow's ``Model`` offers
    code that inspects a loaded model (``model.metadata.get_input_schema()``...)."""

    @property
    def signature(self) -> ModelSignature | None:
        """The model's signature, or None when it was saved without one."""
        return read_signature(self)

    def get_input_schema(self) -> Schema | None:
        """The inputs the model takes (its signature's), or None without a signature."""
        signature = self.signature
        return signature.inputs if signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """What the model returns (its signature's outputs), or None."""
        signature = self.signature
        return signature.outputs if signature is not None else None

    @property
    def flavors(self) -> dict[str, Any]:
        """The flavour sections of ``MLmodel`` (``python_function``, ``sklearn``...)."""
        return dict(self["flavors"])

    @property
    def run_id(self) -> str | None:
        """The run the model was logged in, if any."""
        return self.get("run_id")

    @property
    def model_uuid(self) -> str | None:
        """The model's uuid as ``MLmodel`` records it."""
        return self.get("model_uuid")

    @property
    def model_id(self) -> str | None:
        """The logged model's id (``m-<hex>``), for models logged as MLflow 3 does."""
        return self.get("model_id")


class PyFuncModel:
    """A loaded model behind MLflow's ``pyfunc`` interface."""

    def __init__(self, model: Any, descriptor: dict[str, Any]) -> None:
        self._model = model
        self.metadata = ModelMetadata(descriptor)
        self.signature: ModelSignature | None = read_signature(descriptor)
        name = (descriptor["flavors"].get("python_function") or {}).get("predict_fn", "predict")
        if name not in PREDICT_FUNCTIONS or not hasattr(model, name):
            raise ModelError(
                f"the model's predict_fn {name!r} is not one of {list(PREDICT_FUNCTIONS)} "
                f"that {type(model).__name__} has."
            )
        self._predict_fn = name

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The model's prediction on ``data`` after checking it against the signature.

        ``params`` are accepted for MLflow compatibility; scikit-learn models take none.
        """
        if self.signature is not None and self.signature.inputs is not None:
            data = enforce_schema(data, self.signature.inputs)
        return getattr(self._model, self._predict_fn)(data)

    def predict_conformed(self, data: Any) -> Any:
        """The model's prediction on ``data`` that already fits the signature.

        For callers that built ``data`` to the signature themselves (the scoring
        server's numeric fast path), so the check is not paid twice; anything
        else goes through :meth:`predict`.
        """
        return getattr(self._model, self._predict_fn)(data)

    def get_raw_model(self) -> Any:
        """The underlying model object (e.g. the scikit-learn estimator)."""
        return self._model

    def __repr__(self) -> str:
        flavors = [f for f in self.metadata["flavors"] if f != "python_function"]
        return f"PyFuncModel(flavors={flavors}, model={type(self._model).__name__})"


def load_model(
    model_uri: str | Path,
    suppress_warnings: bool = False,
    dst_path: str | Path | None = None,
    *,
    tracking_uri: str | None = None,
) -> PyFuncModel:
    """Load a model (Carnet's or MLflow's) as a :class:`PyFuncModel`.

    MLflow's arguments: ``suppress_warnings`` silences the warning about library
    versions that differ from the saved ones; ``dst_path`` copies the model's folder
    there and loads the copy. Unpickling runs code: load only models from stores you trust.
    """
    folder = local_model_folder(model_uri, tracking_uri, dst_path)
    descriptor = read_descriptor(folder)
    with warnings.catch_warnings():
        if suppress_warnings:
            warnings.simplefilter("ignore", ModelVersionWarning)
        model = load_folder(folder, descriptor, str(model_uri))
    return PyFuncModel(model, descriptor)


__all__ = ["PyFuncModel", "load_model"]
