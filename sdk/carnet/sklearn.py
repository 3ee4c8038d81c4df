"""scikit-learn support: ``autolog()`` and models logged as ``runs:/<run_id>/<name>``.

``import carnet.sklearn`` is cheap; scikit-learn is imported when a function runs.

Models are stored in MLflow's model format (see :mod:`carnet.models`): a pickle
(or cloudpickle) with the Python, scikit-learn and NumPy versions, requirements,
a signature and an optional input example. ``mlflow.sklearn.load_model`` loads
them, and :func:`load_model` loads MLflow's (pickle, cloudpickle, or skops if
installed).

Trust boundary: unpickling a model runs whatever code the pickle names, with
your privileges. ``load_model`` is safe only for models from a store that you
trust as much as your own code (your team's, written by your own training jobs).
Never load a model folder that came from someone you do not trust: a
pickle cannot be checked for safety. The SHA-256 recorded at logging time
catches a damaged or swapped model file, not a forged folder.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
import os
import pickle
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carnet import run_context
from carnet.client import Client
from carnet.clock import now_ms
from carnet.errors import ModelError
from carnet.models import (
    FlavorWriter,
    ModelInfo,
    ModelSignature,
    ModelVersionWarning,
    installed_version,
)
from carnet.sysinfo import (
    AUTOLOG_BEST_CANDIDATE_TAG,
    AUTOLOG_CANDIDATE_TAG,
    AUTOLOG_CANDIDATES_TAG,
    AUTOLOG_TAG,
)

FLAVOR = "sklearn"
MODEL_FILE = "model.pkl"
#: what log_model writes, and what load_model reads (MLflow's default skops, if installed)
WRITE_FORMATS = ("pickle", "cloudpickle")
READ_FORMATS = ("pickle", "cloudpickle", "skops")
#: label in the descriptor -> distribution name for pip
DISTRIBUTIONS = {"sklearn": "scikit-learn", "numpy": "numpy"}


class AutologWarning(UserWarning):
    """Autolog could not record something; the training itself was not affected."""


# -- models ------------------------------------------------------------------------------


def _writer(sk_model: Any, serialization_format: str) -> FlavorWriter:
    """How a scikit-learn estimator goes into an MLflow-format model folder."""
    if not (hasattr(sk_model, "fit") and hasattr(sk_model, "get_params")):
        raise ModelError(
            f"log_model takes a scikit-learn estimator (with fit and get_params), got "
            f"{type(sk_model).__name__}; log other objects with log_artifact."
        )
    if serialization_format not in WRITE_FORMATS:
        raise ModelError(
            f"serialization_format {serialization_format!r} is not supported; use one of "
            f"{list(WRITE_FORMATS)}."
        )

    def write(folder: Path) -> str:
        try:
            if serialization_format == "cloudpickle":
                import cloudpickle  # type: ignore[import-untyped]

                with (folder / MODEL_FILE).open("wb") as handle:
                    cloudpickle.dump(sk_model, handle)
            else:
                with (folder / MODEL_FILE).open("wb") as handle:
                    pickle.dump(sk_model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ModelError(
                f"the model cannot be pickled ({exc}); functions and classes it uses must be "
                "defined at module level (not lambdas or local definitions)."
            ) from None
        return MODEL_FILE

    cls = type(sk_model)
    return FlavorWriter(
        flavor=FLAVOR,
        loader_module="mlflow.sklearn",
        conf={
            "code": None,
            "serialization_format": serialization_format,
            "sklearn_version": installed_version("scikit-learn"),
            "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
        },
        write_model=write,
        distributions=DISTRIBUTIONS,
        predict=sk_model.predict if hasattr(sk_model, "predict") else None,
    )


def log_model(
    sk_model: Any,
    name: str = "model",
    input_example: Any = None,
    *,
    artifact_path: str | None = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    serialization_format: str = "pickle",
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    await_registration_for: int = 300,
    conda_env: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    model_id: str | None = None,
) -> ModelInfo:
    """Save ``sk_model`` in MLflow's model format as a logged model of the active run
    (or ``run_id``), so Carnet and MLflow can both load it.

    As in MLflow 3, the model gets its own id: the returned
    :class:`~carnet.models.ModelInfo` has ``model_id`` and ``model_uri`` =
    ``models:/<model_id>``, and ``runs:/<run_id>/<name>`` loads it too. The model
    records the run's params (and ``params``), ``tags``, ``model_type`` and the run's
    metrics at ``step``, is PENDING while its files are written and READY after
    (FAILED if writing fails). ``artifact_path=`` is
    MLflow 2's spelling of ``name``. Without ``signature``, one is inferred from
    ``input_example`` and the model's prediction on it, as MLflow does.
    ``registered_model_name=`` also registers the model as that registered model's
    next version (created if new); ``ModelInfo.registered_model_version`` says which
    (registration is immediate, so ``await_registration_for`` is accepted and unused).
    ``extra_pip_requirements`` are added to the inferred requirements;
    ``pyfunc_predict_fn`` names the method ``pyfunc``'s predict calls (``predict``,
    ``predict_proba``, ``predict_log_proba`` or ``decision_function``).
    ``conda_env`` (a dict or the path of a YAML file) is written as the model's
    ``conda.yaml`` and its pip list as ``requirements.txt``, instead of the inferred
    ones; ``code_paths`` are files and folders copied into the model's ``code/``
    folder, which loading (Carnet's and MLflow's) puts first on ``sys.path``: the
    modules the model's pickle imports. As in MLflow, only one of ``conda_env``,
    ``pip_requirements`` and ``extra_pip_requirements`` may be given.
    ``model_id`` (MLflow 3) writes the files into that existing logged model, made by
    ``carnet.initialize_logged_model`` or ``carnet.create_external_model`` and still
    without files, instead of a new one (see :func:`carnet.models.log_model_folder`).
    """
    from carnet.models import log_model_folder

    if artifact_path is not None:
        name = artifact_path
    writer = _checked_writer(
        sk_model,
        serialization_format,
        _Options(pyfunc_predict_fn, extra_pip_requirements, pip_requirements, conda_env,
                 code_paths),
    )  # fmt: skip
    return log_model_folder(
        writer,
        name=name,
        input_example=input_example,
        signature=signature,
        pip_requirements=pip_requirements,
        metadata=metadata,
        run_id=run_id,
        registered_model_name=registered_model_name,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
    )


#: The methods ``pyfunc_predict_fn`` may name (what ``carnet.pyfunc`` will call).
PYFUNC_PREDICT_FUNCTIONS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


@dataclass(frozen=True)
class _Options:
    """MLflow's ``log_model``/``save_model`` arguments that shape the saved folder."""

    predict_fn: str = "predict"
    extra: list[str] | None = None
    pip_requirements: list[str] | None = None
    conda_env: Mapping[str, Any] | str | os.PathLike[str] | None = None
    code_paths: list[str | os.PathLike[str]] | None = None


