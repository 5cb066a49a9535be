"""The database cache table (CACHES' DatabaseCache, used when REDIS_URL is not set): the rate
limits count there, shared by every worker and instance. Made here so `migrate` is all a deploy
needs (the same table `manage.py createcachetable` would make)."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "photobox_cache"


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("locations", "0002_kiosk_keys")]

    operations = [migrations.RunPython(create_table, drop_table)]
