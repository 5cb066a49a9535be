"""The poll survives a database restart through Django's own CONN_HEALTH_CHECKS, as every request does."""

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def poll(api, external_id):
    # What Django's request handler does before each request (its test client skips it): a reused
    # connection is due for a health check again.
    close_old_connections()
    return api.get(f"/api/v1/transactions/external/{external_id}")


def test_poll_after_the_database_dropped_the_connection_still_answers(api, make_sale, settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    sale = make_sale()
    assert poll(api, sale.external_id).status_code == 200
    backend = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    response = poll(api, sale.external_id)

    assert response.status_code == 200
    assert response.json()["data"]["external_id"] == sale.external_id
    assert connection.connection.info.backend_pid != backend


def test_poll_on_a_reused_connection_is_checked_by_django_like_any_request(api, make_sale, monkeypatch):
    """The poll used to skip Django's check with a private flag; now a reused connection gets
    Django's one check (a `SELECT 1` Django does not count), and the poll stays one counted query."""
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
