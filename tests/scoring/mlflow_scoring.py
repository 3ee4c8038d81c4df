"""Run in MLflow's interpreter: MLflow's own answers to scoring bodies.

    python mlflow_scoring.py MODEL_DIR CASES.json ROWS.json

ROWS.json holds {"columns", "data"} of a sample; CASES.json a list of
{"content_type", "body"}. For the sample it adds MLflow's own serving body
(``convert_input_example_to_serving_input``) as the first case, then answers every
case with MLflow's scoring server code (``mlflow.pyfunc.scoring_server.invocations``,
what ``mlflow models serve`` runs per request) and prints, as JSON:
{"pyfunc": predictions of mlflow.pyfunc.load_model(...).predict on the sample,
 "cases": [{"content_type", "body", "status", "answer"}]}.
"""

import json
import sys
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import convert_input_example_to_serving_input
from mlflow.pyfunc import scoring_server

folder, cases_path, rows_path = sys.argv[1:4]
raw = json.loads(Path(rows_path).read_text())
rows = pd.DataFrame(raw["data"], columns=raw["columns"])
model = mlflow.pyfunc.load_model(folder)
schema = model.metadata.get_input_schema()
example = convert_input_example_to_serving_input(rows)
cases = [{"content_type": "application/json", "body": example}]
cases += json.loads(Path(cases_path).read_text())
for case in cases:
    try:
        result = scoring_server.invocations(case["body"], case["content_type"], model, schema)
        case["status"], case["answer"] = result.status, result.response
    except MlflowException as exc:
        case["status"], case["answer"] = exc.get_http_status_code(), exc.serialize_as_json()
print(json.dumps({"pyfunc": [float(v) for v in model.predict(rows)], "cases": cases}))
