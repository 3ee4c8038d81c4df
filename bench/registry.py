"""(l) Model registry searches at 10,000 versions: filtered version and registered-model searches.

The store holds ``versions / 10`` registered models (``model-0000`` ...) of 10 versions
each; each model has a ``team`` tag, each version a ``runs:/<run_id>/model`` source
with its own run id. Queries are MLflow's registry grammar, answered as entities
(``Client.search_model_versions`` / ``search_registered_models``, each model with its
newest version). Stores are cached; rows show the median of the queries after the
first in a fresh process. MLflow runs the same queries on its own SQLite store,
built through ``MlflowClient`` (bench/mlflow_runner.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench import mlflow_env
from bench.config import CACHE, Config, ensure_cache
from bench.harness import Plan, Row, Samples, Variant, median, run_worker

TARGET_S = 0.010
TEAMS = ("risk", "ops", "vision", "search")
PER_MODEL = 10


def queries(models: int) -> list[tuple[str, str, str, int]]:
    """(key, search, filter, max_results): the workload's queries for a store of ``models``."""
    one = f"model-{models // 2:04d}"
    prefix = f"model-{(models // 2) // 100:02d}%"
    return [
        ("one_model", "versions", f"name = '{one}'", 100),
        ("one_run", "versions", f"run_id = '{run_id(models // 2, 3)}'", 100),
        ("prefix_newest", "versions", f"name LIKE '{prefix}' AND version_number >= 9", 100),
        ("models_prefix", "models", f"name LIKE '{prefix}'", 100),
        ("models_tag", "models", "tags.team = 'risk'", 100),
    ]


def run_id(model: int, version: int) -> str:
    """The run id recorded for a version: fixed, so both stores hold the same data."""
    return f"{model:016x}{version:016x}"


def plan(cfg: Config) -> Plan:
    models = cfg.registry_versions // PER_MODEL
    args: dict[str, Any] = {"models": models, "samples": cfg.search_samples}
    variants = [Variant("carnet", lambda: run_worker("registry", "queries", args))]
    ml_args = {
        "models": models,
        "per_model": PER_MODEL,
        "teams": list(TEAMS),
        "cache": str(CACHE),
        "queries": queries(models),
        "samples": cfg.search_samples,
    }
    if cfg.mlflow:
        variants.append(Variant("mlflow", lambda: mlflow_env.run("registry", ml_args)))
    result = Plan(variants, lambda s: [])

    def prepare() -> None:
        args["store"] = run_worker("registry", "build", {"models": models}, timeout=3600)["uri"]
        if cfg.mlflow:  # builds MLflow's cached store on first use, outside the timings
            mlflow_env.run("registry", dict(ml_args, samples=0), timeout=7200)

    def summarize(s: Samples) -> list[Row]:
        n = models * PER_MODEL
        rows = []
        for key, search, text, limit in queries(models):
            what = "search_model_versions" if search == "versions" else "search_registered_models"
            carnet_s, mlflow_s = median(s, "carnet", key), median(s, "mlflow", key)
            rows.append(
                Row(
                    "l",
                    f'{what}("{text}", max_results={limit}) at {n:,} versions',
                    "ms",
                    None if carnet_s is None else carnet_s * 1000,
                    mlflow=None if mlflow_s is None else mlflow_s * 1000,
                    target=TARGET_S * 1000,
                    target_text="≤ 10 ms",
                )
            )
        return rows

    result.variants, result.summarize, result.prepare = variants, summarize, prepare
    return result


def build(models: int) -> str:
    """The cached Carnet store of ``models`` registered models (built once)."""
    path = ensure_cache() / f"registry-{models}.db"
    done = path.with_suffix(".json")
    uri = f"sqlite:///{path}"
    if done.exists():
        return uri
    path.unlink(missing_ok=True)
    import carnet

    client = carnet.Client(uri)
    for m in range(models):
        name = f"model-{m:04d}"
        client.create_registered_model(name, tags={"team": TEAMS[m % len(TEAMS)]})
        for v in range(1, PER_MODEL + 1):
            rid = run_id(m, v)
            tags = {"validated": "yes"} if v % 3 == 0 else None
            client.create_model_version(name, f"runs:/{rid}/model", run_id=rid, tags=tags)
    done.write_text(json.dumps({"models": models}))
    return uri


def measure(variant: str, args: dict[str, Any]) -> dict[str, Any]:
    if variant == "build":
        return {"uri": build(args["models"])}
    import carnet

    client = carnet.Client(args["store"], read_only=True)
    client.search_registered_models(max_results=1)  # opens the connection before timing
    out: dict[str, Any] = {}
    for key, search, text, limit in queries(args["models"]):
        fn = (
            client.search_model_versions
            if search == "versions"
            else client.search_registered_models
        )
        times, found = [], []
        for _ in range(1 + args["samples"]):
            t = time.perf_counter()
            found = fn(text, max_results=limit)
            times.append(time.perf_counter() - t)
        if not found:
            raise RuntimeError(f"{text!r} found nothing")
        warm = sorted(times[1:])
        out[key] = warm[len(warm) // 2] if warm else times[0]
        out[f"{key}_rows"] = len(found)
    return out
