"""PostgreSQL-only indexes for prefix filters on ``division_code``.

The ORM's ``division_code__startswith`` is ``LIKE '510107%'``; PostgreSQL uses a btree for
that only under the "C" collation or with ``varchar_pattern_ops`` (a database created with
C.UTF-8 or zh_CN.UTF-8 falls back to a sequential scan: 250 ms per county list page at
500,000 institutions, 0.2 ms with these). The model's own indexes stay for equality and
ordering; these add the pattern-ops twins. No effect on the model state or on SQLite."""

from django.db import migrations

INDEXES = [
    (
        "inst_divpat_cat_status_idx",
        "CREATE INDEX IF NOT EXISTS inst_divpat_cat_status_idx ON registry_institution "
        "(division_code varchar_pattern_ops, category, status, id)",
    ),
    (
        "inst_white_divpat_idx",
        "CREATE INDEX IF NOT EXISTS inst_white_divpat_idx ON registry_institution "
        "(division_code varchar_pattern_ops, id) WHERE whitelisted",
    ),
    (
        "site_divpat_idx",
        "CREATE INDEX IF NOT EXISTS site_divpat_idx ON registry_site (division_code varchar_pattern_ops)",
    ),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, sql in INDEXES:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
