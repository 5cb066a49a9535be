"""The poll checks its database connection with its own query, not an extra `SELECT 1`."""

import psycopg
import pytest
from django.db import close_old_connections, connection

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


def test_poll_on_a_reused_connection_skips_djangos_select_1(api, make_sale, monkeypatch):
    sale = make_sale()
    assert poll(api, sale.external_id).status_code == 200
    checks = []
    real_is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real_is_usable())

    assert poll(api, sale.external_id).status_code == 200
    assert checks == []
    # Other requests keep Django's check before their first query.
    close_old_connections()
    assert api.get(f"/api/v1/transactions/{sale.external_id}/photos").status_code == 404
    assert checks == [1]
