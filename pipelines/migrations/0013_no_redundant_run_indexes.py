"""Drop three indexes that others cover: ingest requests wrote them on every run.

`pipelines_run(source_id)` is the leading column of `run_source_recent (source_id, id DESC)`,
`pipelines_runstat(run_id)` of the `one_stat_per_pipeline (run_id, pipeline_id)` index, and
`pipelines_idempotencykey(connector_id)` of `one_idempotency_key (connector_id, key)`.
Dropped by name instead of by Django's AlterField, which on SQLite rebuilds (copies) the whole
runs table: minutes on a large installation.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("pipelines_run_source_id_a2572877", "pipelines_run", "source_id"),
    ("pipelines_runstat_run_id_4cb670b3", "pipelines_runstat", "run_id"),
    ("pipelines_idempotencykey_connector_id_03f58892", "pipelines_idempotencykey", "connector_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0005_roles_and_audit"),
        ("pipelines", "0012_json_without_nul"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="run",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="runs",
                        to="connectors.connector",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencykey",
                    name="connector",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="connectors.connector",
                    ),
                ),
                migrations.AlterField(
                    model_name="runstat",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stats",
                        to="pipelines.run",
                    ),
                ),
            ],
        )
    ]
