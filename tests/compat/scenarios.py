"""Realistic MLflow tracking scripts, run once by real MLflow and once by Carnet.

Run as a script by either interpreter (never imported by pytest's process)::

    python tests/compat/scenarios.py mlflow|carnet OUT.json

It works in the current directory: the store is ``sqlite:///compat.db`` there.
Every scenario is ordinary MLflow user code; the only difference between the
two runs is the import (``import mlflow`` or ``import carnet as mlflow``, and
``from mlflow.x import`` -> ``from carnet.x import``). Each step records what a
user can observe — values, orders, statuses, names, types — with run ids,
experiment ids, times and paths replaced by stable labels, so the JSON of the
two runs can be compared key by key (tests/compat/test_differential.py).

A step that raises records ``{"error": "Type: message", "base": ...}``
instead of stopping the scenario, so one gap never hides the next.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cases import FILTERS, FILTERS_BEYOND_MLFLOW, ORDERS, SEARCH_RUNS

IMPL = sys.argv[1] if len(sys.argv) > 1 else "mlflow"
OUT = sys.argv[2] if len(sys.argv) > 2 else "observations.json"

if IMPL == "carnet":
    import carnet as mlflow
else:
    import mlflow  # type: ignore[no-redef]


def sub(path: str) -> Any:
    """``from mlflow.<path> import ...`` as a user would rewrite it for Carnet."""
    return importlib.import_module(f"{IMPL}.{path}")


def error_base() -> type[BaseException] | None:
    """What a script catches as ``mlflow.exceptions.MlflowException``, if it exists."""
    try:
        return sub("exceptions").MlflowException  # type: ignore[no-any-return]
    except Exception:
        return None


T0 = 1_700_000_000_000
#: The folder where Carnet records, at each run's start, what reproducing it takes.
RECORD_FOLDER = "carnet"
SYSTEM_TAG_PREFIXES = (
    "mlflow.source.",
    "mlflow.user",
    "mlflow.git",
    "mlflow.system.",
    "carnet.",
    "mlflow.carnet.",
    "mlflow.log-model",
)
#: Start tags only Carnet records (README: command line, working folder, dirty flag);
#: left out of the comparison of MLflow's own system tags.
CARNET_START_TAGS = {"mlflow.source.command", "mlflow.source.cwd", "mlflow.source.git.dirty"}
#: run_id -> label (the run name), experiment_id -> experiment name.
LABELS: dict[str, str] = {}
EXPERIMENTS: dict[str, str] = {}
RESULTS: dict[str, dict[str, Any]] = {}
WARNINGS: list[dict[str, str]] = []


# -- turning results into comparable JSON ------------------------------------------------


def plain(value: Any) -> Any:
    """JSON-safe, comparable: NaN/inf as strings, numpy scalars as Python, ids as labels."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and value in LABELS:
            return "<run:" + LABELS[value] + ">"
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return plain(value.item())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return f"<{type(value).__name__}>"


def type_name(value: Any) -> str:
    return type(value).__name__


def user_tags(tags: dict[str, str]) -> dict[str, Any]:
    return {k: plain(v) for k, v in sorted(tags.items()) if not k.startswith(SYSTEM_TAG_PREFIXES)}


def label(run: Any, name: str | None = None) -> str:
    """Remember a run's id under its name (or ``name``), for every later observation."""
    LABELS[run.info.run_id] = name or run.info.run_name
    return run.info.run_id  # type: ignore[no-any-return]


def public_attrs(obj: Any) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def system_tags(tags: dict[str, str]) -> dict[str, Any]:
    """MLflow's own system tags, with machine-specific values reduced to their shape."""
    out: dict[str, Any] = {}
    for key, value in sorted(tags.items()):
        if not key.startswith(("mlflow.source.", "mlflow.user", "mlflow.git")):
            continue
        if key in CARNET_START_TAGS:
            continue
        if key == "mlflow.source.name":
            out[key] = Path(value).name
        elif key == "mlflow.source.git.commit":
            out[key] = "<40 hex>" if len(value) == 40 else value
        elif key in ("mlflow.source.type", "mlflow.user"):
            out[key] = value
        else:
            out[key] = "<set>"
    return out


def run_obs(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "user_id": info.user_id,
        "system_tags": system_tags(run.data.tags),
        "run": plain(info.run_id),
        "run_name": info.run_name,
        "status": info.status,
        "lifecycle_stage": info.lifecycle_stage,
        "experiment": EXPERIMENTS.get(info.experiment_id, "?"),
        "params": plain(dict(sorted(run.data.params.items()))),
        "metrics": plain(dict(sorted(run.data.metrics.items()))),
        "tags": user_tags(run.data.tags),
        "types": {
            "run": type_name(run),
            "info": type_name(info),
            "data": type_name(run.data),
            "run_id": type_name(info.run_id),
            "experiment_id": type_name(info.experiment_id),
            "status": type_name(info.status),
            "start_time": type_name(info.start_time),
            "end_time": type_name(info.end_time),
            "user_id": type_name(info.user_id),
            "artifact_uri": type_name(info.artifact_uri),
            "params": type_name(run.data.params),
            "metrics": type_name(run.data.metrics),
            "tags": type_name(run.data.tags),
        },
        "end_time_set": info.end_time is not None,
        "end_not_before_start": info.end_time is None or info.end_time >= info.start_time,
    }


def experiment_obs(exp: Any) -> dict[str, Any]:
    return {
        "name": exp.name,
        "lifecycle_stage": exp.lifecycle_stage,
        "tags": user_tags(exp.tags),
        "types": {
            "experiment": type_name(exp),
            "experiment_id": type_name(exp.experiment_id),
            "artifact_location": type_name(exp.artifact_location),
            "tags": type_name(exp.tags),
            "creation_time": type_name(exp.creation_time),
            "last_update_time": type_name(exp.last_update_time),
        },
    }


def is_system_column(col: str) -> bool:
    return col.startswith("tags.") and col[5:].startswith(SYSTEM_TAG_PREFIXES)


def frame_obs(df: Any) -> dict[str, Any]:
    """Columns, dtypes and values of a search_runs DataFrame, minus ids, times and paths."""
    cols = [c for c in df.columns if not is_system_column(c)]
    rows = []
    for _, row in df.iterrows():
        out: dict[str, Any] = {}
        for col in cols:
            value = row[col]
            if col in ("start_time", "end_time"):
                out[col] = "<NaT>" if value is None or value != value else "<time>"
            elif col == "artifact_uri":
                out[col] = "<uri>" if isinstance(value, str) and value else plain(value)
            elif col == "experiment_id":
                out[col] = EXPERIMENTS.get(value, value)
            else:
                out[col] = plain(value)
        rows.append(out)
    return {
        "type": type_name(df),
        "index": [type_name(df.index), list(map(int, df.index))],
        "columns": cols,
        "dtypes": {c: str(df[c].dtype) for c in cols},
        "rows": rows,
        "names": [LABELS.get(r, r) for r in df["run_id"]] if "run_id" in df.columns else [],
    }


