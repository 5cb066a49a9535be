"""A pytest plugin for mutation runs (`-p mutation.fresh_db`): every test session starts from the
database as the migrations left it.

Each mutant's tests are one pytest session on a reused test database. A `transaction=True` test
empties every table when it ends, rows the data migrations made (the staff groups) included, and a
run cut short leaves its rows behind: the next mutant's tests would then fail for that, not for the
mutant, and count it killed. So each session empties the tables and loads the snapshot the runner
took right after migrating (PHOTOBOX_MUTATION_SNAPSHOT).

That restore costs most of a short session (flush and load, about 0.7 s), and most sessions find
the database as they left it: their tests rolled back. So the restore is skipped when every
table's rows hash as they did right after the last restore from the same snapshot.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest


def _fingerprint(connection) -> dict[str, str]:
    """Each table's rows, hashed in one statement (the tables of a test database are small)."""
    tables = sorted(connection.introspection.table_names())
    quote = connection.ops.quote_name
    # Table names come from the database itself, quoted.
    columns = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {quote(table)} t)"  # noqa: S608
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


@pytest.fixture(scope="session", autouse=True)
def _database_as_migrated(django_db_setup, django_db_blocker) -> None:
    snapshot = os.environ.get("PHOTOBOX_MUTATION_SNAPSHOT")
    if not snapshot:
        return
    from django.core.management import call_command
    from django.db import connection

    text = Path(snapshot).read_text()
    marker = Path(snapshot + ".restored")
    expected = {"snapshot": hashlib.sha256(text.encode()).hexdigest()}
    with django_db_blocker.unblock():
        restored = connection.vendor == "postgresql" and marker.exists() and json.loads(marker.read_text())
        if restored and restored == {**expected, "tables": _fingerprint(connection)}:
            return
        # Sequences are kept: they are past every id in the snapshot, so new rows never collide.
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True, reset_sequences=False)
        connection.creation.deserialize_db_from_string(text)
        if connection.vendor == "postgresql":
            marker.write_text(json.dumps({**expected, "tables": _fingerprint(connection)}))
