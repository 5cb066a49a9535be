"""The database cannot be reached (PostgreSQL restarting, a failover): a wait, not an error.

The API answers 503 in its envelope with Retry-After, so kiosks retry; the customer's gallery
says, in Indonesian, to try again in a moment. The connection is really broken here: the
database's port is changed to a closed one for the length of the test.
"""

import socket

import pytest
from django.db import connection
from django.test import Client

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_down(make_sale):
    sale = make_sale()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    yield sale
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_the_poll_answers_503_with_retry_after(database_down):
    response = Client(raise_request_exception=False).get(f"/api/v1/transactions/external/{database_down.external_id}")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "success": False,
        "message": "Service temporarily unavailable",
        "details": {"retry_after": 5},
    }


def test_creating_a_sale_answers_503_with_retry_after(database_down, sale_request):
    response = Client(raise_request_exception=False).post(
        "/api/v1/transactions", sale_request, content_type="application/json"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["message"] == "Service temporarily unavailable"


def test_the_gallery_asks_the_customer_to_try_again_in_indonesian(database_down):
    response = Client(raise_request_exception=False).get(
        f"/gallery/{database_down.external_id}/{database_down.gallery_key}"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Coba lagi sebentar" in page
    assert "Server Error" not in page