def names(runs: Any) -> list[str]:
    return [LABELS.get(r.info.run_id, r.info.run_name) for r in runs]


def raised(fn: Callable[[], Any]) -> dict[str, Any]:
    """Call ``fn``; record whether it raised, and whether MlflowException catches it."""
    try:
        result = fn()
    except Exception as exc:
        base = error_base()
        return {
            "raised": True,
            "type": type_name(exc),
            "catchable_as_MlflowException": base is not None and isinstance(exc, base),
            "error_code": getattr(exc, "error_code", None),
        }
    return {"raised": False, "returned": type_name(result)}


# -- the step recorder -------------------------------------------------------------------


def scenario(fn: Callable[[Callable[..., Any]], None]) -> Callable[[Callable[..., Any]], None]:
    steps: dict[str, Any] = {}
    RESULTS[fn.__name__] = steps

    def step(name: str, thunk: Callable[[], Any]) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = thunk()
            except Exception as exc:
                steps[name] = {
                    "error": f"{type_name(exc)}: {exc}"[:500],
                    "where": traceback.format_exc()[-1500:],
                }
                value = None
            else:
                steps[name] = plain(value)
        for w in caught:
            WARNINGS.append(
                {
                    "scenario": fn.__name__,
                    "step": name,
                    "category": w.category.__name__,
                    "message": str(w.message)[:300],
                    "filename": w.filename,
                }
            )
        return value

    def run() -> None:
        try:
            fn(step)
        except Exception as exc:  # a scenario's own set-up failed: keep the others going
            steps["__scenario__"] = {
                "error": f"{type_name(exc)}: {exc}"[:500],
                "where": traceback.format_exc()[-1500:],
            }
        finally:
            try:
                while mlflow.active_run() is not None:
                    mlflow.end_run()
            except Exception:
                pass

    run.__name__ = fn.__name__
    SCENARIOS.append(run)
    return fn


SCENARIOS: list[Callable[[], None]] = []


def remember_experiment(name: str) -> str:
    exp = mlflow.get_experiment_by_name(name)
    EXPERIMENTS[exp.experiment_id] = name
    return exp.experiment_id  # type: ignore[no-any-return]


# -- scenarios ---------------------------------------------------------------------------


@scenario
def default_experiment(step: Callable[..., Any]) -> None:
    """First thing in a fresh store: log without start_run or set_experiment."""
    step("experiments_before_any_run", lambda: [e.name for e in mlflow.search_experiments()])
    step("log_without_start_run", lambda: plain(mlflow.log_metric("implicit", 1.0)))
    active = mlflow.active_run()
    step("implicit_run_is_active", lambda: active is not None)
    step(
        "implicit_run_experiment",
        lambda: mlflow.get_experiment(active.info.experiment_id).name if active else None,
    )
    step("implicit_run_experiment_id", lambda: active.info.experiment_id if active else None)
    step("end_run_returns", lambda: plain(mlflow.end_run()))
    step("no_active_run_after_end", lambda: mlflow.active_run() is None)
    step("end_run_without_run_is_noop", lambda: plain(mlflow.end_run()))
    step("get_experiment_0", lambda: experiment_obs(mlflow.get_experiment("0")))
    step(
        "default_by_name",
        lambda: (lambda e: (e.name, e.experiment_id))(mlflow.get_experiment_by_name("Default")),
    )
    step("missing_by_name", lambda: plain(mlflow.get_experiment_by_name("no such experiment")))
    step("search_experiments_fresh", lambda: [e.name for e in mlflow.search_experiments()])
    step(
        "search_runs_default_experiment",
        lambda: len(mlflow.search_runs(experiment_ids=["0"])),
    )


@scenario
def fidelity_details(step: Callable[..., Any]) -> None:
    """Details MLflow code relies on: ``run._info``, status "ACTIVE", ``MLFLOW_RUN_ID``,
    and which start tags the ``mlflow.`` prefix rule calls the user's."""
    mlflow.set_experiment("fidelity")
    remember_experiment("fidelity")
    with mlflow.start_run(run_name="first", tags={"team": "med"}) as run:
        step("private_info_is_info", lambda: run._info.run_id == run.info.run_id)
        mlflow.log_param("alpha", "0.5")
    first = label(run)
    step(
        "user_tags_by_prefix_rule",
        lambda: sorted(k for k in mlflow.get_run(first).data.tags if not k.startswith("mlflow.")),
    )
    step(
        "status_active_filter",
        lambda: len(mlflow.search_runs(filter_string='attributes.status = "ACTIVE"')),
    )
    os.environ["MLFLOW_RUN_ID"] = first
    try:
        with mlflow.start_run() as resumed:
            step("run_id_variable_resumes", lambda: resumed.info.run_id == first)
            step("resumed_status", lambda: mlflow.get_run(first).info.status)
            mlflow.log_metric("loss", 0.25)
        step("run_id_variable_consumed", lambda: "MLFLOW_RUN_ID" not in os.environ)
    finally:
        os.environ.pop("MLFLOW_RUN_ID", None)
    step("resumed_run", lambda: run_obs(mlflow.get_run(first)))