def _checked_writer(sk_model: Any, serialization_format: str, options: _Options) -> FlavorWriter:
    """The model's writer (``log_model``'s and ``save_model``'s) with MLflow's
    ``pyfunc_predict_fn``, ``extra_pip_requirements``, ``conda_env`` and ``code_paths``,
    all checked before anything is written."""
    from carnet.model_code import check_code_paths
    from carnet.model_env import read_conda_env

    given = [options.conda_env, options.pip_requirements, options.extra]
    if sum(g is not None for g in given) > 1:
        raise ModelError(
            "only one of conda_env, pip_requirements and extra_pip_requirements can be "
            "given (as in MLflow); put the extra pins into the one you pass."
        )
    predict_fn, extra = options.predict_fn, options.extra
    # "predict" stays the default even for a model without it (a search without refit),
    # as before: only a method asked for by name must exist.
    chosen = predict_fn != "predict"
    if predict_fn not in PYFUNC_PREDICT_FUNCTIONS or (chosen and not hasattr(sk_model, predict_fn)):
        raise ModelError(
            f"pyfunc_predict_fn {predict_fn!r} must be one of {list(PYFUNC_PREDICT_FUNCTIONS)} "
            f"that {type(sk_model).__name__} has."
        )
    pins = tuple(extra or ())
    if not all(isinstance(p, str) and p.strip() and "\n" not in p for p in pins) or len(pins) > 100:
        raise ModelError(
            "extra_pip_requirements takes up to 100 requirement strings, e.g. ['xgboost>=2']."
        )
    conda = None if options.conda_env is None else read_conda_env(options.conda_env)
    code = check_code_paths(options.code_paths)
    return dataclasses.replace(
        _writer(sk_model, serialization_format),
        predict_fn=predict_fn,
        extra_pins=pins,
        conda_env=conda,
        code_paths=code,
    )


