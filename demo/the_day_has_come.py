"""The day has come: a new patient walks in, and the team's champion model is put to work.

Loads the registered model ``diabetes`` by its alias ``champion`` (the sweep's best run,
registered by ``python -m demo.diabetes_sweep``) and predicts the patient's disease
progression one year from now.

    python -m demo.the_day_has_come
    python -m demo.the_day_has_come --patient age=61 bmi=33.5 bp=110

Measurements are in the dataset's clinical units (age in years, sex 1 or 2, BMI, mean
blood pressure, six blood serum measurements): the model takes them as they are, named
by its signature, and scales them itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python demo/<name>.py`: make `demo` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo._common import resolve_uri
from demo.diabetes_sweep import CHAMPION, REGISTERED_MODEL

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
MODEL_URI = f"models:/{REGISTERED_MODEL}@{CHAMPION}"


def predict(patient: dict[str, float], model_uri: str = MODEL_URI) -> tuple[str, float]:
    """The champion's version and its one-year progression for this patient."""
    import pandas as pd

    import carnet
    import carnet.pyfunc

    try:
        version = carnet.MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
        model = carnet.pyfunc.load_model(model_uri)
    except (carnet.NotFoundError, carnet.CarnetError) as exc:
        raise SystemExit(
            f"no champion model to load ({exc}); run `python -m demo.diabetes_sweep` first"
        ) from None
    row = pd.DataFrame([{name: patient[name] for name in FEATURES}])
    return str(version.version), float(model.predict(row)[0])


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
    parser.add_argument("--patient", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    import carnet

    carnet.set_tracking_uri(resolve_uri(args.tracking_uri))
    patient = parse_patient(args.patient)
    version, progression = predict(patient)
    print(f"model: {MODEL_URI} (version {version})")
    print("patient: " + ", ".join(f"{k}={v:g}" for k, v in patient.items()))
    print(f"predicted disease progression one year from now: {progression:.0f}")
    print("(the dataset's targets run from 25 to 346; their mean is 152)")
    return progression


if __name__ == "__main__":
    main(sys.argv[1:])