@scenario
def elasticnet_tutorial(step: Callable[..., Any]) -> None:
    """The classic tutorial: 11 l1_ratios x alphas, one run each, best first."""
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import ElasticNet
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    sub("sklearn")  # import mlflow.sklearn
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)

    exp = step("set_experiment", lambda: experiment_obs(mlflow.set_experiment("ml_flow_Essai")))
    remember_experiment("ml_flow_Essai")
    returned: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at l1_ratio=0
        for i in range(11):
            l1_ratio = 0.1 * i
            for alpha in np.logspace(-4, 1, 6):
                with mlflow.start_run(run_name="Elastic_net") as run:
                    label(run)
                    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=0)
                    model.fit(X_train, y_train)
                    pred = model.predict(X_test)
                    returned["log_params"] = plain(
                        mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
                    )
                    returned["log_metrics"] = plain(
                        mlflow.log_metrics(
                            {"MSE": mean_squared_error(y_test, pred), "R2": r2_score(y_test, pred)}
                        )
                    )
                    returned["start_run"] = type_name(run)
    step("returns", lambda: returned)
    del exp

    def best_first() -> dict[str, Any]:
        df = mlflow.search_runs(experiment_names=["ml_flow_Essai"], order_by=["metrics.MSE ASC"])
        obs = frame_obs(df)
        obs["count"] = len(df)
        obs["ordered"] = [
            [r["params.alpha"], r["params.l1_ratio"], r["metrics.MSE"]] for r in obs["rows"]
        ]
        obs["rows"] = obs["rows"][:3]
        return obs

    step("search_best_first", best_first)
    step(
        "search_default_order_run_names",
        lambda: sorted(
            set(mlflow.search_runs(experiment_names=["ml_flow_Essai"])["tags.mlflow.runName"])
        ),
    )

    def filtered(filter_string: str, **kw: Any) -> Any:
        df = mlflow.search_runs(
            experiment_names=["ml_flow_Essai"], filter_string=filter_string, **kw
        )
        return [[plain(r["params.alpha"]), plain(r["params.l1_ratio"])] for _, r in df.iterrows()]

    step(
        "filter_l1_text", lambda: filtered("params.l1_ratio = '0.5'", order_by=["metrics.MSE ASC"])
    )
    step(
        "filter_float_text",
        lambda: filtered("params.l1_ratio = '0.30000000000000004'", order_by=["params.alpha ASC"]),
    )
    step(
        "filter_metric_and_param",
        lambda: filtered(
            "metrics.R2 > 0.4 and params.alpha = '0.001'", order_by=["metrics.R2 DESC"]
        ),
    )
    step("top5", lambda: filtered("", order_by=["metrics.MSE ASC"], max_results=5))
    step("top5_desc", lambda: filtered("", order_by=["metrics.R2 DESC"], max_results=5))


@scenario
def tutorial_model(step: Callable[..., Any]) -> None:
    """The tutorial's last lines: log the model (registering it on a database store), load it."""
    from urllib.parse import urlparse

    import numpy as np
    from sklearn.linear_model import ElasticNet

    sklearn_flavor = sub("sklearn")
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = X @ np.array([0.5, -0.25]) + 1.0
    mlflow.set_experiment("ml_flow_Essai_models")
    remember_experiment("ml_flow_Essai_models")
    model = ElasticNet(alpha=0.01, l1_ratio=0.5, random_state=0).fit(X, y)
    with mlflow.start_run(run_name="with_model") as run:
        label(run)
        scheme = urlparse(mlflow.get_tracking_uri()).scheme
        step("tracking_uri_scheme", lambda: scheme)

        def tutorial_branch() -> str:
            # Verbatim from MLflow's sklearn_elasticnet_wine example.
            if scheme != "file":
                sklearn_flavor.log_model(
                    model, "model", registered_model_name="ElasticnetWineModel"
                )
            else:
                sklearn_flavor.log_model(model, "model")
            return "logged"

        step("log_model_registered_model_name", tutorial_branch)
        info = step(
            "log_model_name_kw", lambda: sklearn_flavor.log_model(sk_model=model, name="m2")
        )
        step("model_info_type", lambda: type_name(info))
        step(
            "model_uri_shape",
            lambda: info.model_uri.split(":", 1)[0] if info is not None else None,
        )
        step(
            "load_model_predicts",
            lambda: plain(
                [
                    round(float(v), 9)
                    for v in sklearn_flavor.load_model(info.model_uri).predict(X[:3])
                ]
            ),
        )
        step(
            "pyfunc_load_model",
            lambda: plain(
                [
                    round(float(v), 9)
                    for v in sub("pyfunc").load_model(info.model_uri).predict(X[:3])
                ]
            ),
        )
        step(
            "infer_signature",
            lambda: type_name(sub("models").infer_signature(X, model.predict(X))),
        )


@scenario
def training_loop(step: Callable[..., Any]) -> None:
    """Epochs with step metrics, a final metric without a step, and edge cases of 'latest'."""
    import numpy as np

    mlflow.set_experiment("training-loop")
    remember_experiment("training-loop")
    client = sub("tracking").MlflowClient()
    with mlflow.start_run(run_name="train") as run:
        run_id = label(run)
        mlflow.log_params({"lr": 0.01, "epochs": 10, "optimizer": "adam", "dropout": None})
        for epoch in range(10):
            mlflow.log_metric("train_loss", 1.0 / (epoch + 1), step=epoch)
            mlflow.log_metrics({"val_loss": 1.5 / (epoch + 1), "val_acc": epoch / 10}, step=epoch)
        mlflow.log_metric("final_score", 0.75)
        mlflow.log_metric("ooo", 1.0, step=5, timestamp=T0 + 1)
        mlflow.log_metric("ooo", 2.0, step=2, timestamp=T0 + 2)
        mlflow.log_metric("tie", 5.0, step=1, timestamp=T0)
        mlflow.log_metric("tie", 3.0, step=1, timestamp=T0)
        mlflow.log_metric("with_nan", float("nan"), step=0)
        mlflow.log_metric("with_nan", 0.5, step=1)
        mlflow.log_metric("last_nan", 0.5, step=0)
        mlflow.log_metric("last_nan", float("nan"), step=1)
        mlflow.log_metric("pos_inf", float("inf"))
        mlflow.log_metric("neg_inf", float("-inf"))
        mlflow.log_metric("as_int", 3)
        mlflow.log_metric("np_float32", np.float32(0.1))
        mlflow.log_metric("np_int64", np.int64(7))
        mlflow.log_metric("same_step", 1.0, step=3)
        mlflow.log_metric("same_step", 2.0, step=3)

    def history(key: str) -> Any:
        points = client.get_metric_history(run_id, key)
        return {
            "is_list": isinstance(points, list),
            "item_type": type_name(points[0]) if points else None,
            "points": [[p.step, plain(p.value)] for p in points],
            "keys": sorted({p.key for p in points}),
            "timestamp_types": sorted({type_name(p.timestamp) for p in points}),
            "step_types": sorted({type_name(p.step) for p in points}),
        }

    for key in ("train_loss", "val_acc", "final_score", "ooo", "tie", "with_nan", "last_nan"):
        step(f"history_{key}", lambda key=key: history(key))
    step("history_same_step", lambda: sorted(history("same_step")["points"]))
    step("history_unknown_key", lambda: plain(client.get_metric_history(run_id, "nope")))
    finished = mlflow.get_run(run_id)
    step("run", lambda: run_obs(finished))
    for key in ("train_loss", "ooo", "tie", "with_nan", "last_nan", "as_int", "np_float32"):
        step(f"latest_{key}", lambda key=key: plain(finished.data.metrics[key]))
    step(
        "latest_inf",
        lambda: plain([finished.data.metrics["pos_inf"], finished.data.metrics["neg_inf"]]),
    )
    step("latest_same_step", lambda: plain(finished.data.metrics["same_step"]))

    def frame() -> Any:
        df = mlflow.search_runs(experiment_names=["training-loop"])
        return frame_obs(df)

    step("frame", frame)

    def resume() -> Any:
        with mlflow.start_run(run_id=run_id) as again:
            during = mlflow.get_run(again.info.run_id).info.status
            mlflow.log_metric("after_resume", 1.0)
        after = mlflow.get_run(run_id)
        return [during, after.info.status, plain(after.data.metrics.get("after_resume"))]

    step("resume_finished_run", resume)


