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


#: MIGRATIONS[n] upgrades a store at version n + 1 to version n + 2.
MIGRATIONS: list[Migration] = [_v1_to_v2, _v2_to_v3, _v3_to_v4, _v4_to_v5, _v5_to_v6]


def upgrade(cur: Cursor, dialect: Dialect, found: int) -> None:
    """Run every migration after ``found`` in order."""
    if found < 1 or found - 1 > len(MIGRATIONS):
        raise StoreError(f"unknown schema version {found}; this store was not made by Carnet.")
    for migration in MIGRATIONS[found - 1 :]:
        migration(cur, dialect)
