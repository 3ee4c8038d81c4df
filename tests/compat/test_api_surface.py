"""The API surface: names scripts use, and signatures of the functions Carnet claims.

Signatures come from api_surface.py run in a fresh interpreter of each venv, so
MLflow's are read from the real MLflow, never copied by hand. For every public
function Carnet exports (README's API table, ``carnet.__all__``), every method of
``carnet.Client`` that ``MlflowClient`` also has, and ``carnet.sklearn``'s
``log_model``/``load_model``/``autolog``, a call written for MLflow must work on
Carnet: the same keywords, the same positions, nothing more required.

Known gaps are strict expected failures that raise ``KnownGap`` only when the
problems are exactly the listed ones: a fix makes the test pass (XPASS fails, so
the table gets updated) and a new problem fails the test outright.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import carnet
from tests.compat.cases import COMMON_NAMES
from tests.compat.signatures import call_problems


class KnownGap(AssertionError):
    """The listed, known difference from MLflow (see the test's xfail reason)."""


#: Carnet's own top-level additions, not in MLflow: safe mode (docs/reliability.md).
#: (Client methods MLflow lacks, such as the dashboard's bulk reads, are simply not
#: compared: there is no MLflow call to keep working.)
CARNET_ONLY_FUNCTIONS = {"disable_safe_mode", "enable_safe_mode", "is_safe_mode_enabled"}

#: target -> the exact problems call_problems() reports today (MLflow 3.17).
SIGNATURE_GAPS: dict[str, set[str]] = {
    "fluent.create_experiment": {"missing: trace_location"},
    "fluent.set_experiment": {"missing: trace_location"},
    "client.__init__": {"missing: workspace_store_uri"},
    "fluent.register_model": {"missing: env_pack"},
    "client.create_registered_model": {"missing: deployment_job_id"},
    "client.update_registered_model": {"missing: deployment_job_id"},
    "sklearn.log_model": {
        "missing: extra_files",
        "missing: skops_trusted_types",
        # MLflow's 2nd positional is the deprecated alias artifact_path (same meaning as
        # Carnet's name, which also takes artifact_path= and registered_model_name= by
        # keyword); input_example is MLflow's 8th positional, Carnet's 3rd. signature,
        # serialization_format, pip_requirements, metadata, params, tags, model_type, step,
        # conda_env, code_paths and model_id are keyword-only in Carnet.
        "position: artifact_path",
        "position: await_registration_for",
        "position: code_paths",
        "position: conda_env",
        "position: extra_pip_requirements",
        "position: input_example",
        "position: metadata",
        "position: model_id",
        "position: model_type",
        "position: name",
        "position: params",
        "position: pip_requirements",
        "position: pyfunc_predict_fn",
        "position: registered_model_name",
        "position: serialization_format",
        "position: signature",
        "position: step",
        "position: tags",
    },
    "sklearn.autolog": {
        "missing: disable_for_unsupported_versions",
        "missing: exclusive",
        "missing: extra_tags",
        "missing: log_datasets",
        "missing: log_model_signatures",
        "missing: log_post_training_metrics",
        "missing: pos_label",
        "missing: registered_model_name",
        "missing: serialization_format",
        "position: disable",
        "position: log_models",
        "position: max_tuning_runs",
        "position: silent",
    },
}

SIGNATURE_GAP_REASONS = {
    "sklearn.log_model": "sklearn.log_model lacks extra_files= and skops_trusted_types=",
    "sklearn.autolog": "sklearn.autolog lacks most of MLflow's options",
    "client.__init__": "MlflowClient(workspace_store_uri=) is refused",
    "fluent.register_model": "register_model(env_pack=) (Databricks serving) is refused",
    "client.create_registered_model": "deployment jobs (Databricks) are not supported",
    "client.update_registered_model": "deployment jobs (Databricks) are not supported",
}


def _fluent_targets() -> list[str]:
    return [
        name
        for name in carnet.__all__
        if inspect.isfunction(getattr(carnet, name)) and name not in CARNET_ONLY_FUNCTIONS
    ]


def _client_targets() -> list[str]:
    methods = [
        name
        for name, value in vars(carnet.Client).items()
        if not name.startswith("_") and inspect.isfunction(value)
    ]
    return ["__init__", *sorted(methods)]


TARGETS = (
    [f"fluent.{n}" for n in _fluent_targets()]
    + [f"client.{n}" for n in _client_targets()]
    + [f"sklearn.{n}" for n in ("log_model", "load_model", "autolog")]
)


def _marked(target: str) -> Any:
    if target not in SIGNATURE_GAPS:
        return target
    reason = SIGNATURE_GAP_REASONS.get(target) or "; ".join(sorted(SIGNATURE_GAPS[target]))
    return pytest.param(
        target, marks=pytest.mark.xfail(strict=True, raises=KnownGap, reason=reason)
    )


@pytest.mark.parametrize("target", [_marked(t) for t in TARGETS])
def test_signature_accepts_mlflow_calls(
    target: str, mlflow_api: dict[str, Any], carnet_api: dict[str, Any]
) -> None:
    section, name = target.split(".", 1)
    m_sig = mlflow_api[section].get(name)
    c_sig = carnet_api[section].get(name)
    if m_sig is None and section == "client":
        return  # a Carnet-only Client method: no MLflow call to keep working
    assert m_sig is not None, f"MLflow {mlflow_api['version']} has no {target}"
    assert isinstance(c_sig, list), f"Carnet's {target}: {c_sig}"
    assert isinstance(m_sig, list), f"MLflow's {target}: {m_sig}"
    problems = set(call_problems(m_sig, c_sig))
    known = SIGNATURE_GAPS.get(target, set())
    if problems and problems == known:
        raise KnownGap(f"{target}: {sorted(problems)}")
    assert not problems, (
        f"{target} differs from MLflow {mlflow_api['version']}: {sorted(problems)}"
        + (f"; the known gaps listed are {sorted(known)}" if known else "")
    )


def test_claimed_functions_exist_in_mlflow(mlflow_api: dict[str, Any]) -> None:
    """Every function in carnet.__all__ is MLflow's, or a declared Carnet addition."""
    fluent = [t.split(".", 1)[1] for t in TARGETS if t.startswith("fluent.")]
    assert [name for name in fluent if name not in mlflow_api["fluent"]] == []
    assert not CARNET_ONLY_FUNCTIONS & set(mlflow_api["fluent"])


# -- names scripts use ------------------------------------------------------------------

#: (form, name) -> why Carnet lacks it. "attr": ``mlflow.x.y`` after ``import carnet as
#: mlflow`` only; "import": ``from carnet.x import y``.
MISSING_NAMES: dict[tuple[str, str], str] = {}
_NOT_PROVIDED = {
    "mlflow.set_registry_uri": "no model registry",
    "mlflow.artifacts.download_artifacts": "carnet.artifacts is internal; no "
    "download_artifacts(artifact_uri=...)",
}
for _name, _why in _NOT_PROVIDED.items():
    MISSING_NAMES[("attr", _name)] = _why
    MISSING_NAMES[("import", _name)] = _why


def _name_case(form: str, name: str) -> Any:
    why = MISSING_NAMES.get((form, name))
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=why)] if why else []
    return pytest.param(form, name, marks=marks, id=f"{form}:{name}")


@pytest.mark.parametrize(
    ("form", "name"),
    [_name_case(form, name) for name in COMMON_NAMES for form in ("attr", "import")],
)
def test_common_name_resolves(form: str, name: str, carnet_api: dict[str, Any]) -> None:
    resolved, error = carnet_api["names"][name][form]
    assert resolved, f"{name} ({form}): {error}"


def test_common_names_exist_in_mlflow(mlflow_api: dict[str, Any]) -> None:
    """The list above is of real MLflow names, reachable both ways after ``import mlflow``."""
    broken = {n: r for n, r in mlflow_api["names"].items() if not (r["attr"][0] and r["import"][0])}
    assert broken == {}