@scenario
def nested_search(step: Callable[..., Any]) -> None:
    """A grid search: one parent run, a nested child per trial, best recorded on the parent."""
    mlflow.set_experiment("hpo")
    exp_id = remember_experiment("hpo")
    scores = {0.1: 0.71, 0.01: 0.83, 0.001: 0.78}
    seen: dict[str, Any] = {}
    with mlflow.start_run(run_name="grid-search") as parent:
        parent_id = label(parent)
        mlflow.log_param("search", "grid")
        for i, (lr, score) in enumerate(scores.items()):
            with mlflow.start_run(run_name=f"trial-{i}", nested=True) as child:
                label(child)
                mlflow.log_param("lr", lr)
                mlflow.log_metric("score", score)
                active = mlflow.active_run()
                seen[f"trial-{i}"] = {
                    "active_is_child": active is not None
                    and active.info.run_id == child.info.run_id,
                    "parent_tag": plain(
                        mlflow.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId")
                    ),
                }
        seen["active_after_children"] = plain(mlflow.active_run().info.run_id)
        seen["unnested_start_run"] = raised(lambda: mlflow.start_run(run_name="oops"))
        mlflow.log_metric("best_score", max(scores.values()))
        mlflow.set_tag("best_trial", "trial-1")
    step("during", lambda: seen)
    step("active_after", lambda: plain(mlflow.active_run()))
    step("last_active_run", lambda: run_obs(mlflow.last_active_run()))
    step(
        "children_by_parent_tag",
        lambda: frame_obs(
            mlflow.search_runs(
                experiment_ids=[exp_id],
                filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
                order_by=["metrics.score DESC"],
            )
        ),
    )
    step(
        "get_parent_run",
        lambda: (
            mlflow.get_parent_run(
                mlflow.search_runs(
                    experiment_ids=[exp_id],
                    filter_string="attributes.run_name = 'trial-0'",
                    output_format="list",
                )[0].info.run_id
            ).info.run_name
        ),
    )
    step("get_parent_run_of_top", lambda: plain(mlflow.get_parent_run(parent_id)))
    step(
        "all_runs",
        lambda: frame_obs(
            mlflow.search_runs(experiment_ids=[exp_id], order_by=["attributes.run_name ASC"])
        ),
    )

    def explicit_parent() -> Any:
        with mlflow.start_run(run_name="late-child", parent_run_id=parent_id) as late:
            label(late)
        return user_tags(mlflow.get_run(late.info.run_id).data.tags)

    step("start_run_parent_run_id", explicit_parent)


@scenario
def tags_and_search(step: Callable[..., Any]) -> None:
    """Tags every way MLflow sets them, then search_runs with filters and order_by."""
    mlflow.set_experiment("search-demo")
    exp_id = remember_experiment("search-demo")
    for run_name, params, metrics, tags, end in SEARCH_RUNS:
        try:
            with mlflow.start_run(
                run_name=run_name, tags={"team": tags["team"]}, description=f"run {run_name}"
            ) as run:
                label(run)
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                rest = {k: v for k, v in tags.items() if k != "team"}
                if rest:
                    mlflow.set_tags(rest)
                mlflow.set_tag("tmp", "x")
                mlflow.delete_tag("tmp")
                mlflow.set_tag("n_features", 10)
                if end == "fail":
                    raise RuntimeError("training diverged")
                if end == "kill":
                    mlflow.end_run(status="KILLED")
        except RuntimeError:
            pass
        time.sleep(0.005)  # distinct start times: the default order is newest first

    def q(filter_string: str = "", order_by: list[str] | None = None, **kw: Any) -> Any:
        df = mlflow.search_runs(
            experiment_ids=[exp_id], filter_string=filter_string, order_by=order_by, **kw
        )
        return [LABELS.get(r, r) for r in df["run_id"]]

    step(
        "statuses",
        lambda: {n: mlflow.get_run(i).info.status for i, n in LABELS.items() if n.startswith("r-")},
    )
    step(
        "run_r_a", lambda: run_obs(mlflow.get_run(next(i for i, n in LABELS.items() if n == "r-a")))
    )
    step("frame", lambda: frame_obs(mlflow.search_runs(experiment_ids=[exp_id])))
    step("default_order", q)
    step(
        "no_arguments_uses_active_experiment",
        lambda: sorted(LABELS.get(r, r) for r in mlflow.search_runs()["run_id"]),
    )
    filters = {**FILTERS, **{k: f for k, (f, _) in FILTERS_BEYOND_MLFLOW.items()}}
    for key, flt in filters.items():
        step(f"filter_{key}", lambda flt=flt: q(flt, ["attributes.run_name ASC"]))
    orders = ORDERS
    ids = {n: i for i, n in LABELS.items()}
    step(
        "filter_run_id_in",
        lambda: q(f"attributes.run_id IN ('{ids['r-a']}', '{ids['r-d']}')", ["run_name ASC"]),
    )
    step("filter_run_id_eq", lambda: q(f"attributes.run_id = '{ids['r-b']}'"))
    for key, order in orders.items():
        step(f"order_{key}", lambda order=order: q("", order))
    step("max_results", lambda: q("", ["metrics.rmse ASC"], max_results=2))
    step(
        "experiment_names",
        lambda: [
            LABELS.get(r, r)
            for r in mlflow.search_runs(
                experiment_names=["search-demo"], order_by=["metrics.rmse ASC"]
            )["run_id"]
        ],
    )
    step(
        "output_list",
        lambda: (
            lambda runs: {"type": type_name(runs), "item": type_name(runs[0]), "names": names(runs)}
        )(
            mlflow.search_runs(
                experiment_ids=[exp_id], output_format="list", order_by=["attributes.run_name ASC"]
            )
        ),
    )
    step(
        "empty_result",
        lambda: (
            lambda df: {
                "len": len(df),
                "type": type_name(df),
                "columns": [c for c in df.columns if not is_system_column(c)],
            }
        )(mlflow.search_runs(experiment_ids=[exp_id], filter_string="params.model = 'none'")),
    )
    step(
        "bad_filter",
        lambda: raised(
            lambda: mlflow.search_runs(experiment_ids=[exp_id], filter_string="metrics.rmse <")
        ),
    )

    view_type = sub("entities").ViewType
    r_c = next(i for i, n in LABELS.items() if n == "r-c")
    step("delete_run", lambda: plain(mlflow.delete_run(r_c)))
    step("deleted_stage", lambda: mlflow.get_run(r_c).info.lifecycle_stage)
    step("view_active", lambda: q("", ["attributes.run_name ASC"]))
    step(
        "view_deleted",
        lambda: q("", ["attributes.run_name ASC"], run_view_type=view_type.DELETED_ONLY),
    )
    step("view_all", lambda: q("", ["attributes.run_name ASC"], run_view_type=view_type.ALL))
    step("restore_run", lambda: plain(mlflow.restore_run(r_c)))
    step("restored", lambda: q("", ["attributes.run_name ASC"]))