def save_model(
    sk_model: Any,
    path: str | Path,
    conda_env: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    code_paths: list[str | os.PathLike[str]] | None = None,
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    serialization_format: str = "pickle",
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save ``sk_model`` in MLflow's model format into the new local folder ``path``
    (outside any run), e.g. to ship it beside a service.

    The arguments are :func:`log_model`'s, in MLflow's order: ``conda_env`` and
    ``code_paths`` as there; a bad one is refused before ``path`` is created.
    """
    from carnet.models import save_model_folder

    writer = _checked_writer(
        sk_model,
        serialization_format,
        _Options(pyfunc_predict_fn, extra_pip_requirements, pip_requirements, conda_env,
                 code_paths),
    )  # fmt: skip
    save_model_folder(
        Path(path),
        writer,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        metadata=metadata,
    )


def load_model(
    model_uri: str | Path,
    dst_path: str | Path | None = None,
    *,
    tracking_uri: str | None = None,
) -> Any:
    """Load an estimator logged by Carnet or MLflow (``runs:/<run_id>/<name>`` or a folder).

    With ``dst_path`` (MLflow's argument) the model's folder is copied there first and
    loaded from the copy. Warns with :class:`~carnet.models.ModelVersionWarning` when
    the installed versions differ from the saved ones. Load only from stores you trust:
    see this module's docstring.
    """
    from carnet.models import local_model_folder, read_descriptor

    folder = local_model_folder(model_uri, tracking_uri, dst_path)
    descriptor = read_descriptor(folder)
    if FLAVOR not in descriptor["flavors"]:
        raise ModelError(
            f"the model at {str(model_uri)!r} is not a scikit-learn model (flavours: "
            f"{sorted(descriptor['flavors'])}); load it with carnet.models.load_model."
        )
    return _load_flavor(folder, descriptor)


def _saved_versions(descriptor: Mapping[str, Any]) -> dict[str, str]:
    """The versions a model was saved with: Carnet's record, else MLflow's flavour fields."""
    if descriptor.get("versions"):
        return {str(k): str(v) for k, v in descriptor["versions"].items()}
    flavors = descriptor["flavors"]
    found = {}
    if flavors[FLAVOR].get("sklearn_version"):
        found["sklearn"] = str(flavors[FLAVOR]["sklearn_version"])
    if (flavors.get("python_function") or {}).get("python_version"):
        found["python"] = str(flavors["python_function"]["python_version"])
    return found


def _load_flavor(folder: Path, descriptor: Mapping[str, Any]) -> Any:
    """The flavour loader that :func:`carnet.models.load_model` dispatches to."""
    from carnet.model_code import add_code_to_path
    from carnet.models import verified_model_file, warn_on_mismatch

    conf = descriptor["flavors"][FLAVOR]
    fmt = conf.get("serialization_format", "pickle")
    if fmt not in READ_FORMATS:
        raise ModelError(
            f"serialization format {fmt!r} is not supported by this Carnet (it reads "
            f"{list(READ_FORMATS)}); upgrade Carnet."
        )
    path = verified_model_file(folder, conf)
    warn_on_mismatch({"versions": _saved_versions(descriptor)}, DISTRIBUTIONS)
    add_code_to_path(folder, descriptor, FLAVOR)
    if fmt == "skops":
        return _load_skops(path, conf)
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise ModelError(
            f"the model needs code that is not importable here ({exc}); install the packages "
            "and modules it was trained with."
        ) from None
    except (pickle.UnpicklingError, EOFError) as exc:
        raise ModelError(f"the model file {str(path)!r} is not a valid pickle ({exc}).") from None


def _load_skops(path: Path, conf: Mapping[str, Any]) -> Any:
    """A model MLflow saved with skops (its default), trusting skops's defaults and the
    types the model lists, as MLflow does (they come from the folder: trust it as a pickle).
    """
    try:
        import skops.io  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        raise ModelError(
            "the model was saved by MLflow in the skops format; install skops "
            "(pip install skops) to load it, or save it with serialization_format='cloudpickle'."
        ) from None
    try:
        return skops.io.load(path, trusted=conf.get("skops_trusted_types"))
    except Exception as exc:  # skops raises its own untrusted-type and format errors
        raise ModelError(f"the skops model {str(path)!r} cannot be loaded ({exc}).") from None


# -- autolog: configuration and patching -------------------------------------------------


@dataclass(frozen=True)
class _Config:
    log_models: bool
    log_input_examples: bool
    log_training_metrics: bool
    max_tuning_runs: int | None
    silent: bool


_config: _Config | None = None
_originals: dict[type, Callable[..., Any]] = {}
_patch_lock = threading.Lock()
# Process-wide depth of autologged fits: a fit running inside another (a Pipeline
# step, a search's candidates, also in joblib worker threads) is not logged again.
_depth = 0
_depth_lock = threading.Lock()


def autolog(
    log_input_examples: bool = False,
    log_models: bool = True,
    disable: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = None,
    log_training_metrics: bool = True,
) -> None:
    """Log every scikit-learn ``fit``: params, training metrics, the estimator class and model.

    A fit inside an active run logs into it (a second one in the same run gets a
    child run, since params are immutable); otherwise a run is started and ended
    around the fit. Only the outermost fit is logged: the fits a Pipeline, a
    search or any other estimator makes inside its own are not runs. As on
    MLflow, data-manipulating estimators (``sklearn.preprocessing``, ``impute``,
    ``feature_extraction``, ``feature_selection``, ``ColumnTransformer``) make no
    run, so the ``LabelEncoder`` that ``classification_report`` fits adds none.
    Search estimators (``GridSearchCV``, ``RandomizedSearchCV``)
    log one child run per candidate (the best ``max_tuning_runs`` by rank, all by
    default) and ``best_*`` on the parent. Tracking failures become
    :class:`AutologWarning` (none with ``silent=True``); ``fit`` returns and
    raises exactly what it would without autolog. ``autolog(disable=True)``
    restores the original methods.
    """
    global _config
    with _patch_lock:
        if disable:
            _config = None
            for cls, original in _originals.items():
                cls.fit = original  # type: ignore[attr-defined]
            _originals.clear()
            return
        if max_tuning_runs is not None and (
            isinstance(max_tuning_runs, bool) or not isinstance(max_tuning_runs, int)
            or max_tuning_runs < 0
        ):  # fmt: skip
            raise ModelError(
                f"max_tuning_runs must be None or an int >= 0, got {max_tuning_runs!r}."
            )
        _config = _Config(
            log_models, log_input_examples, log_training_metrics, max_tuning_runs, silent
        )
        for cls in _fit_owners():
            if cls not in _originals:
                original = cls.__dict__["fit"]
                _originals[cls] = original
                cls.fit = _patched(original)  # type: ignore[attr-defined]


def _fit_owners() -> list[type]:
    """Every scikit-learn estimator class that defines ``fit`` itself."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = [cls for _, cls in all_estimators()]
    classes += [Pipeline, GridSearchCV, RandomizedSearchCV]
    owners: dict[type, None] = {}
    for cls in classes:
        for klass in cls.__mro__:
            if "fit" in klass.__dict__ and issubclass(klass, BaseEstimator):
                owners[klass] = None
    return list(owners)


#: Estimators that manipulate data rather than learn a model: MLflow's autolog makes no
#: run for them (scikit-learn's own functions fit them too, e.g. ``classification_report``
#: fits a ``LabelEncoder``); inside a Pipeline they are logged as the Pipeline's params.
DATA_ONLY_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
DATA_ONLY_CLASSES = frozenset({"sklearn.compose._column_transformer.ColumnTransformer"})


def is_data_only(cls: type) -> bool:
    """Whether a fit of ``cls`` makes no run, by MLflow's rule (see ``DATA_ONLY_MODULES``).

    Its fit still counts as an enclosing fit, so the models it fits inside are not
    logged either.
    """
    module = cls.__module__
    return module.startswith(DATA_ONLY_MODULES) or f"{module}.{cls.__name__}" in DATA_ONLY_CLASSES


def _patched(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _depth
        config = _config
        with _depth_lock:
            outer = _depth == 0
            _depth += 1
        try:
            if not outer or config is None or is_data_only(type(self)):
                return original(self, *args, **kwargs)
            session = _Session.begin(self, config)
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                if session is not None:
                    session.fail(exc)
                raise
            if session is not None:
                session.finish(self, _fit_arguments(original, self, args, kwargs))
            return result
        finally:
            with _depth_lock:
                _depth -= 1

    fit.__carnet_autolog__ = True  # type: ignore[attr-defined]
    return fit


def _fit_arguments(
    original: Callable[..., Any], est: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """X, y and sample_weight as fit received them, whatever their position."""
    try:
        bound = inspect.signature(original).bind(est, *args, **kwargs)
    except TypeError:
        return {"X": args[0] if args else kwargs.get("X")}
    named = dict(bound.arguments)
    extra = named.pop("kwargs", None) or named.pop("fit_params", None) or {}
    if isinstance(extra, dict):
        named.setdefault("sample_weight", extra.get("sample_weight"))
    return named


def _warn(config: _Config, what: str, exc: BaseException) -> None:
    if not config.silent:
        warnings.warn(
            f"carnet autolog could not {what} ({type(exc).__name__}: {exc}); training "
            "went on unaffected.",
            AutologWarning,
            stacklevel=4,
        )


# -- autolog: one fit --------------------------------------------------------------------


class _Session:
    """The run a fit logs into, and whether autolog started (and so ends) it."""

    def __init__(self, run_id: str, owns_run: bool, config: _Config) -> None:
        self.run_id = run_id
        self.owns_run = owns_run
        self.config = config

    @classmethod
    def begin(cls, est: Any, config: _Config) -> _Session | None:
        import carnet

        try:
            active = carnet.active_run()
            if active is not None:
                tags = carnet.get_run(active.info.run_id).data.tags
                if AUTOLOG_TAG not in tags:
                    return cls(active.info.run_id, False, config)
            # no run, or the active one already holds an autologged fit: a run of its own
            run = carnet.start_run(nested=active is not None, run_name=None)
            return cls(run.info.run_id, True, config)
        except Exception as exc:
            _warn(config, "start a run", exc)
            return None

    def fail(self, exc: BaseException) -> None:
        if not self.owns_run:
            return
        import carnet

        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        try:
            carnet.end_run(status)
        except Exception as err:
            _warn(self.config, "end the run", err)

    def finish(self, est: Any, fit_args: Mapping[str, Any]) -> None:
        import carnet

        steps: list[tuple[str, Callable[[], None]]] = [
            ("log params and tags", lambda: self._log_params(est)),
        ]
        if self.config.log_training_metrics:
            steps.append(("log training metrics", lambda: self._log_metrics(est, fit_args)))
        if _is_search(est):
            steps.append(("log the search candidates", lambda: self._log_search(est)))
        if self.config.log_models:
            steps.append(("log the model", lambda: self._log_models(est, fit_args)))
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                _warn(self.config, what, exc)
        if self.owns_run:
            try:
                carnet.end_run()
            except Exception as exc:
                _warn(self.config, "end the run", exc)

    def _client(self) -> Client:
        return run_context.client()

    def _log_params(self, est: Any) -> None:
        cls = type(est)
        tags = [
            (AUTOLOG_TAG, "sklearn"),
            ("estimator_name", cls.__name__),
            ("estimator_class", f"{cls.__module__}.{cls.__qualname__}"),
        ]
        self._client().log_batch(self.run_id, params=_flat_params(est), tags=tags)

    def _log_metrics(self, est: Any, fit_args: Mapping[str, Any]) -> None:
        x, y = fit_args.get("X"), fit_args.get("y")
        if x is None:
            return
        weight = fit_args.get("sample_weight")
        target = est.best_estimator_ if _is_search(est) and hasattr(est, "best_estimator_") else est
        if _is_search(est) and target is est:
            return  # refit=False: there is no fitted model to score
        metrics = training_metrics(target, x, y, weight)
        if metrics:
            now = now_ms()
            self._client().log_batch(
                self.run_id, metrics=[(k, v, now, 0) for k, v in metrics.items()]
            )

    def _log_search(self, est: Any) -> None:
        log_search_candidates(self._client(), self.run_id, est, self.config.max_tuning_runs)

    def _log_models(self, est: Any, fit_args: Mapping[str, Any]) -> None:
        example = None
        if self.config.log_input_examples and fit_args.get("X") is not None:
            example = _head(fit_args["X"])
        log_model(est, "model", input_example=example, run_id=self.run_id)
        if _is_search(est) and hasattr(est, "best_estimator_"):
            log_model(est.best_estimator_, "best_estimator", input_example=example,
                      run_id=self.run_id)  # fmt: skip


def _is_search(est: Any) -> bool:
    """A fitted hyper-parameter search (GridSearchCV, RandomizedSearchCV, Halving*)."""
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(est, BaseSearchCV) and hasattr(est, "cv_results_")


def _head(x: Any, rows: int = 5) -> Any:
    if hasattr(x, "iloc"):
        return x.iloc[:rows]
    try:
        return x[:rows]
    except Exception:
        return None


def _flat_params(est: Any) -> list[tuple[str, str]]:
    """``get_params(deep=True)`` as text; values over the param length limit are left out."""
    from carnet.validation import MAX_KEY_LENGTH, MAX_PARAM_VALUE_LENGTH

    out = []
    for key, value in sorted(est.get_params(deep=True).items()):
        text = _param_text(value)
        if len(text) <= MAX_PARAM_VALUE_LENGTH and len(key) <= MAX_KEY_LENGTH:
            out.append((key, text))
    return out


def _param_text(value: Any) -> str:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__ + "(" + ", ".join(
            f"{k}={v!r}" for k, v in sorted(value.get_params(deep=False).items())
        ) + ")"  # fmt: skip
    return str(value)


@contextmanager
def _quiet() -> Iterator[None]:
    """Metric code may warn (undefined precision, ...); the user's run must not see it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def training_metrics(est: Any, x: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """``training_*`` metrics of a fitted estimator on its training data.

    Regressors: score, MSE, RMSE, MAE, R². Classifiers: score, accuracy,
    weighted precision/recall/F1, and log loss and ROC AUC when they predict
    probabilities. Others: their ``score`` if they have one. A metric that is
    undefined for the data is left out.
    """
    from sklearn import metrics as m
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}

    def put(name: str, compute: Callable[[], Any]) -> None:
        try:
            with _quiet():
                value = float(compute())
        except Exception:
            return
        if not math.isnan(value):
            out[f"training_{name}"] = value

    w = {"sample_weight": sample_weight} if sample_weight is not None else {}
    if y is None:
        if hasattr(est, "score"):
            put("score", lambda: est.score(x))
        return out
    put("score", lambda: est.score(x, y, **w))
    if is_regressor(est):
        with _quiet():
            pred = est.predict(x)
        put("mean_squared_error", lambda: m.mean_squared_error(y, pred, **w))
        put("root_mean_squared_error", lambda: math.sqrt(m.mean_squared_error(y, pred, **w)))
        put("mean_absolute_error", lambda: m.mean_absolute_error(y, pred, **w))
        put("r2_score", lambda: m.r2_score(y, pred, **w))
    elif is_classifier(est):
        with _quiet():
            pred = est.predict(x)
        put("accuracy_score", lambda: m.accuracy_score(y, pred, **w))
        for name in ("precision_score", "recall_score", "f1_score"):
            scorer = functools.partial(
                getattr(m, name), y, pred, average="weighted", zero_division=0, **w
            )
            put(name, scorer)
        if hasattr(est, "predict_proba"):
            try:
                with _quiet():
                    proba = est.predict_proba(x)
            except Exception:
                return out
            labels = getattr(est, "classes_", None)
            put("log_loss", lambda: m.log_loss(y, proba, labels=labels, **w))
            if proba.shape[1] == 2:
                put("roc_auc", lambda: m.roc_auc_score(y, proba[:, 1], **w))
            else:
                multi = {"multi_class": "ovr", "average": "weighted", "labels": labels}
                put("roc_auc", lambda: m.roc_auc_score(y, proba, **multi, **w))
    return out


# -- autolog: search estimators ----------------------------------------------------------


def _as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, numbers.Integral) else None


def log_search_candidates(
    client: Any, parent_run_id: str, search: Any, max_runs: int | None
) -> list[str]:
    """One child run per candidate of a fitted search (best first), ``best_*`` on the parent."""
    import pandas as pd

    results = search.cv_results_
    params: list[dict[str, Any]] = list(results["params"])
    score_keys = [
        k for k in results
        if k.startswith(("mean_", "std_", "rank_")) and not k.startswith("param_")
    ]  # fmt: skip
    refit = getattr(search, "refit", None)
    rank_key = f"rank_test_{refit}" if isinstance(refit, str) else "rank_test_score"
    if rank_key not in results:  # several scorers and no refit: rank by the first one
        rank_key = next((k for k in results if k.startswith("rank_test_")), "")
    order = list(range(len(params)))
    if rank_key:
        order.sort(key=lambda i: (int(results[rank_key][i]), i))
    best_index = _as_int(getattr(search, "best_index_", None))
    if max_runs is not None:
        order = order[:max_runs]
    parent = client.get_run(parent_run_id)
    experiment_id = parent.info.experiment_id
    parent_name = parent.info.run_name
    # As MLflow does, a candidate records every param of the searched estimator with the
    # candidate's values over them, so it compares with runs of that estimator fitted alone.
    seed = getattr(search, "estimator", None)
    base = dict(_flat_params(seed)) if hasattr(seed, "get_params") else {}
    seed_tags = {}
    if seed is not None:
        cls = type(seed)
        seed_tags = {
            "estimator_name": cls.__name__,
            "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
        }
    children: list[str] = []
    best_child: str | None = None
    for i in order:
        tags: dict[str, str] = {
            AUTOLOG_TAG: "sklearn",
            AUTOLOG_CANDIDATE_TAG: str(i),
            **seed_tags,
        }
        if i == best_index:
            tags[AUTOLOG_BEST_CANDIDATE_TAG] = "true"
        run = client.create_run(
            experiment_id,
            tags=tags,
            run_name=f"{parent_name}-candidate-{i}"[:250],
            parent_run_id=parent_run_id,
        )
        rid = run.info.run_id
        metrics = []
        for key in score_keys:
            value = float(results[key][i])
            if not math.isnan(value):
                metrics.append((key, value, None, 0))
        client.log_batch(
            rid,
            metrics=metrics,
            params=sorted({**base, **{k: _param_text(v) for k, v in params[i].items()}}.items()),
        )
        client.set_terminated(rid, "FINISHED")
        children.append(rid)
        if i == best_index:
            best_child = rid
    best_params = getattr(search, "best_params_", None) or {}
    parent_params = [(f"best_{k}", _param_text(v)) for k, v in sorted(best_params.items())]
    parent_metrics = []
    best_score = getattr(search, "best_score_", None)
    if isinstance(best_score, numbers.Real) and not math.isnan(float(best_score)):
        parent_metrics.append(("best_cv_score", float(best_score), None, 0))
    parent_tags = [(AUTOLOG_CANDIDATES_TAG, str(len(params)))]
    if best_child is not None:
        parent_tags.append(("best_run_id", best_child))
    client.log_batch(parent_run_id, metrics=parent_metrics, params=parent_params, tags=parent_tags)
    frame = pd.DataFrame({k: list(v) for k, v in results.items()})
    client.log_text(parent_run_id, frame.to_csv(index=False), "cv_results.csv")
    return children


__all__ = [
    "AutologWarning",
    "ModelInfo",
    "ModelVersionWarning",
    "autolog",
    "load_model",
    "log_model",
    "save_model",
    "training_metrics",
]
