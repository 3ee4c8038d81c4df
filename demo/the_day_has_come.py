"""The day has come: a new patient walks in, and the sweep's best model is put to work.

Finds the best run with a query (the way you would in a notebook), loads the model logged
with it, and predicts the patient's disease progression one year from now.

    python -m demo.the_day_has_come
    python -m demo.the_day_has_come --patient age=61 bmi=33.5 bp=110

Measurements are in the dataset's clinical units (age in years, sex 1 or 2, BMI, mean
blood pressure, six blood serum measurements). They are scaled exactly as scikit-learn
scales the diabetes data, then by the constants the sweep logged with the model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python demo/<name>.py`: make `demo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo._common import resolve_uri
from demo.diabetes_sweep import (
    EXPERIMENT,
    HAS_MODEL_TAG,
    MODEL_PATH,
    NORMALISATION_FILE,
)

FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
# A made-up patient, in the units of load_diabetes(scaled=False).
NEW_PATIENT = {
    "age": 57.0,
    "sex": 2.0,
    "bmi": 31.2,
    "bp": 104.0,
    "s1": 201.0,  # total serum cholesterol
    "s2": 128.4,  # low-density lipoproteins
    "s3": 41.0,  # high-density lipoproteins
    "s4": 5.0,  # total cholesterol / HDL
    "s5": 5.09,  # log of serum triglycerides
    "s6": 99.0,  # blood sugar
}
QUERY = f"attributes.status = 'FINISHED' and tags.{HAS_MODEL_TAG} = 'true'"


def scaled_features(patient: dict[str, float]) -> Any:
    """The patient as a row of load_diabetes()'s features: centred, unit norm per column."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    raw, _ = load_diabetes(return_X_y=True, scaled=False)
    mean = raw.mean(axis=0)
    norm = np.sqrt(((raw - mean) ** 2).sum(axis=0))
    row = np.array([[patient[name] for name in FEATURES]], dtype=float)
    return (row - mean) / norm


def predict(patient: dict[str, float], experiment: str = EXPERIMENT) -> tuple[str, float]:
    """The best run's id and its model's one-year progression for this patient."""
    import carnet
    import carnet.sklearn

    runs = carnet.search_runs(
        experiment_names=[experiment],
        filter_string=QUERY,
        order_by=["metrics.MSE ASC"],
        max_results=1,
    )
    assert not isinstance(runs, list)
    if not len(runs):
        raise SystemExit(
            f"no run of {experiment!r} has a model yet; run `python -m demo.diabetes_sweep` first"
        )
    run_id = str(runs.iloc[0]["run_id"])
    model = carnet.sklearn.load_model(f"runs:/{run_id}/{MODEL_PATH}")
    with tempfile.TemporaryDirectory(prefix="carnet-demo-") as scratch:
        path = carnet.Client().download_artifacts(run_id, NORMALISATION_FILE, scratch)
        with open(path, encoding="utf-8") as f:
            norm = json.load(f)
    x = (scaled_features(patient) - norm["x_mean"]) / norm["x_std"]
    progression = float(model.predict(x)[0]) * norm["y_std"] + norm["y_mean"]
    return run_id, progression


def parse_patient(pairs: Sequence[str]) -> dict[str, float]:
    """``name=value`` pairs over the default patient."""
    patient = dict(NEW_PATIENT)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in FEATURES:
            raise SystemExit(f"--patient takes name=value with a name among {', '.join(FEATURES)}")
        patient[name] = float(value)
    return patient


def main(argv: Sequence[str] | None = None) -> float:
    """Predict for the patient and print it; returns the prediction."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.the_day_has_come",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tracking-uri", default=None, help="as for the sweep")
    parser.add_argument("--experiment", default=EXPERIMENT, help="default: %(default)s")
    parser.add_argument("--patient", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    import carnet

    carnet.set_tracking_uri(resolve_uri(args.tracking_uri))
    patient = parse_patient(args.patient)
    run_id, progression = predict(patient, args.experiment)
    print(f"query: {QUERY}  order by metrics.MSE ASC")
    print(f"model: runs:/{run_id}/{MODEL_PATH}")
    print("patient: " + ", ".join(f"{k}={v:g}" for k, v in patient.items()))
    print(f"predicted disease progression one year from now: {progression:.0f}")
    print("(the dataset's targets run from 25 to 346; their mean is 152)")
    return progression


if __name__ == "__main__":
    main(sys.argv[1:])
