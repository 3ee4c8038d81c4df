"""The run page lists a run's datasets and charts system metrics in their own section."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

import carnet
from carnet.entities import Metric

from .conftest import MakeApp, no_exceptions
from .store_data import StoreInfo


def test_run_page_lists_datasets_as_text(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    run = client.create_run(store.experiment_id)
    frame = pd.DataFrame({"<b>x</b>": [1.0, 2.0], "label": ["a", "b"]})
    people = carnet.data.from_pandas(frame, source="s3://bucket/<i>p</i>.csv", name="<b>people</b>")
    tag = carnet.entities.InputTag("mlflow.data.context", "training")
    client.log_inputs(run.info.run_id, [carnet.entities.DatasetInput(people.to_entity(), [tag])])
    client.set_terminated(run.info.run_id)
    at = app("run", run=run.info.run_id)
    no_exceptions(at)
    assert "Datasets" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "digest" in d.value.columns)
    row = table.iloc[0].to_dict()
    assert row["name"] == "<b>people</b>" and row["digest"] == people.digest
    assert row["context"] == "training"
    assert row["source"] == "s3: s3://bucket/<i>p</i>.csv"
    assert row["schema"] == "<b>x</b>: double, label: string"
    assert not at.get("html")


def test_system_metrics_have_their_own_section(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    run = client.create_run(store.experiment_id)
    points = [Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(5)]
    points += [Metric("system/cpu_utilization_percentage", 10.0 + s, 1000 + s, s) for s in range(5)]
    client.log_batch(run.info.run_id, metrics=points)
    client.set_terminated(run.info.run_id)
    at = app("run", run=run.info.run_id, run_tab="Metrics")
    no_exceptions(at)
    assert "System metrics" in [h.value for h in at.subheader]
    chosen = next(m for m in at.multiselect if m.label == "Curves")
    assert chosen.value == ["loss"] and "system/cpu_utilization_percentage" not in chosen.options
    shown = [m.value for m in at.markdown]
    assert "**system/cpu\\_utilization\\_percentage** · 5 points" in shown


def test_compare_page_groups_runs_by_the_dataset_they_used(app: MakeApp, store: StoreInfo) -> None:
    client = carnet.Client(store.uri)
    old = carnet.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="diabetes")
    new = carnet.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), name="diabetes")
    training = carnet.entities.InputTag("mlflow.data.context", "training")
    ids = []
    for i, dataset in enumerate([old, old, new, new, None]):
        run = client.create_run(store.experiment_id, run_name=f"d{i}")
        client.log_batch(run.info.run_id, metrics=[Metric("mse", 10.0 + i, 0, 0)])
        if dataset is not None:
            client.log_inputs(
                run.info.run_id, [carnet.entities.DatasetInput(dataset.to_entity(), [training])]
            )
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    chosen = {"tab": "Box plot", "box_by": "dataset", "box_metric": "metrics.mse"}
    at = app("compare", selected=",".join(ids), **chosen)
    no_exceptions(at)
    assert at.selectbox(key="w.box_by").value == "dataset"
    spec = next(json.loads(el.proto.spec) for el in at.get("vega_lite_chart"))
    assert spec["layer"][0]["encoding"]["x"]["title"] == "dataset"
    (dataset,) = [
        pa.ipc.open_stream(ds.data.data).read_pandas()
        for el in at.get("vega_lite_chart")
        for ds in el.proto.datasets
    ]
    grouped = dataset.groupby("c")["m"].apply(sorted).to_dict()
    assert grouped == {
        f"diabetes ({old.digest[:8]})": [10.0, 11.0],
        f"diabetes ({new.digest[:8]})": [12.0, 13.0],
    }  # the run without inputs has no dataset: not in a box
