"""A pytest plugin for mutation runs (`-p mutation.fresh_db`): every test session starts from the
database as the migrations left it.

Each mutant's tests are one pytest session on a reused test database. A `transaction=True` test
empties every table when it ends, rows the data migrations made (the staff groups) included, and a
run cut short leaves its rows behind: the next mutant's tests would then fail for that, not for the
mutant, and count it killed. So each session empties the tables and loads the snapshot the runner
took right after migrating (PHOTOBOX_MUTATION_SNAPSHOT).
"""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _database_as_migrated(django_db_setup, django_db_blocker) -> None:
    snapshot = os.environ.get("PHOTOBOX_MUTATION_SNAPSHOT")
    if not snapshot:
        return
    from django.core.management import call_command
    from django.db import connection

    with django_db_blocker.unblock():
        # Sequences are kept: they are past every id in the snapshot, so new rows never collide.
        call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True, reset_sequences=False)
        connection.creation.deserialize_db_from_string(Path(snapshot).read_text())
