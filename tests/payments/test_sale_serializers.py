"""The sale's output serializers against the poll's hand-built answer: one shape, one byte order."""

from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from payments import sale_status
from payments.api.serializers import SaleCreatedSerializer, SaleSerializer, SaleWithPaymentSerializer
from payments.models import Sale, SaleStatus
from pricing.models import VoucherKind

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


@pytest.mark.parametrize(
    "voucher",
    [
        pytest.param(None, id="no voucher"),
        pytest.param({"code": "HEMAT25"}, id="10 % off"),
        pytest.param({"code": "GRATIS", "kind": VoucherKind.FREE}, id="a free session"),
    ],
)
def test_the_create_answer_written_by_hand_renders_as_its_documenting_serializer(
    api, sale_request, make_voucher, voucher
):
    """The create writes its answer by hand for speed; SaleCreatedSerializer, which documents it,
    run on the stored sale gives the same bytes: the same keys, order and values."""
    if voucher is not None:
        make_voucher(**voucher)
        sale_request = {**sale_request, "voucher_code": voucher["code"]}

    response = api.post("/api/v1/transactions", data=sale_request, content_type="application/json")

    assert response.status_code == 201
    stored = Sale.objects.select_related("location").get()
    documented = SaleCreatedSerializer({"success": True, "message": SaleCreatedSerializer.MESSAGE, "data": stored})
    assert response.content == JSONRenderer().render(documented.data)
    assert (stored.voucher_code != "") == (voucher is not None)
