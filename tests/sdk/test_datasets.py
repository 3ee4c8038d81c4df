"""Datasets as run inputs: MLflow's fields and digests, storage on both backends, filters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sa_text

import carnet
from carnet.entities import Dataset, DatasetInput, InputTag
from carnet.errors import InvalidValueError, RunNotActiveError
from carnet.store.engine import dispose_engines

REPO = Path(__file__).resolve().parents[2]

#: Built the same way in both interpreters; only sources that do not name the script.
DIFFERENTIAL = """
import json, sys
import numpy as np, pandas as pd
data = __import__(sys.argv[1]).data
df = pd.DataFrame({"name": ["tom", "nick", "july"], "age": [10, 15, 14],
                   "score": [0.5, 1.5, float("nan")], "small": np.array([1, 2, 3], dtype="int32"),
                   "flag": [True, False, True], "mixed": ["a", 1, None]})
big = pd.DataFrame({"x": np.arange(25000) * 0.5, "y": np.arange(25000) % 7})
x, y = np.arange(24.0).reshape(8, 3), np.arange(8) % 2
sets = [
    data.from_pandas(df, source="/data/people.csv", name="people", targets="age"),
    data.from_pandas(big, source="https://example.com/big.parquet"),
    data.from_numpy(x, targets=y, source="s3://bucket/xy.npz"),
    data.from_numpy({"b": x, "a": y}, source="/data/d.npz", name="dict"),
]
print(json.dumps([d.to_dict() for d in sets]))
"""

PEOPLE = pd.DataFrame(
    {
        "name": ["tom", "nick", "july"],
        "age": [10, 15, 14],
        "score": [0.5, 1.5, 2.5],
        "small": np.array([1, 2, 3], dtype="int32"),
        "flag": [True, False, True],
    }
)


def test_pandas_dataset_has_mlflow_fields() -> None:
    d = carnet.data.from_pandas(PEOPLE, source="/data/people.csv", name="people", targets="age")
    fields = d.to_dict()
    assert fields["name"] == "people" and len(d.digest) == 8
    assert fields["source_type"] == "local"
    assert json.loads(str(fields["source"])) == {"uri": "/data/people.csv"}
    schema = json.loads(str(fields["schema"]))["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in schema] == [
        ("name", "string"),
        ("age", "long"),
        ("score", "double"),
        ("small", "integer"),
        ("flag", "boolean"),
    ]
    assert json.loads(str(fields["profile"])) == {"num_rows": 3, "num_elements": 15}


def test_digest_follows_the_data() -> None:
    a = carnet.data.from_pandas(PEOPLE).digest
    assert carnet.data.from_pandas(PEOPLE.copy()).digest == a
    changed = PEOPLE.copy()
    changed.loc[0, "score"] = 9.0
    assert carnet.data.from_pandas(changed).digest != a
    x = np.arange(12.0).reshape(4, 3)
    assert carnet.data.from_numpy(x).digest != carnet.data.from_numpy(x.reshape(3, 4)).digest
    assert carnet.data.from_numpy(x, digest="given").digest == "given"


def test_numpy_dataset_fields_and_code_source() -> None:
    x, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1])
    d = carnet.data.from_numpy(x, targets=y, source="https://example.com/d.npz")
    assert d.name == "dataset" and d.source_type == "http"
    profile = json.loads(str(d.to_dict()["profile"]))
    assert profile["features_shape"] == [4, 3] and profile["targets_size"] == 4
    code = carnet.data.from_numpy({"a": x})
    assert code.source_type == "code" and "mlflow.source.name" in json.loads(code.source)["tags"]


def test_bad_data_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidValueError, match="from_numpy"):
        carnet.data.from_pandas(np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="not a column"):
        carnet.data.from_pandas(PEOPLE, targets="missing")
    with pytest.raises(InvalidValueError, match=r"numpy\.asarray"):
        carnet.data.from_numpy([1, 2, 3])


def test_log_input_is_stored_and_read_back(tracking: str, client: carnet.Client) -> None:
    people = carnet.data.from_pandas(PEOPLE, source="s3://bucket/people.parquet", name="people")
    with carnet.start_run() as run:
        carnet.log_input(people, context="training", tags={"split": "a"})
        carnet.log_input(people, context="training")  # the same input again: no change
        carnet.log_input(carnet.data.from_numpy(np.ones((2, 2)), name="ones"), context="eval")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["people", "ones"]
    first = inputs[0]
    assert first.dataset == people.to_entity()
    assert dict(first.tags) == {"mlflow.data.context": "training", "split": "a"}
    assert dict(inputs[1].tags) == {"mlflow.data.context": "eval"}
    # A second run reuses the experiment's dataset row; a run without inputs has none.
    with carnet.start_run() as other:
        carnet.log_input(people, context="eval")
    assert client.get_run(other.info.run_id).inputs.dataset_inputs[0].dataset.name == "people"
    with carnet.start_run() as bare:
        pass
    assert client.get_run(bare.info.run_id).inputs.dataset_inputs == []


def test_inputs_of_reads_many_runs_at_once(tracking: str, client: carnet.Client) -> None:
    people = carnet.data.from_pandas(PEOPLE, source="s3://bucket/people.parquet", name="people")
    ones = carnet.data.from_numpy(np.ones((2, 2)), name="ones")
    ids = []
    for used in ([people], [people, ones], []):
        with carnet.start_run() as run:
            for dataset in used:
                carnet.log_input(dataset, context="training")
        ids.append(run.info.run_id)
    found = client.inputs_of([*ids, ids[0], "0" * 32])
    assert set(found) == set(ids[:2])  # no inputs, or no such run: left out
    for run_id in ids[:2]:
        assert found[run_id] == client.get_run(run_id).inputs
    assert [i.dataset.name for i in found[ids[1]].dataset_inputs] == ["people", "ones"]
    assert client.inputs_of([]) == {}


def test_client_log_inputs_checks_everything_first(tracking: str, client: carnet.Client) -> None:
    good = DatasetInput(Dataset("d", "abcd1234", "local", '{"uri": "x"}'), [InputTag("k", "v")])
    bad = DatasetInput(Dataset("", "abcd1234", "local", '{"uri": "x"}'))
    with carnet.start_run() as run:
        with pytest.raises(InvalidValueError, match="name must be non-empty"):
            client.log_inputs(run.info.run_id, [good, bad])
        with pytest.raises(InvalidValueError, match="DatasetInput"):
            client.log_inputs(run.info.run_id, [good.dataset])  # type: ignore[list-item]
        assert client.get_run(run.info.run_id).inputs.dataset_inputs == []
        client.log_inputs(run.info.run_id, [good])
    assert client.get_run(run.info.run_id).inputs.dataset_inputs == [good]
    client.log_inputs(run.info.run_id, [good])  # ended: taken, and already there
    assert client.get_run(run.info.run_id).inputs.dataset_inputs == [good]
    client.delete_run(run.info.run_id)
    with pytest.raises(RunNotActiveError):
        client.log_inputs(run.info.run_id, [good])


def test_fields_and_digests_match_mlflow(tmp_path: Path) -> None:
    python = os.environ.get("CARNET_MLFLOW_PYTHON") or str(REPO / ".venv-mlflow/bin/python")
    if not Path(python).is_file():
        pytest.skip("no Python with MLflow: set CARNET_MLFLOW_PYTHON or create .venv-mlflow")
    script = tmp_path / "datasets.py"
    script.write_text(DIFFERENTIAL)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(interpreter: str, package: str) -> list[dict[str, str]]:
        out = subprocess.run(
            [interpreter, str(script), package],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
            cwd=tmp_path,
            env=env,
        )
        return list(json.loads(out.stdout.strip().splitlines()[-1]))

    theirs = run(python, "mlflow")
    ours = run(sys.executable, "carnet")
    assert [d["digest"] for d in ours] == [d["digest"] for d in theirs]
    assert ours == theirs


def test_dataset_filters(tracking: str, client: carnet.Client) -> None:
    people = carnet.data.from_pandas(PEOPLE, source="/data/people.csv", name="people")
    other = carnet.data.from_numpy(np.ones((3, 2)), source="/data/ones.npz", name="ones")
    with carnet.start_run(run_name="train"):
        carnet.log_input(people, context="training")
    with carnet.start_run(run_name="both"):
        carnet.log_input(people, context="training")
        carnet.log_input(other, context="eval")
    with carnet.start_run(run_name="none"):
        pass

    def names(query: str) -> set[str]:
        return {r.info.run_name for r in client.search_runs(["0"], query)}

    assert names("datasets.name = 'people'") == {"train", "both"}
    assert names("datasets.name = 'ones'") == {"both"}
    assert names(f"datasets.digest = '{other.digest}'") == {"both"}
    assert names("datasets.context = 'eval'") == {"both"}
    assert names("datasets.context IN ('eval', 'test')") == {"both"}
    assert names("datasets.name != 'people'") == {"both"}  # some input is not 'people'
    assert names("datasets.name NOT IN ('people', 'ones')") == set()
    assert names("datasets.name = 'people' AND datasets.context = 'training'") == {
        "train",
        "both",
    }
    assert names("NOT datasets.name = 'ones'") == {"train", "none"}
    assert names("dataset.`name` = 'x' OR attributes.run_name = 'none'") == {"none"}
    assert names("datasets.name = 'it''s'") == set()  # a quote is a value, never SQL


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("datasets.size = 'x'", "unknown dataset field 'size'"),
        ("datasets.name LIKE 'p%'", "LIKE does not apply to datasets.name"),
        ("datasets.name = 3", "compare with quoted text"),
        ("datasets.name IS NULL", "IS NULL does not apply"),
    ],
)
def test_bad_dataset_filters_say_what_to_write(
    tracking: str, client: carnet.Client, query: str, message: str
) -> None:
    with pytest.raises(carnet.FilterError, match=message):
        client.search_runs(["0"], query)
    with pytest.raises(carnet.FilterError, match="runs cannot sort by datasets"):
        client.search_runs(["0"], order_by=["datasets.name"])


def test_a_store_from_before_datasets_is_upgraded_without_loss(
    any_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARNET_TRACKING_URI", any_uri)
    client = carnet.Client(any_uri)
    exp = client.create_experiment("before-datasets")
    run = client.create_run(exp, tags={"team": "a"})
    client.log_batch(
        run.info.run_id,
        metrics=[("loss", 0.5, 1000, 0), ("loss", 0.25, 1001, 1)],
        params=[("alpha", "0.1")],
    )
    before = client.get_run(run.info.run_id)
    # Make it a version 3 store: no inputs or datasets tables, and version 3 recorded.
    dispose_engines()
    engine = create_engine(any_uri)
    with engine.begin() as conn:
        conn.execute(sa_text("DROP TABLE inputs"))
        conn.execute(sa_text("DROP TABLE datasets"))
        conn.execute(sa_text("DELETE FROM carnet_schema"))
        conn.execute(sa_text("INSERT INTO carnet_schema (version, migrated_at) VALUES (3, 0)"))
    engine.dispose()
    reopened = carnet.Client(any_uri)
    after = reopened.get_run(run.info.run_id)
    assert after.data == before.data and after.info == before.info
    assert [m.value for m in reopened.get_metric_history(run.info.run_id, "loss")] == [0.5, 0.25]
    dataset = carnet.data.from_pandas(PEOPLE, name="people")
    reopened.log_inputs(run.info.run_id, [DatasetInput(dataset.to_entity())])
    assert reopened.get_run(run.info.run_id).inputs.dataset_inputs[0].dataset.name == "people"
    found = reopened.search_runs([exp], "datasets.name = 'people'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
