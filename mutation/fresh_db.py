"""A pytest plugin for mutation runs (`-p mutation.fresh_db`): every test session starts from the
database as the migrations left it.

Each mutant's tests are one pytest session on a reused test database. A `transaction=True` test
empties every table when it ends, rows the data migrations made (the staff groups) included, and a
run cut short leaves its rows behind: the next mutant's tests would then fail for that, not for the
mutant, and count it killed. So each session empties the tables and loads the snapshot the runner
took right after migrating (PHOTOBOX_MUTATION_SNAPSHOT).

Emptying and loading cost about half a second a session, most of a killed mutant's time; most
sessions (tests in transactions rolled back) leave the database as they found it. So the content
of every table the flush empties is compared first, in one query, with what it was right after the
last load (kept next to the snapshot): the same rows in every table, and the session starts as it is.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest


def _tables(connection) -> list[str]:
    """The tables `flush` empties, in a stable order."""
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _content(connection) -> list[list]:
    """Each table's row count and a digest of all its rows: equal only when every row is."""
    quote, digest = connection.ops.quote_name, "coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
    # The table names are Django's own, quoted.
    parts = [f"SELECT %s, count(*), {digest} FROM {quote(table)} t" for table in _tables(connection)]  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), _tables(connection))
        return [list(row) for row in cursor.fetchall()]


@pytest.fixture(scope="session", autouse=True)
def _database_as_migrated(django_db_setup, django_db_blocker) -> None:
    snapshot = os.environ.get("PHOTOBOX_MUTATION_SNAPSHOT")
    if not snapshot:
        return
    from django.core.management import call_command
    from django.db import connection

    text = Path(snapshot).read_text()
    # The content as loaded, for this snapshot and this test database.
    key = hashlib.sha256(f"{connection.settings_dict['NAME']}\n{text}".encode()).hexdigest()
    loaded = Path(f"{snapshot}.loaded.json")
    with django_db_blocker.unblock():
        try:
            known = json.loads(loaded.read_text())
        except (OSError, ValueError):
            known = {}
        if known.get("key") == key and known.get("content") == _content(connection):
            return
        # Sequences are kept: they are past every id in the snapshot, so new rows never collide.
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True, reset_sequences=False)
        connection.creation.deserialize_db_from_string(text)
        loaded.write_text(json.dumps({"key": key, "content": _content(connection)}))
