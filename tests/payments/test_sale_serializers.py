"""The sale's output serializers against the poll's hand-built answer: one shape, one byte order."""

from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from payments import sale_status
from payments.api.serializers import SaleSerializer, SaleWithPaymentSerializer
from payments.models import Sale, SaleStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [SaleStatus.PENDING, SaleStatus.COMPLETED, SaleStatus.CANCELLED])
def test_the_polled_sale_serializer_writes_what_the_poll_writes(make_sale, status):
    sale = Sale.objects.select_related("location").get(pk=make_sale(status=status).pk)

    rendered = JSONRenderer().render(SaleWithPaymentSerializer(sale).data)

    assert rendered == JSONRenderer().render(sale_status.polled_data(sale_status.polled_sale(sale.external_id)))


def test_the_created_sale_has_no_paid_at_and_a_fractional_price_stays_fractional(make_sale):
    sale = Sale.objects.select_related("location").get(pk=make_sale(amount=Decimal("40000.50")).pk)

    data = SaleSerializer(sale).data

    assert "paid_at" not in data
    assert data["price"] == {"id": str(sale.price_id), "price": 40000.5}
    assert list(data)[-2:] == ["expires_at", "created_at"]
