"""Run inputs: the datasets a run used, as MLflow's ``log_inputs`` records them.

A dataset is kept once per experiment, name and digest (``datasets``); each
run links to the datasets it used (``inputs``) with the input's tags as JSON
and the ``mlflow.data.context`` tag's value in its own column, so the
``datasets.context`` filter reads a column rather than parsing JSON.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from carnet.entities import Dataset, DatasetInput, InputTag, Run, RunInputs
from carnet.store.engine import read_cursor, write_transaction
from carnet.store.run_reads import RunReads
from carnet.store.sql_helpers import CHUNK, Cursor, placeholders

#: The input tag MLflow uses for the role of a dataset in a run (training, eval, ...).
CONTEXT_TAG = "mlflow.data.context"


class RunInputStore(RunReads):
    """``log_inputs`` and the inputs part of ``get_run``."""

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        """Record datasets as inputs of a RUNNING run, in one transaction.

        A dataset already known to the experiment (same name and digest) is
        reused; a dataset the run already has as an input is left as it was,
        as MLflow does.
        """
        self.check_writable()
        if not datasets:
            return
        with write_transaction(self.engine) as cur:
            pk = self._active_run_pk(cur, run_id)
            cur.execute(self._sql("SELECT experiment_id FROM runs WHERE id = ?"), (pk,))
            experiment_pk = int(cur.fetchone()[0])
            for item in datasets:
                dataset_pk = self._dataset_pk(cur, experiment_pk, item.dataset)
                tags = {t.key: t.value for t in item.tags}
                cur.execute(
                    self._sql(
                        "INSERT INTO inputs (run_id, dataset_id, context, tags) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (run_id, dataset_id) DO NOTHING"
                    ),
                    (pk, dataset_pk, tags.get(CONTEXT_TAG), json.dumps(tags, sort_keys=True)),
                )

    def _dataset_pk(self, cur: Cursor, experiment_pk: int, dataset: Dataset) -> int:
        """The id of the experiment's dataset with this name and digest, made if new."""
        cur.execute(
            self._sql(
                "INSERT INTO datasets (experiment_id, name, digest, source_type, source, schema,"
                " profile) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (experiment_id, name, digest) DO NOTHING"
            ),
            (
                experiment_pk,
                dataset.name,
                dataset.digest,
                dataset.source_type,
                dataset.source,
                dataset.schema,
                dataset.profile,
            ),
        )
        cur.execute(
            self._sql(
                "SELECT id FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?"
            ),
            (experiment_pk, dataset.name, dataset.digest),
        )
        return int(cur.fetchone()[0])

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags, metrics, summaries and its dataset inputs."""
        run = super().get_run(run_id)
        inputs = self.run_inputs(run_id)
        return dataclasses.replace(run, inputs=inputs) if inputs.dataset_inputs else run

    def run_inputs(self, run_id: str) -> RunInputs:
        """The datasets a run used, in the order they were first logged."""
        return self.inputs_of([run_id]).get(run_id, RunInputs())

    def inputs_of(self, run_ids: Sequence[str]) -> dict[str, RunInputs]:
        """The dataset inputs of many runs in a few queries (a chart grouping runs by
        dataset reads thousands); runs without inputs, or unknown, are left out."""
        found: dict[str, list[DatasetInput]] = {}
        ids = list(dict.fromkeys(run_ids))
        with read_cursor(self.engine) as cur:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                marks = placeholders(len(chunk))
                cur.execute(
                    self._sql(
                        "SELECT r.run_uuid, d.name, d.digest, d.source_type, d.source, d.schema,"
                        " d.profile, i.tags FROM inputs i JOIN datasets d ON d.id = i.dataset_id"
                        f" JOIN runs r ON r.id = i.run_id WHERE r.run_uuid IN ({marks})"
                        " ORDER BY r.id, d.id"
                    ),
                    chunk,
                )
                for row in cur.fetchall():
                    found.setdefault(row[0], []).append(
                        DatasetInput(
                            dataset=Dataset(*row[1:7]),
                            tags=[InputTag(k, v) for k, v in sorted(json.loads(row[7]).items())],
                        )
                    )
        return {run_id: RunInputs(dataset_inputs=items) for run_id, items in found.items()}
