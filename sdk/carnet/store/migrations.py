"""Schema creation and in-place upgrades.

Each entry of ``MIGRATIONS`` takes a store from version ``n`` to ``n + 1``.
They run inside the exclusive transaction opened by ``engine.ensure_schema``
together with the row recording the new version, so an upgrade either
happens whole or not at all, and racing processes run it once.

A migration spells out its own DDL instead of reading ``schema.py``: it must
keep doing exactly what it did when it shipped, whatever the tables look like
later. Every statement is idempotent (``IF NOT EXISTS``) so a store that a
crashed upgrade left half-way on a backend without transactional DDL is
finished rather than broken.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from carnet.errors import StoreError
from carnet.store import history
from carnet.store.sql_helpers import Cursor, statement_style

Migration = Callable[[Cursor, Dialect], None]


def create_all(cur: Cursor, dialect: Dialect, metadata: MetaData) -> None:
    """Create every table and index of the current schema (a brand-new store)."""
    for table in metadata.sorted_tables:
        cur.execute(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            cur.execute(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))


def _v1_to_v2(cur: Cursor, dialect: Dialect) -> None:
    """An index for the run table's default view, and a covering index for histories.

    The runs page lists the active runs of a few experiments, often by status;
    ``(experiment_id, lifecycle_stage, status)`` answers that and the CRASHED
    derivation from the index. A metric history read by ``(run_id, key)`` in
    step order is served entirely from ``ix_metrics_history``, which replaces
    the narrower v1 index ``ix_metrics_run_key_step``.
    """
    cur.execute(
        "CREATE INDEX IF NOT EXISTS ix_runs_experiment_status "
        "ON runs (experiment_id, lifecycle_stage, status)"
    )
    cur.execute("DROP INDEX IF EXISTS ix_metrics_run_key_step")
    cur.execute(
        "CREATE INDEX IF NOT EXISTS ix_metrics_history "
        'ON metrics (run_id, "key", step, timestamp, value)'
    )


_CHUNKS_V3 = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS metric_chunks (\n"
        "\trun_id INTEGER NOT NULL, \n"
        '\t"key" TEXT NOT NULL, \n'
        "\tseq INTEGER NOT NULL, \n"
        "\tn INTEGER NOT NULL, \n"
        "\tmin_step BIGINT NOT NULL, \n"
        "\tmax_step BIGINT NOT NULL, \n"
        "\tdata BLOB NOT NULL, \n"
        '\tPRIMARY KEY (run_id, "key", seq), \n'
        "\tFOREIGN KEY(run_id) REFERENCES runs (id)\n"
        ")"
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS metric_chunks ("
        "run_id BIGINT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, "
        "n INTEGER NOT NULL, min_step BIGINT NOT NULL, max_step BIGINT NOT NULL, "
        "data BYTEA NOT NULL, PRIMARY KEY (run_id, key, seq), "
        "FOREIGN KEY(run_id) REFERENCES runs (id))"
    ),
}


def _v2_to_v3(cur: Cursor, dialect: Dialect) -> None:
    """Histories become packed chunks plus a short tail of rows (see history.py).

    Every history of at least ``TAIL_POINTS`` points is packed whole, so
    long histories read fast from the first open. ``pack_key`` writes the
    v3 chunk format; a later format would ship its own migration.

    ``ix_tags_key_value`` goes: searches probe tags by (run_id, key), and the
    index cost every run start a page write per tag.
    """
    cur.execute("DROP INDEX IF EXISTS ix_tags_key_value")
    cur.execute(_CHUNKS_V3[dialect.name])
    sql = statement_style(dialect.name)
    cur.execute(
        sql('SELECT run_id, "key" FROM metrics GROUP BY run_id, "key" HAVING count(*) >= ?'),
        (history.TAIL_POINTS,),
    )
    for run_pk, key in cur.fetchall():
        history.pack_key(cur, sql, int(run_pk), key, ())


_INPUTS_V4 = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS datasets (\n"
        "\tid INTEGER NOT NULL, \n"
        "\texperiment_id INTEGER NOT NULL, \n"
        "\tname TEXT NOT NULL, \n"
        "\tdigest TEXT NOT NULL, \n"
        "\tsource_type TEXT NOT NULL, \n"
        "\tsource TEXT NOT NULL, \n"
        "\tschema TEXT, \n"
        "\tprofile TEXT, \n"
        "\tPRIMARY KEY (id), \n"
        "\tCONSTRAINT uq_datasets_experiment_name_digest UNIQUE (experiment_id, name, digest), \n"
        "\tFOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)\n"
        ")",
        "CREATE TABLE IF NOT EXISTS inputs (\n"
        "\trun_id INTEGER NOT NULL, \n"
        "\tdataset_id INTEGER NOT NULL, \n"
        "\tcontext TEXT, \n"
        "\ttags TEXT NOT NULL, \n"
        "\tPRIMARY KEY (run_id, dataset_id), \n"
        "\tFOREIGN KEY(run_id) REFERENCES runs (id), \n"
        "\tFOREIGN KEY(dataset_id) REFERENCES datasets (id)\n"
        ")",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS datasets ("
        "id BIGSERIAL NOT NULL, experiment_id INTEGER NOT NULL, name TEXT NOT NULL, "
        "digest TEXT NOT NULL, source_type TEXT NOT NULL, source TEXT NOT NULL, "
        "schema TEXT, profile TEXT, PRIMARY KEY (id), "
        "CONSTRAINT uq_datasets_experiment_name_digest UNIQUE (experiment_id, name, digest), "
        "FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id))",
        "CREATE TABLE IF NOT EXISTS inputs ("
        "run_id BIGINT NOT NULL, dataset_id BIGINT NOT NULL, context TEXT, "
        "tags TEXT NOT NULL, PRIMARY KEY (run_id, dataset_id), "
        "FOREIGN KEY(run_id) REFERENCES runs (id), "
        "FOREIGN KEY(dataset_id) REFERENCES datasets (id))",
    ),
}


def _v3_to_v4(cur: Cursor, dialect: Dialect) -> None:
    """Run inputs: the datasets of each experiment, and which runs used them in what context.

    Both tables are new and start empty; no existing row changes.
    """
    for statement in _INPUTS_V4[dialect.name]:
        cur.execute(statement)
    cur.execute("CREATE INDEX IF NOT EXISTS ix_inputs_dataset ON inputs (dataset_id)")


#: Start tags that older versions wrote under ``carnet.*`` (old name, new name), as they
#: shipped; spelled out here so the migration keeps meaning what it meant.
_START_TAGS_V5 = (
    ("carnet.source.command", "mlflow.source.command"),
    ("carnet.source.cwd", "mlflow.source.cwd"),
    ("carnet.source.git.dirty", "mlflow.source.git.dirty"),
    ("carnet.python", "mlflow.system.python"),
    ("carnet.platform", "mlflow.system.platform"),
    ("carnet.host", "mlflow.system.host"),
)


def _v4_to_v5(cur: Cursor, dialect: Dialect) -> None:
    """Start tags move under MLflow's system prefix: ``carnet.host`` -> ``mlflow.system.host``.

    MLflow, and code written for it, tells system tags from user tags by the
    ``mlflow.`` prefix; the ``carnet.*`` names passed for the user's own tags.
    A run that already has a tag under the new name keeps both (nothing is
    overwritten or dropped). The tables are unchanged.
    """
    _rename_tags(cur, dialect, _START_TAGS_V5)


#: Tags older versions wrote about a run's life under ``carnet.*`` (old name, new name).
_LIFE_TAGS_V6 = (
    ("carnet.error.type", "mlflow.carnet.error.type"),
    ("carnet.error.message", "mlflow.carnet.error.message"),
    ("carnet.autolog", "mlflow.autologging"),
    ("carnet.autolog.candidate", "mlflow.carnet.autolog.candidate"),
    ("carnet.autolog.best_candidate", "mlflow.carnet.autolog.best_candidate"),
    ("carnet.autolog.candidates", "mlflow.carnet.autolog.candidates"),
    ("carnet.heartbeat", "mlflow.carnet.heartbeat"),
)


def _v5_to_v6(cur: Cursor, dialect: Dialect) -> None:
    """The tags Carnet writes about a run's life move under MLflow's system prefix too:
    ``carnet.autolog`` -> MLflow's ``mlflow.autologging``, the error, grid-search candidate
    and server heartbeat tags -> ``mlflow.carnet.*``. As in v5, a run that already has
    the new name keeps both; the tables are unchanged.
    """
    _rename_tags(cur, dialect, _LIFE_TAGS_V6)


def _rename_tags(cur: Cursor, dialect: Dialect, names: tuple[tuple[str, str], ...]) -> None:
    sql = statement_style(dialect.name)
    for old, new in names:
        cur.execute(
            sql(
                'UPDATE tags SET "key" = ? WHERE "key" = ? AND NOT EXISTS '
                '(SELECT 1 FROM tags AS t WHERE t.run_id = tags.run_id AND t."key" = ?)'
            ),
            (new, old, new),
        )


#: The model registry's tables as they shipped in v7 (SQLite's text as ``create_all`` wrote it).
_REGISTRY_V7 = {
    "sqlite": (
        (
            "CREATE TABLE IF NOT EXISTS registered_models (\n"
            "\tid INTEGER NOT NULL, \n"
            "\tname TEXT NOT NULL, \n"
            "\tcreation_time BIGINT NOT NULL, \n"
            "\tlast_updated_time BIGINT NOT NULL, \n"
            "\tdescription TEXT, \n"
            "\tlast_version INTEGER NOT NULL, \n"
            "\tPRIMARY KEY (id), \n"
            "\tUNIQUE (name)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS model_versions (\n"
            "\tid INTEGER NOT NULL, \n"
            "\tregistered_model_id INTEGER NOT NULL, \n"
            "\tversion INTEGER NOT NULL, \n"
            "\tcreation_time BIGINT NOT NULL, \n"
            "\tlast_updated_time BIGINT NOT NULL, \n"
            "\tdescription TEXT, \n"
            "\tuser_id TEXT, \n"
            "\tsource TEXT NOT NULL, \n"
            "\trun_id TEXT, \n"
            "\trun_link TEXT, \n"
            "\tstatus TEXT NOT NULL, \n"
            "\tstatus_message TEXT, \n"
            "\tstorage_location TEXT, \n"
            "\tmodel_id TEXT, \n"
            "\tPRIMARY KEY (id), \n"
            "\tCONSTRAINT uq_model_versions_model_version UNIQUE (registered_model_id, version), \n"
            "\tFOREIGN KEY(registered_model_id) REFERENCES registered_models (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS registered_model_tags (\n"
            "\tregistered_model_id INTEGER NOT NULL, \n"
            '\t"key" TEXT NOT NULL, \n'
            "\tvalue TEXT NOT NULL, \n"
            '\tPRIMARY KEY (registered_model_id, "key"), \n'
            "\tFOREIGN KEY(registered_model_id) REFERENCES registered_models (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS model_version_tags (\n"
            "\tmodel_version_id INTEGER NOT NULL, \n"
            '\t"key" TEXT NOT NULL, \n'
            "\tvalue TEXT NOT NULL, \n"
            '\tPRIMARY KEY (model_version_id, "key"), \n'
            "\tFOREIGN KEY(model_version_id) REFERENCES model_versions (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS registered_model_aliases (\n"
            "\tregistered_model_id INTEGER NOT NULL, \n"
            "\talias TEXT NOT NULL, \n"
            "\tversion INTEGER NOT NULL, \n"
            "\tPRIMARY KEY (registered_model_id, alias), \n"
            "\tFOREIGN KEY(registered_model_id) REFERENCES registered_models (id)\n"
            ")"
        ),
    ),
    "postgresql": (
        (
            "CREATE TABLE IF NOT EXISTS registered_models (id BIGSERIAL NOT NULL, name TEXT "
            "NOT NULL, creation_time BIGINT NOT NULL, last_updated_time BIGINT NOT NULL, "
            "description TEXT, last_version INTEGER NOT NULL, PRIMARY KEY (id), UNIQUE "
            "(name))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS model_versions (id BIGSERIAL NOT NULL, "
            "registered_model_id BIGINT NOT NULL, version INTEGER NOT NULL, creation_time "
            "BIGINT NOT NULL, last_updated_time BIGINT NOT NULL, description TEXT, user_id "
            "TEXT, source TEXT NOT NULL, run_id TEXT, run_link TEXT, status TEXT NOT NULL, "
            "status_message TEXT, storage_location TEXT, model_id TEXT, PRIMARY KEY (id), "
            "CONSTRAINT uq_model_versions_model_version UNIQUE (registered_model_id, "
            "version), FOREIGN KEY(registered_model_id) REFERENCES registered_models (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS registered_model_tags (registered_model_id BIGINT NOT"
            " NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (registered_model_id,"
            " key), FOREIGN KEY(registered_model_id) REFERENCES registered_models (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS model_version_tags (model_version_id BIGINT NOT NULL,"
            " key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_version_id, key), "
            "FOREIGN KEY(model_version_id) REFERENCES model_versions (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS registered_model_aliases (registered_model_id BIGINT "
            "NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY "
            "(registered_model_id, alias), FOREIGN KEY(registered_model_id) REFERENCES "
            "registered_models (id))"
        ),
    ),
}


def _v6_to_v7(cur: Cursor, dialect: Dialect) -> None:
    """The model registry: registered models, their versions, tags and aliases.

    Five new tables that start empty; no existing row changes. Versions, tags
    and aliases reference a registered model by its integer id, so a rename
    rewrites one row.
    """
    for statement in _REGISTRY_V7[dialect.name]:
        cur.execute(statement)
    cur.execute("CREATE INDEX IF NOT EXISTS ix_model_versions_run_id ON model_versions (run_id)")


_LOGGED_MODELS_V8 = {
    "sqlite": (
        (
            "CREATE TABLE IF NOT EXISTS logged_models (\n"
            "\tid INTEGER NOT NULL, \n"
            "\tmodel_id TEXT NOT NULL, \n"
            "\texperiment_id INTEGER NOT NULL, \n"
            "\tname TEXT NOT NULL, \n"
            "\tartifact_location TEXT NOT NULL, \n"
            "\tcreation_timestamp BIGINT NOT NULL, \n"
            "\tlast_updated_timestamp BIGINT NOT NULL, \n"
            "\tstatus TEXT NOT NULL, \n"
            "\tstatus_message TEXT, \n"
            "\tsource_run_id TEXT, \n"
            "\tmodel_type TEXT, \n"
            "\tlifecycle_stage TEXT NOT NULL, \n"
            "\tPRIMARY KEY (id), \n"
            "\tUNIQUE (model_id), \n"
            "\tFOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_tags (\n"
            "\tmodel_id INTEGER NOT NULL, \n"
            '\t"key" TEXT NOT NULL, \n'
            "\tvalue TEXT NOT NULL, \n"
            '\tPRIMARY KEY (model_id, "key"), \n'
            "\tFOREIGN KEY(model_id) REFERENCES logged_models (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_params (\n"
            "\tmodel_id INTEGER NOT NULL, \n"
            '\t"key" TEXT NOT NULL, \n'
            "\tvalue TEXT NOT NULL, \n"
            '\tPRIMARY KEY (model_id, "key"), \n'
            "\tFOREIGN KEY(model_id) REFERENCES logged_models (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_metrics (\n"
            "\tmodel_id INTEGER NOT NULL, \n"
            '\t"key" TEXT NOT NULL, \n'
            "\tstep BIGINT NOT NULL, \n"
            "\ttimestamp BIGINT NOT NULL, \n"
            "\tvalue FLOAT, \n"
            "\tis_nan BOOLEAN NOT NULL, \n"
            "\trun_id TEXT, \n"
            "\tdataset_name TEXT, \n"
            "\tdataset_digest TEXT, \n"
            '\tPRIMARY KEY (model_id, "key", step, timestamp), \n'
            "\tFOREIGN KEY(model_id) REFERENCES logged_models (id)\n"
            ")"
        ),
        (
            "CREATE TABLE IF NOT EXISTS run_outputs (\n"
            "\trun_id INTEGER NOT NULL, \n"
            "\tmodel_id INTEGER NOT NULL, \n"
            "\tstep BIGINT NOT NULL, \n"
            "\tPRIMARY KEY (run_id, model_id), \n"
            "\tFOREIGN KEY(run_id) REFERENCES runs (id), \n"
            "\tFOREIGN KEY(model_id) REFERENCES logged_models (id)\n"
            ")"
        ),
    ),
    "postgresql": (
        (
            "CREATE TABLE IF NOT EXISTS logged_models (id BIGSERIAL NOT NULL, model_id TEXT N"
            "OT NULL, experiment_id INTEGER NOT NULL, name TEXT NOT NULL, artifact_location T"
            "EXT NOT NULL, creation_timestamp BIGINT NOT NULL, last_updated_timestamp BIGINT "
            "NOT NULL, status TEXT NOT NULL, status_message TEXT, source_run_id TEXT, model_t"
            "ype TEXT, lifecycle_stage TEXT NOT NULL, PRIMARY KEY (id), UNIQUE (model_id), FO"
            "REIGN KEY(experiment_id) REFERENCES experiments (experiment_id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_tags (model_id BIGINT NOT NULL, key TEXT"
            " NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key), FOREIGN KEY(model_i"
            "d) REFERENCES logged_models (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_params (model_id BIGINT NOT NULL, key TE"
            "XT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key), FOREIGN KEY(model"
            "_id) REFERENCES logged_models (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS logged_model_metrics (model_id BIGINT NOT NULL, key T"
            "EXT NOT NULL, step BIGINT NOT NULL, timestamp BIGINT NOT NULL, value FLOAT, is_n"
            "an BOOLEAN NOT NULL, run_id TEXT, dataset_name TEXT, dataset_digest TEXT, PRIMAR"
            "Y KEY (model_id, key, step, timestamp), FOREIGN KEY(model_id) REFERENCES logged_"
            "models (id))"
        ),
        (
            "CREATE TABLE IF NOT EXISTS run_outputs (run_id BIGINT NOT NULL, model_id BIGINT "
            "NOT NULL, step BIGINT NOT NULL, PRIMARY KEY (run_id, model_id), FOREIGN KEY(run_"
            "id) REFERENCES runs (id), FOREIGN KEY(model_id) REFERENCES logged_models (id))"
        ),
    ),
}


#: The run tag where models logged before v8 are recorded, as it shipped (MLflow's name).
_MODEL_HISTORY_TAG_V8 = "mlflow.log-model.history"


def _v7_to_v8(cur: Cursor, dialect: Dialect) -> None:
    """Logged models (MLflow 3): their own tables, and the models already logged filled in.

    Before v8 a logged model was only an entry of its run's
    ``mlflow.log-model.history`` tag; each entry with a model id becomes a READY
    model of the run's experiment whose files are the run's artifact folder
    ``<artifact_path>``, with the run's params and a run output at step 0 (as
    MLflow 3 records them). Entries without an id, or with a path that leaves
    the run's folder, are left alone. Rows already present are kept.
    """
    import json
    import re
    from datetime import UTC, datetime
    from pathlib import PurePosixPath

    for statement in _LOGGED_MODELS_V8[dialect.name]:
        cur.execute(statement)
    for index in (
        "ix_logged_models_experiment_created ON logged_models (experiment_id, creation_timestamp)",
        "ix_logged_models_source_run ON logged_models (source_run_id)",
        "ix_run_outputs_model ON run_outputs (model_id)",
    ):
        cur.execute(f"CREATE INDEX IF NOT EXISTS {index}")
    sql = statement_style(dialect.name)
    cur.execute(
        sql(
            "SELECT r.id, r.run_uuid, r.experiment_id, r.artifact_uri, r.start_time, t.value "
            'FROM tags t JOIN runs r ON r.id = t.run_id WHERE t."key" = ? ORDER BY r.id'
        ),
        (_MODEL_HISTORY_TAG_V8,),
    )
    for run_pk, run_uuid, experiment_pk, artifact_uri, start_time, text in cur.fetchall():
        try:
            history = json.loads(text)
        except ValueError:
            continue
        for entry in history if isinstance(history, list) else []:
            model_id = entry.get("model_id") if isinstance(entry, dict) else None
            path = entry.get("artifact_path") if isinstance(entry, dict) else None
            if not isinstance(model_id, str) or not re.fullmatch(r"m-[0-9a-f]{32}", model_id):
                continue
            parts = PurePosixPath(path).parts if isinstance(path, str) else ()
            if not parts or parts[0] == "/" or ".." in parts:
                continue
            created = start_time
            try:
                moment = datetime.strptime(str(entry.get("utc_time_created")),
                                           "%Y-%m-%d %H:%M:%S.%f")  # fmt: skip
                created = int(moment.replace(tzinfo=UTC).timestamp() * 1000)
            except ValueError:
                pass
            cur.execute(
                sql(
                    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location,"
                    " creation_timestamp, last_updated_timestamp, status, source_run_id,"
                    " lifecycle_stage) VALUES (?, ?, ?, ?, ?, ?, 'READY', ?, 'active')"
                    " ON CONFLICT (model_id) DO NOTHING RETURNING id"
                ),
                (model_id, experiment_pk, "/".join(parts),
                 f"{artifact_uri.rstrip('/')}/{'/'.join(parts)}", created, created, run_uuid),
            )  # fmt: skip
            row = cur.fetchone()
            if row is None:
                continue
            cur.execute(
                sql(
                    'INSERT INTO logged_model_params (model_id, "key", value) '
                    'SELECT ?, "key", value FROM params WHERE run_id = ?'
                ),
                (int(row[0]), run_pk),
            )
            cur.execute(
                sql("INSERT INTO run_outputs (run_id, model_id, step) VALUES (?, ?, 0)"),
                (run_pk, int(row[0])),
            )


def _v8_to_v9(cur: Cursor, dialect: Dialect) -> None:
    """Environment records: what runs need to be run again, once per distinct content.

    Runs recorded before v9 keep their ``carnet/environment.json`` artifact, which
    ``carnet reproduce`` still reads; nothing is moved.
    """
    blob = "BYTEA" if dialect.name == "postgresql" else "BLOB"
    cur.execute(
        "CREATE TABLE IF NOT EXISTS environment_records (\n"
        "\tdigest TEXT NOT NULL, \n"
        f"\trecord {blob} NOT NULL, \n"
        f"\tpatch {blob}, \n"
        "\tcreated BIGINT NOT NULL, \n"
        "\tPRIMARY KEY (digest)\n"
        ")"
    )


#: MIGRATIONS[n] upgrades a store at version n + 1 to version n + 2.
MIGRATIONS: list[Migration] = [
    _v1_to_v2,
    _v2_to_v3,
    _v3_to_v4,
    _v4_to_v5,
    _v5_to_v6,
    _v6_to_v7,
    _v7_to_v8,
    _v8_to_v9,
]


def upgrade(cur: Cursor, dialect: Dialect, found: int) -> None:
    """Run every migration after ``found`` in order."""
    if found < 1 or found - 1 > len(MIGRATIONS):
        raise StoreError(f"unknown schema version {found}; this store was not made by Carnet.")
    for migration in MIGRATIONS[found - 1 :]:
        migration(cur, dialect)
