"""Sale creation is the kiosk's busiest write: with a quota, an Idempotency-Key and a kiosk key it
takes at most six SQL statements, whatever the number of sales the price already has."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from locations.services import issue_kiosk_key
from payments.models import Sale, SaleStatus

# Committed for real, as in production: no test transaction turning each transaction into a SAVEPOINT.
pytestmark = pytest.mark.django_db(transaction=True)

CREATE_STATEMENTS = 6


@pytest.fixture
def kiosk(location) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_kiosk_key(location=location, label='tablet')[1]}"}


@pytest.mark.postgresql  # the one-statement start is PostgreSQL's; SQLite takes the transaction path
def test_a_sale_with_a_quota_a_key_and_an_idempotency_key_takes_six_statements(
    api, sale_request, price, make_sale, kiosk, settings
):
    # Rate limits counted in a cache that is not the database, as with REDIS_URL (tests/settings.py).
    assert not settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    assert settings.RATE_LIMIT_SALE_CREATE is not None
    price.quota = 1000
    price.save()
    for status in (SaleStatus.PENDING, SaleStatus.COMPLETED, SaleStatus.EXPIRED):
        make_sale(status=status)
    # The key's first use in a minute also records when it was used: the steady state is measured.
    api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="first", **kiosk)

    with CaptureQueriesContext(connection) as statements:
        response = api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="second", **kiosk)

    assert response.status_code == 201
    listed = "\n".join(f"{n}. {query['sql']}" for n, query in enumerate(statements.captured_queries, 1))
    assert len(statements) <= CREATE_STATEMENTS, f"{len(statements)} statements:\n{listed}"
    assert Sale.objects.filter(price=price).count() == 5
