"""A small store with a model registry, written through the SDK for the Models page tests.

Three runs of a diabetes regression, each logging a scikit-learn model; the
first two with an input example (so a signature), the third without. Model
``diabetes`` has versions 1-3 (``champion`` -> 2, ``challenger`` -> 3), tags and
a description; ``fraud-detector`` has one version; a third model's name,
description and tags hold markup that must show as text; a fourth was registered
from a local folder, which the dashboard does not open.
"""

from __future__ import annotations

from dataclasses import dataclass

import carnet
import carnet.sklearn

EXPERIMENT = "diabetes-registry"
MODEL = "diabetes"
OTHER_MODEL = "fraud-detector"
MARKUP_MODEL = "<img src=x onerror=alert(1)> **bold**"
MARKUP_TEXT = "**not bold** <i>not italic</i>"
FOLDER_MODEL = "from-a-folder"
ALPHAS = (0.1, 0.01, 1.0)


@dataclass(frozen=True)
class RegistryInfo:
    uri: str
    experiment_id: str
    run_ids: tuple[str, ...]  # the source runs of diabetes v1, v2, v3
    mse: tuple[float, ...]  # their MSE, in the same order


def write_registry(uri: str) -> RegistryInfo:
    """Log three runs with models, register them and set aliases and tags."""
    import pandas as pd
    from sklearn.linear_model import ElasticNet

    carnet.set_tracking_uri(uri)
    experiment_id = carnet.set_experiment(EXPERIMENT).experiment_id
    x = pd.DataFrame({"age": [0.1, 0.2, 0.3, 0.4], "bmi": [1.0, 0.5, 0.25, 0.125]})
    y = [1.0, 2.0, 3.0, 4.0]
    run_ids, errors = [], []
    for i, alpha in enumerate(ALPHAS):
        with carnet.start_run(run_name=f"alpha-{alpha}") as run:
            model = ElasticNet(alpha=alpha).fit(x, y)
            mse = 3000.0 + 100 * i
            carnet.log_param("alpha", alpha)
            carnet.log_metrics({"MSE": mse, "R2": 0.5 - i / 10})
            example = x.head(2) if i < 2 else None
            carnet.sklearn.log_model(
                model, name="model", input_example=example, registered_model_name=MODEL
            )
            run_ids.append(run.info.run_id)
            errors.append(mse)
    client = carnet.Client(uri)
    client.update_registered_model(MODEL, description="Predicts disease progression.")
    client.set_registered_model_tag(MODEL, "team", "med")
    client.set_registered_model_alias(MODEL, "champion", 2)
    client.set_registered_model_alias(MODEL, "challenger", 3)
    client.update_model_version(MODEL, 2, description="alpha 0.01, the best MSE")
    client.set_model_version_tag(MODEL, 2, "validated", "yes")
    carnet.register_model(f"runs:/{run_ids[0]}/model", OTHER_MODEL)
    client.set_registered_model_tag(OTHER_MODEL, "team", "risk")
    client.create_registered_model(
        MARKUP_MODEL, tags={"note": MARKUP_TEXT}, description=MARKUP_TEXT
    )
    client.create_model_version(MARKUP_MODEL, f"runs:/{run_ids[0]}/model", tags={"k": MARKUP_TEXT})
    client.create_registered_model(FOLDER_MODEL)
    client.create_model_version(FOLDER_MODEL, "/models/elsewhere")  # not a run's: not opened
    client.create_model_version(FOLDER_MODEL, f"runs:/{run_ids[0]}/no-model-here")  # v2
    carnet.set_tracking_uri(None)
    return RegistryInfo(uri, experiment_id, tuple(run_ids), tuple(errors))
