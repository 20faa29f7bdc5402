from django.conf import settings
from django.db import migrations

TABLE = settings.SHARED_CACHE_TABLE


def create(apps, schema_editor):
    """The table of the database cache that holds rate limits shared by every worker
    (``CACHES["shared"]`` without Redis). Made here, whatever the cache settings, so a
    deployment can drop Redis later without a separate command."""
    from django.core.management.commands.createcachetable import Command

    cmd = Command()
    cmd.verbosity = 0
    cmd.create_table(schema_editor.connection.alias, TABLE, False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_audit_keyed_chain")]

    operations = [migrations.RunPython(create, drop)]
