"""Prices: a quota of 0 is sold out, and whole rupiah is enforced by the database too."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from payments.models import Sale
from pricing.models import Price

pytestmark = pytest.mark.django_db


def test_a_quota_of_zero_is_sold_out_not_unlimited(api, make_price, sale_request):
    sold_out = make_price(75000, description="Sold out package", quota=0)

    response = api.post(
        "/api/v1/transactions",
        data=json.dumps({**sale_request, "price_id": str(sold_out.pk)}),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "message": "Price quota exceeded",
        "details": {"price_id": str(sold_out.pk), "quota": 0, "used": 0},
    }
    assert not Sale.objects.exists()


def test_the_database_refuses_a_price_with_cents_made_outside_the_admin(price):
    with pytest.raises(IntegrityError, match="price_amount_whole_rupiah"), transaction.atomic():
        Price.objects.create(amount=Decimal("40000.50"), description="4 photo strips")
    with pytest.raises(IntegrityError, match="price_amount_whole_rupiah"), transaction.atomic():
        Price.objects.filter(pk=price.pk).update(amount=Decimal("40000.01"))

    price.refresh_from_db()
    assert price.amount == Decimal("40000")
    assert Price.objects.count() == 1
    assert Price.objects.create(amount=Decimal("40000.00"), description="whole").amount == Decimal("40000")


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_stored_prices_with_cents_instead_of_failing_obscurely():
    call_command("migrate", "pricing", "0001", verbosity=0)
    try:
        with connection.cursor() as cursor:  # as an older database could hold it
            cursor.execute(
                "INSERT INTO pricing_price (id, amount, description, is_active, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                ["0" * 32, Decimal("40000.50"), "Odd package", True, timezone.now(), timezone.now()],
            )

        with pytest.raises(RuntimeError, match=r"1 price\(s\) have cents") as refused:
            call_command("migrate", "pricing", verbosity=0)

        assert "Rp 40000.50  'Odd package'" in str(refused.value)
        assert "Set each to a whole amount" in str(refused.value)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM pricing_price")
        # Every app: going back to pricing 0001 also unapplied the later migrations that depend on it.
        call_command("migrate", verbosity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Price.objects.create(amount=Decimal("40000.50"))


def test_the_quota_counts_sales_by_their_payments_status_names():
    """pricing names the two statuses the quota counts itself (it sits below payments)."""
    from payments.models import SaleStatus
    from pricing.selectors import AWAITING_PAYMENT, SOLD

    assert (SOLD, AWAITING_PAYMENT) == (SaleStatus.COMPLETED, SaleStatus.PENDING)
