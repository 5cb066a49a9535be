"""The poll survives a database restart on either connection it may read through.

In production (PostgreSQL without a pool) the poll reads through its own connection, the `poll`
alias (photobox/settings/database.py): server-side binding, so psycopg prepares its SELECT, and no
CONN_HEALTH_CHECKS, so no `SELECT 1` before it; the read retries once on a dropped connection
instead. The suite reads `default` (tests/settings.py); these tests commit their rows and switch
to the alias, whose test connection points at the same test database.
"""

import psycopg
import pytest
from django.db import close_old_connections, connection, connections
from django.test.utils import CaptureQueriesContext

from photobox.settings.database import POLL_DB_ALIAS

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True, databases=["default", POLL_DB_ALIAS])]


def poll(api, external_id):
    # What Django's request handler does before each request (its test client skips it): a reused
    # connection is due for a health check again.
    close_old_connections()
    return api.get(f"/api/v1/transactions/external/{external_id}")


def terminate(database_connection):
    """Ends the server process behind this connection, as a database restart would."""
    backend = database_connection.connection.info.backend_pid
    params = database_connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    return backend


@pytest.fixture
def poll_connection(settings):
    """The poll reads through its own connection, as in production."""
    assert settings.DATABASES[POLL_DB_ALIAS]["CONN_HEALTH_CHECKS"] is False
    assert settings.DATABASES[POLL_DB_ALIAS]["OPTIONS"]["server_side_binding"] is True
    settings.POLL_DATABASE = POLL_DB_ALIAS
    return connections[POLL_DB_ALIAS]


def test_poll_after_the_database_dropped_the_connection_still_answers(api, make_sale, settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    assert settings.POLL_DATABASE == "default"
    sale = make_sale()
    assert poll(api, sale.external_id).status_code == 200
    backend = terminate(connection)

    response = poll(api, sale.external_id)

    assert response.status_code == 200
    assert response.json()["data"]["external_id"] == sale.external_id
    assert connection.connection.info.backend_pid != backend


def test_poll_on_a_reused_connection_is_checked_by_django_like_any_request(api, make_sale, monkeypatch):
    """On `default` a reused connection gets Django's one check (a `SELECT 1` Django does not
    count), and the poll stays one counted query."""
    sale = make_sale()
    assert poll(api, sale.external_id).status_code == 200
    checks = []
    real_is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real_is_usable())

    with CaptureQueriesContext(connection) as queries:
        assert poll(api, sale.external_id).status_code == 200
    assert (checks, len(queries)) == ([1], 1)
    close_old_connections()
    assert api.get(f"/api/v1/transactions/{sale.external_id}/photos").status_code == 404
    assert checks == [1, 1]


def test_poll_on_its_own_connection_after_the_database_dropped_it_still_answers(api, make_sale, poll_connection):
    sale = make_sale()
    first = poll(api, sale.external_id)
    assert first.status_code == 200
    backend = terminate(poll_connection)

    runs = []

    def record(execute, sql, params, many, context):
        try:
            result = execute(sql, params, many, context)
        except Exception as exc:
            runs.append(type(exc).__name__)
            raise
        runs.append("ok")
        return result

    with poll_connection.execute_wrapper(record):
        response = poll(api, sale.external_id)

    assert (response.status_code, response.content) == (200, first.content)
    assert poll_connection.connection.info.backend_pid != backend
    # The SELECT met the dropped connection, and ran once more on a new one.
    assert runs == ["OperationalError", "ok"]


def test_poll_on_its_own_connection_is_one_prepared_select_and_no_health_check(
    api, make_sale, poll_connection, monkeypatch, settings
):
    """One counted query on the poll's connection, none on default, no `SELECT 1` before it; and
    after DB_PREPARE_THRESHOLD polls PostgreSQL holds the SELECT prepared."""
    sale = make_sale()
    assert poll(api, sale.external_id).status_code == 200
    checks = []
    real_is_usable = poll_connection.is_usable
    monkeypatch.setattr(poll_connection, "is_usable", lambda: checks.append(1) or real_is_usable())

    for _ in range(settings.DB_PREPARE_THRESHOLD + 1):
        with CaptureQueriesContext(poll_connection) as on_poll, CaptureQueriesContext(connection) as on_default:
            assert poll(api, sale.external_id).status_code == 200
        assert (len(on_poll), len(on_default)) == (1, 0)
    assert checks == []
    with poll_connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any("payments_transaction" in statement for statement in prepared), prepared