@scenario
def client_api(step: Callable[..., Any]) -> None:
    """MlflowClient end to end: experiments, create_run, log_batch, histories, paging."""
    entities = sub("entities")
    Metric, Param, RunTag = entities.Metric, entities.Param, entities.RunTag
    client = sub("tracking").MlflowClient()
    exp_id = step(
        "create_experiment", lambda: client.create_experiment("client-exp", tags={"owner": "ana"})
    )
    step("create_experiment_returns", lambda: type_name(exp_id))
    EXPERIMENTS[exp_id] = "client-exp"
    step("set_experiment_tag", lambda: plain(client.set_experiment_tag(exp_id, "stage", "dev")))
    step("get_experiment", lambda: experiment_obs(client.get_experiment(exp_id)))
    step(
        "get_experiment_by_name",
        lambda: experiment_obs(client.get_experiment_by_name("client-exp")),
    )

    run = client.create_run(exp_id, run_name="batch-run", tags={"source": "client"})
    run_id = label(run)
    step("create_run", lambda: run_obs(run))
    step(
        "log_batch",
        lambda: plain(
            client.log_batch(
                run_id,
                metrics=[
                    Metric("m", 1.0, T0, 0),
                    Metric("m", 2.0, T0 + 1, 1),
                    Metric("m", 1.5, T0 + 2, 2),
                ],
                params=[Param("p", "1"), Param("q", "text")],
                tags=[RunTag("t", "x"), RunTag("u", "y")],
            )
        ),
    )
    step("log_param_returns", lambda: plain(client.log_param(run_id, "lr", 0.1)))
    step("log_metric", lambda: plain(client.log_metric(run_id, "single", 0.3, step=4)))
    step("log_metric_positional", lambda: plain(client.log_metric(run_id, "pos", 0.7, T0 + 5, 9)))
    step("set_tag", lambda: plain(client.set_tag(run_id, "k", "v")))
    step("delete_tag", lambda: plain(client.delete_tag(run_id, "u")))
    step(
        "history",
        lambda: [
            [type_name(p), p.key, p.step, p.timestamp - T0, plain(p.value)]
            for p in client.get_metric_history(run_id, "m")
        ],
    )
    step(
        "history_positional",
        lambda: [[p.step, p.timestamp - T0] for p in client.get_metric_history(run_id, "pos")],
    )
    step("running", lambda: run_obs(client.get_run(run_id)))
    step("running_frame", lambda: frame_obs(mlflow.search_runs(experiment_ids=[exp_id])))
    step("set_terminated", lambda: plain(client.set_terminated(run_id)))
    step("finished", lambda: run_obs(client.get_run(run_id)))
    step(
        "update_run_name",
        lambda: (client.update_run(run_id, name="renamed"), client.get_run(run_id).info.run_name)[
            1
        ],
    )
    LABELS[run_id] = "batch-run"
    step("log_to_finished_run", lambda: raised(lambda: client.log_metric(run_id, "late", 1.0)))
    step(
        "finished_run_after_late_data",
        lambda: (
            client.get_run(run_id).info.status,
            client.get_run(run_id).data.metrics.get("late"),
            client.get_run(run_id).info.end_time is not None,
        ),
    )

    killed = client.create_run(exp_id, run_name="killed-run")
    label(killed)
    step(
        "set_terminated_killed",
        lambda: (
            client.set_terminated(killed.info.run_id, status="KILLED", end_time=T0 + 10),
            client.get_run(killed.info.run_id).info.status,
            client.get_run(killed.info.run_id).info.end_time - T0,
        )[1:],
    )

    def client_child() -> Any:
        parent = client.create_run(exp_id, run_name="client-parent", start_time=T0)
        label(parent)
        child = client.create_run(
            exp_id,
            run_name="client-child",
            start_time=T0 + 5,
            tags={"mlflow.parentRunId": parent.info.run_id},
        )
        label(child)
        for r in (child, parent):
            client.set_terminated(r.info.run_id, end_time=T0 + 9)
        found = mlflow.search_runs(
            experiment_ids=[exp_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
            output_format="list",
        )
        got = client.get_run(child.info.run_id).info
        return {
            "children": names(found),
            "parent_of_child": mlflow.get_parent_run(child.info.run_id).info.run_name,
            "times": [got.start_time - T0, got.end_time - T0],
        }

    step("client_parent_tag", client_child)

    for i in range(5):
        r = client.create_run(exp_id, run_name=f"page-{i}")
        label(r)
        client.log_metric(r.info.run_id, "i", float(i))
        client.set_terminated(r.info.run_id)

    def pages(page_size: int) -> Any:
        out, token, sizes = [], None, []
        for _ in range(10):
            page = client.search_runs(
                [exp_id], filter_string="metrics.i >= 0", order_by=["metrics.i DESC"],
                max_results=page_size, page_token=token,
            )  # fmt: skip
            out.extend(names(page))
            sizes.append(len(page))
            token = page.token
            if not token:
                break
        return {"names": out, "sizes": [s for s in sizes if s], "type": type_name(page)}

    step("pages_of_2", lambda: pages(2))
    step("pages_of_5", lambda: pages(5))
    step(
        "client_search_runs_str_id",
        lambda: len(client.search_runs(exp_id, filter_string="metrics.i >= 0")),
    )

    for name, tags in (
        ("proj-alpha", {"team": "x"}),
        ("proj-beta", None),
        ("other", {"team": "x"}),
    ):
        eid = client.create_experiment(name, tags=tags)
        EXPERIMENTS[eid] = name
        time.sleep(0.005)
    ids = {n: i for i, n in EXPERIMENTS.items()}
    step(
        "search_experiments_like",
        lambda: [
            e.name
            for e in mlflow.search_experiments(
                filter_string="name LIKE 'proj-%'", order_by=["name ASC"]
            )
        ],
    )
    step(
        "search_experiments_tag",
        lambda: sorted(e.name for e in mlflow.search_experiments(filter_string="tags.team = 'x'")),
    )
    step("search_experiments_returns", lambda: type_name(mlflow.search_experiments()))
    step(
        "client_search_experiments_type",
        lambda: (lambda p: [type_name(p), hasattr(p, "token")])(client.search_experiments()),
    )

    def experiment_pages() -> Any:
        out, token = [], None
        for _ in range(10):
            page = client.search_experiments(
                filter_string="name LIKE 'proj-%'",
                order_by=["name DESC"],
                max_results=1,
                page_token=token,
            )
            out.append([e.name for e in page])
            token = page.token
            if not token:
                break
        return [p for p in out if p]

    step("search_experiments_pages", experiment_pages)
    step("delete_experiment", lambda: plain(client.delete_experiment(ids["other"])))
    view_type = entities.ViewType
    step("experiments_active", lambda: sorted(e.name for e in mlflow.search_experiments()))
    step(
        "experiments_deleted",
        lambda: sorted(e.name for e in mlflow.search_experiments(view_type=view_type.DELETED_ONLY)),
    )
    step(
        "experiments_all",
        lambda: sorted(e.name for e in mlflow.search_experiments(view_type=view_type.ALL)),
    )
    step("deleted_experiment_stage", lambda: client.get_experiment(ids["other"]).lifecycle_stage)
    step("set_deleted_experiment", lambda: raised(lambda: mlflow.set_experiment("other")))
    step(
        "restore_experiment",
        lambda: (
            client.restore_experiment(ids["other"]),
            client.get_experiment(ids["other"]).lifecycle_stage,
        )[1],
    )
    step(
        "rename_experiment",
        lambda: (
            client.rename_experiment(ids["other"], "other-renamed"),
            client.get_experiment(ids["other"]).name,
        )[1],
    )

    def default_experiment_order() -> Any:
        a = client.create_experiment("order-a")
        time.sleep(0.01)
        client.create_experiment("order-b")
        time.sleep(0.01)
        client.set_experiment_tag(a, "touched", "yes")
        return [e.name for e in mlflow.search_experiments(filter_string="name LIKE 'order-%'")]

    step("search_experiments_default_order", default_experiment_order)


@scenario
def experiment_selection(step: Callable[..., Any]) -> None:
    """Choosing the experiment by id, and explicit timestamps."""
    exp_id = mlflow.create_experiment("by-id", tags={"purpose": "ids"})
    EXPERIMENTS[exp_id] = "by-id"
    step(
        "set_experiment_by_id", lambda: experiment_obs(mlflow.set_experiment(experiment_id=exp_id))
    )
    with mlflow.start_run(run_name="in-active") as run:
        label(run)
        mlflow.log_metrics({"a": 1.0, "b": 2.0}, step=3, timestamp=T0 + 7)
    step("run_in_active_experiment", lambda: run_obs(mlflow.get_run(run.info.run_id)))
    step(
        "log_metrics_timestamp",
        lambda: [
            [p.key, p.step, p.timestamp - T0]
            for key in ("a", "b")
            for p in sub("tracking").MlflowClient().get_metric_history(run.info.run_id, key)
        ],
    )
    mlflow.set_experiment("elsewhere")
    remember_experiment("elsewhere")
    with mlflow.start_run(run_name="explicit", experiment_id=exp_id) as run:
        label(run)
    step("start_run_experiment_id", lambda: run_obs(mlflow.get_run(run.info.run_id)))
    step(
        "search_by_id",
        lambda: sorted(names(mlflow.search_runs(experiment_ids=[exp_id], output_format="list"))),
    )
    step("active_experiment_unchanged", lambda: len(mlflow.search_runs()))

    def own_artifact_location() -> Any:
        where = Path("custom-artifacts").resolve()
        # Carnet only writes under allowed artifact roots; MLflow ignores the setting
        os.environ["CARNET_ARTIFACT_ROOTS"] = str(where)
        eid = mlflow.create_experiment("own-location", artifact_location=str(where))
        EXPERIMENTS[eid] = "own-location"
        exp = mlflow.get_experiment(eid)
        with mlflow.start_run(experiment_id=eid) as run:
            label(run, "own-location-run")
            mlflow.log_text("here", "where.txt")
        uri = mlflow.get_run(run.info.run_id).info.artifact_uri

        def strip(u: str) -> str:
            return u[len("file://") :] if u.startswith("file://") else u

        return {
            "experiment_location": strip(exp.artifact_location) == str(where),
            "run_uri_under_it": strip(uri).startswith(str(where)),
            "file_there": [str(p.relative_to(where)).count("/") for p in where.rglob("where.txt")],
        }

    step("create_experiment_artifact_location", own_artifact_location)

    doomed = mlflow.create_experiment("doomed")
    EXPERIMENTS[doomed] = "doomed"
    with mlflow.start_run(experiment_id=doomed, run_name="doomed-run") as run:
        label(run)
    doomed_run = run.info.run_id
    mlflow.delete_experiment(doomed)
    find = "attributes.run_name = 'doomed-run'"
    step("run_of_deleted_experiment", lambda: mlflow.get_run(doomed_run).info.lifecycle_stage)
    step(
        "search_all_skips_deleted_experiments",
        lambda: len(mlflow.search_runs(search_all_experiments=True, filter_string=find)),
    )
    step(
        "search_deleted_experiment_by_id",
        lambda: len(mlflow.search_runs(experiment_ids=[doomed], filter_string=find)),
    )
    view_type = sub("entities").ViewType
    step(
        "search_deleted_experiment_all_views",
        lambda: len(
            mlflow.search_runs(
                experiment_ids=[doomed], filter_string=find, run_view_type=view_type.ALL
            )
        ),
    )
    mlflow.restore_experiment(doomed)
    step("run_of_restored_experiment", lambda: mlflow.get_run(doomed_run).info.lifecycle_stage)


@scenario
def names_and_keys(step: Callable[..., Any]) -> None:
    """Run names (generated, from a tag, renamed by tag), odd keys, experiment tags."""
    import re

    mlflow.set_experiment("names")
    exp_id = remember_experiment("names")
    client = sub("tracking").MlflowClient()
    with mlflow.start_run() as run:
        generated = run.info.run_name
        label(run, "generated")
        step("generated_name_shape", lambda: bool(re.fullmatch(r"[a-z]+-[a-z]+-\d+", generated)))
        step("status_inside_with", lambda: run.info.status)
        mlflow.log_metric("val/loss", 0.5, step=-1)
        mlflow.log_metric("test acc", 0.9)
        mlflow.log_metric("a.b-c_d", 1.5)
        mlflow.log_param("optimizer/lr", 0.01)
        mlflow.set_tag("unicode", "café ☕")
        mlflow.set_tag("none", None)
        mlflow.set_tag("mlflow.runName", "renamed-by-tag")
    step("snapshot_after_with", lambda: run.info.status)
    step("renamed_by_tag", lambda: mlflow.get_run(run.info.run_id).info.run_name)
    step("odd_keys", lambda: run_obs(mlflow.get_run(run.info.run_id)))
    step(
        "negative_step",
        lambda: [p.step for p in client.get_metric_history(run.info.run_id, "val/loss")],
    )
    step(
        "odd_key_filters",
        lambda: [
            len(mlflow.search_runs(experiment_ids=[exp_id], filter_string=f))
            for f in (
                "metrics.`val/loss` < 1",
                "metrics.`test acc` > 0.5",
                "metrics.`a.b-c_d` = 1.5",
                "params.`optimizer/lr` = '0.01'",
                "tags.unicode = 'café ☕'",
            )
        ],
    )
    keys = ["cœur", "ключ", "naïve key", "a:b", "a,b", "a=b", "a#b", "a\\b", "x" * 250, "x" * 251]

    def key_rules() -> Any:
        with mlflow.start_run(run_name="keys") as keyed:
            label(keyed)
            return [
                [k[:12], len(k), raised(lambda k=k: mlflow.set_tag(k, "v"))["raised"]] for k in keys
            ]

    step("key_rules", key_rules)

    def param_order() -> Any:
        for n in ("9", "10", "100"):
            with mlflow.start_run(run_name=f"n={n}") as r:
                label(r)
                mlflow.log_param("n", n)
        found = mlflow.search_runs(
            experiment_ids=[exp_id], filter_string="params.n LIKE '%'", order_by=["params.n ASC"]
        )
        return list(found["params.n"])

    step("param_order", param_order)
    with mlflow.start_run(tags={"mlflow.runName": "from-tag"}) as run2:
        label(run2)
    step("name_from_tag", lambda: mlflow.get_run(run2.info.run_id).info.run_name)
    step(
        "update_run_tag",
        lambda: (
            client.update_run(run2.info.run_id, name="via-update"),
            user_tags(client.get_run(run2.info.run_id).data.tags),
        )[1],
    )
    step(
        "set_experiment_tags",
        lambda: (
            mlflow.set_experiment_tags({"team": "a", "n": 2}),
            user_tags(client.get_experiment(exp_id).tags),
        )[1],
    )
    step(
        "set_experiment_tag",
        lambda: (
            mlflow.set_experiment_tag("team", "b"),
            user_tags(client.get_experiment(exp_id).tags),
        )[1],
    )
    step(
        "search_experiments_attrs",
        lambda: [
            e.name
            for e in mlflow.search_experiments(
                filter_string="creation_time > 0 and name LIKE 'nam%'",
                order_by=["last_update_time DESC"],
            )
        ],
    )
    gone = client.create_experiment("gone")
    EXPERIMENTS[gone] = "gone"
    client.delete_experiment(gone)
    step("get_deleted_by_name", lambda: experiment_obs(client.get_experiment_by_name("gone")))
    step("create_over_deleted", lambda: raised(lambda: client.create_experiment("gone")))


@scenario
def run_lifecycle(step: Callable[..., Any]) -> None:
    """How a with-block ends a run, and asynchronous logging."""
    mlflow.set_experiment("lifecycle")
    remember_experiment("lifecycle")

    def ended_by(exc: BaseException) -> str:
        run_id = None
        try:
            with mlflow.start_run() as run:
                run_id = run.info.run_id
                raise exc
        except BaseException:
            pass
        assert run_id is not None
        return mlflow.get_run(run_id).info.status  # type: ignore[no-any-return]

    step("keyboard_interrupt", lambda: ended_by(KeyboardInterrupt()))
    step("sys_exit_0", lambda: ended_by(SystemExit(0)))
    step("sys_exit_1", lambda: ended_by(SystemExit(1)))
    step("value_error", lambda: ended_by(ValueError("x")))

    def end_positional() -> Any:
        run = mlflow.start_run()
        mlflow.end_run("FAILED")
        return [mlflow.get_run(run.info.run_id).info.status, mlflow.active_run() is None]

    step("end_run_positional_status", end_positional)

    def nested_without_parent() -> Any:
        with mlflow.start_run(nested=True) as run:
            label(run, "lonely")
        return user_tags(mlflow.get_run(run.info.run_id).data.tags).get("mlflow.parentRunId")

    step("nested_without_parent", nested_without_parent)

    with mlflow.start_run(run_name="async") as run:
        label(run)
        op = step("async_log_metric", lambda: mlflow.log_metric("q", 1.0, synchronous=False))
        step("async_returns", lambda: type_name(op))
        step("async_wait", lambda: plain(op.wait()))
        for i in range(5):
            mlflow.log_metric("q", float(i), step=i, synchronous=False)
        step("flush_async_logging", lambda: plain(mlflow.flush_async_logging()))
        step(
            "async_history",
            lambda: [
                [p.step, p.value]
                for p in sub("tracking").MlflowClient().get_metric_history(run.info.run_id, "q")
            ],
        )


@scenario
def errors(step: Callable[..., Any]) -> None:
    """Mistakes scripts make, and whether `except MlflowException` catches them."""
    mlflow.set_experiment("errors")
    remember_experiment("errors")
    with mlflow.start_run(run_name="err") as run:
        label(run)
        step(
            "param_same_value",
            lambda: raised(
                lambda: mlflow.log_param("alpha", 0.1) and mlflow.log_param("alpha", 0.1)
            ),
        )
        step("param_changed", lambda: raised(lambda: mlflow.log_param("alpha", 0.2)))
        step("metric_string", lambda: raised(lambda: mlflow.log_metric("m", "0.5")))
        step("metric_none", lambda: raised(lambda: mlflow.log_metric("m", None)))
        step("metric_bool", lambda: raised(lambda: mlflow.log_metric("flag", True)))
        step("bad_key", lambda: raised(lambda: mlflow.log_param("bad;key", 1)))
        step("long_param", lambda: raised(lambda: mlflow.log_param("long", "x" * 6001)))
        step("nested_without_flag", lambda: raised(lambda: mlflow.start_run()))
    step("unknown_run", lambda: raised(lambda: mlflow.get_run("0123456789abcdef0123456789abcdef")))
    step("unknown_experiment", lambda: raised(lambda: mlflow.get_experiment("987654")))
    step("duplicate_experiment", lambda: raised(lambda: mlflow.create_experiment("errors")))

    def bogus_end() -> Any:
        bogus = mlflow.start_run(run_name="bogus")
        label(bogus)
        try:
            return raised(lambda: mlflow.end_run(status="BOGUS"))
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()

    step("bad_status", bogus_end)
    step(
        "bad_order_by", lambda: raised(lambda: mlflow.search_runs(order_by=["metrics.m SIDEWAYS"]))
    )
    step(
        "unknown_experiment_name",
        lambda: raised(lambda: mlflow.search_runs(experiment_names=["nope-nope"])),
    )
    step("exceptions_module", lambda: error_base() is not None)


@scenario
def entity_shapes(step: Callable[..., Any]) -> None:
    """Attribute names of the objects scripts touch, and what each call returns."""
    client = sub("tracking").MlflowClient()
    exp = mlflow.set_experiment("shapes")
    remember_experiment("shapes")
    with mlflow.start_run(run_name="shape") as active:
        label(active)
        mlflow.log_metric("m", 1.0, step=1)
        mlflow.log_param("p", 1)
        mlflow.set_tag("t", "v")
        step("active_run_attrs", lambda: public_attrs(active))
        step("active_run_same", lambda: mlflow.active_run().info.run_id == active.info.run_id)
        step("log_param_returns", lambda: plain(mlflow.log_param("p2", 5)))
        step("log_metric_returns", lambda: plain(mlflow.log_metric("m2", 5.0)))
        step("set_tag_returns", lambda: plain(mlflow.set_tag("t2", "v")))
        step("set_tags_returns", lambda: plain(mlflow.set_tags({"t3": "v"})))
        step("log_params_returns", lambda: plain(mlflow.log_params({"p3": 1})))
        step("get_artifact_uri", lambda: type_name(mlflow.get_artifact_uri()))
        step("log_text", lambda: plain(mlflow.log_text("hello", "notes/hello.txt")))
        step("log_dict", lambda: plain(mlflow.log_dict({"a": 1}, "config.json")))
        config = {"model": {"alpha": 0.1, "layers": [64, 32]}, "name": "run", "epochs": 3}
        step("log_dict_yaml", lambda: plain(mlflow.log_dict(config, "config/train.yaml")))
        step("log_dict_json", lambda: plain(mlflow.log_dict(config, "config/train.json")))
        step("log_dict_no_suffix", lambda: plain(mlflow.log_dict(config, "config/train")))
        step("log_text_unicode", lambda: plain(mlflow.log_text("café ☕\n", "notes/u.txt")))
        Path("report.txt").write_text("report\n")
        Path("outputs/deep").mkdir(parents=True, exist_ok=True)
        Path("outputs/a.csv").write_text("x,y\n1,2\n")
        Path("outputs/deep/b.txt").write_text("b")
        step("log_artifact", lambda: plain(mlflow.log_artifact("report.txt")))
        step("log_artifact_path", lambda: plain(mlflow.log_artifact("report.txt", "docs")))
        step("log_artifacts", lambda: plain(mlflow.log_artifacts("outputs", artifact_path="out")))
    run = mlflow.get_run(active.info.run_id)
    step("set_experiment_returns", lambda: type_name(exp))
    step("experiment_attrs", lambda: public_attrs(exp))
    step("run_attrs", lambda: public_attrs(run))
    step("run_info_attrs", lambda: public_attrs(run.info))
    step("run_data_attrs", lambda: public_attrs(run.data))
    step("run", lambda: run_obs(run))
    step("run_to_dictionary", lambda: sorted(run.to_dictionary()))
    step("last_active_run_type", lambda: type_name(mlflow.last_active_run()))
    points = client.get_metric_history(run.info.run_id, "m")
    step("metric_attrs", lambda: public_attrs(points[0]))
    step("metric_entity", lambda: [points[0].key, points[0].value, points[0].step])
    entities = sub("entities")
    step("param_attrs", lambda: public_attrs(entities.Param("k", "v")))
    step("run_tag_attrs", lambda: public_attrs(entities.RunTag("k", "v")))
    step(
        "view_type",
        lambda: [
            int(entities.ViewType.ACTIVE_ONLY),
            int(entities.ViewType.DELETED_ONLY),
            int(entities.ViewType.ALL),
        ],
    )
    status = entities.RunStatus
    step("run_status_to_string", lambda: status.to_string(status.FINISHED))
    step("run_status_roundtrip", lambda: status.to_string(status.from_string("KILLED")))
    step(
        "run_status_is_terminated",
        lambda: [
            status.is_terminated(status.from_string(s)) for s in ("RUNNING", "FINISHED", "FAILED")
        ],
    )
    step("run_status_all", lambda: sorted(status.to_string(s) for s in status.all_status()))
    # Carnet's record of what reproducing the run takes (docs/reproduce.md) is a folder
    # MLflow does not write; the listings compared are the script's own artifacts.
    files = step(
        "list_artifacts",
        lambda: [f for f in client.list_artifacts(run.info.run_id) if f.path != RECORD_FOLDER],
    )
    step("list_artifacts_paths", lambda: sorted(f.path for f in files) if files else None)
    step("file_info_attrs", lambda: public_attrs(files[0]) if files else None)
    step(
        "list_artifacts_subdir",
        lambda: [f.path for f in client.list_artifacts(run.info.run_id, "notes")],
    )
    step(
        "list_artifacts_detail",
        lambda: sorted(
            [f.path, f.is_dir, None if f.is_dir else f.file_size]
            for folder in (None, "out", "out/deep", "docs")
            for f in client.list_artifacts(run.info.run_id, folder)
            if f.path != RECORD_FOLDER
        ),
    )
    step(
        "download_artifacts",
        lambda: Path(
            client.download_artifacts(run.info.run_id, "notes/hello.txt", dst_path=".")
        ).read_text(),
    )
    for path in ("config/train.yaml", "config/train.json", "config/train", "notes/u.txt"):
        step(
            f"artifact_text:{path}",
            lambda path=path: Path(
                client.download_artifacts(run.info.run_id, path, dst_path="dl")
            ).read_text(encoding="utf-8"),
        )
    step("client_get_run_type", lambda: type_name(client.get_run(run.info.run_id)))
    step(
        "search_runs_frame_type", lambda: type_name(mlflow.search_runs(experiment_names=["shapes"]))
    )


def main() -> None:
    mlflow.set_tracking_uri("sqlite:///compat.db")
    started = time.time()
    timings: dict[str, float] = {}
    only = set(filter(None, os.environ.get("COMPAT_ONLY", "").split(",")))
    for run in SCENARIOS:
        if only and run.__name__ not in only:
            continue
        t = time.time()
        run()
        timings[run.__name__] = round(time.time() - t, 3)
    from importlib.metadata import version

    payload = {
        "impl": IMPL,
        "version": getattr(mlflow, "__version__", "?"),
        "libraries": {d: version(d) for d in ("numpy", "pandas", "scikit-learn")},
        "results": RESULTS,
        "warnings": WARNINGS,
        "timings": timings,
        "seconds": round(time.time() - started, 3),
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
