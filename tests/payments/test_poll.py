"""GET /api/v1/transactions/external/{external_id}: kiosks poll this every 3 seconds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from payments.api.serializers import SaleStatusSerializer
from payments.models import Sale, SaleStatus

pytestmark = pytest.mark.django_db


def poll(api, external_id):
    return api.get(f"/api/v1/transactions/external/{external_id}")


def test_poll_answers_the_sale_as_the_contract_shows(api, make_sale, location, price):
    sale = make_sale()

    response = poll(api, sale.external_id)

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Transaction retrieved successfully")
    assert list(body["data"]) == [
        "id",
        "external_id",
        "location_id",
        "location",
        "price_id",
        "price",
        "amount",
        "voucher",
        "status",
        "qr_string",
        "expires_at",
        "paid_at",
        "created_at",
    ]
    assert body["data"]["paid_at"] is None
    assert body["data"]["location"] == {"id": location.pk, "machine_code": location.machine_code}
    assert body["data"]["price"] == {"id": str(price.pk), "price": 40000}
    assert (body["data"]["amount"], body["data"]["voucher"]) == (40000, None)


def test_poll_after_payment_shows_completed_with_paid_at_in_jakarta_time(api, make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, paid_at=timezone.now())

    data = poll(api, sale.external_id).json()["data"]

    assert data["status"] == "COMPLETED"
    assert data["paid_at"].endswith("+07:00")
    assert "." not in data["paid_at"]


def test_poll_is_one_sql_query(api, make_sale, django_assert_num_queries):
    sale = make_sale()

    with django_assert_num_queries(1):
        assert poll(api, sale.external_id).status_code == 200


def test_poll_of_a_sale_past_its_expiry_reports_and_stores_expired(api, make_sale):
    sale = make_sale(expires_at=timezone.now() - timedelta(seconds=1))

    assert poll(api, sale.external_id).json()["data"]["status"] == "EXPIRED"
    sale.refresh_from_db()
    assert sale.status == SaleStatus.EXPIRED


def test_non_decimal_amount_is_a_json_number_not_a_string(api, make_sale):
    # Prices are whole rupiah (a database constraint); a sale's amount is shown as stored.
    sale = make_sale(amount=Decimal("12500.50"))

    assert poll(api, sale.external_id).json()["data"]["price"]["price"] == 12500.5


@pytest.mark.parametrize(
    "external_id", ["NOPE", "TRX-1-20250101000000-00000000", "a" * 300, "%00", "TRX%20x", "caf%C3%A9"]
)
def test_unknown_sale_is_404_in_the_envelope(api, make_sale, external_id):
    make_sale()

    response = poll(api, external_id)

    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "Transaction not found"
    assert set(body["details"]) == {"external_id"}


def test_unknown_sale_costs_no_query_when_the_id_cannot_exist(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert poll(api, "not a sale!").status_code == 404


def test_poll_does_not_change_a_paid_sale(api, make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, expires_at=timezone.now() - timedelta(hours=1))

    assert poll(api, sale.external_id).json()["data"]["status"] == "COMPLETED"
    assert Sale.objects.get().status == SaleStatus.COMPLETED


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"amount": Decimal("12500.50")}, id="pending"),
        pytest.param({"status": SaleStatus.COMPLETED, "paid_at": timezone.now()}, id="paid"),
        pytest.param({"expires_at": timezone.now() - timedelta(seconds=1)}, id="expired by the poll"),
        pytest.param({"status": SaleStatus.EXPIRED, "expires_at": timezone.now() - timedelta(hours=1)}, id="expired"),
    ],
)
def test_hand_written_answer_renders_as_its_documenting_serializer(api, make_sale, fields):
    """The poll writes its answer by hand for speed; the schema's serializer, run on the stored
    sale, gives the same keys in the same order and the same values: the same bytes."""
    sale = make_sale(**fields)

    response = poll(api, sale.external_id)

    stored = Sale.objects.select_related("location").get(pk=sale.pk)
    documented = SaleStatusSerializer(
        {"success": True, "message": "Transaction retrieved successfully", "data": stored}
    ).data
    assert response.content == JSONRenderer().render(documented)


def test_every_other_request_gets_the_drf_views_headers(api, make_sale):
    """A plain JSON GET is answered without DRF; its headers are what DRF's view sends (the same
    GET with an Accept that goes through DRF), for a sale and for the 404 envelope."""
    sale = make_sale()

    for external_id in (sale.external_id, "NOPE"):
        path = f"/api/v1/transactions/external/{external_id}"
        plain = api.get(path, HTTP_X_REQUEST_ID="same")
        through_drf = api.get(path, HTTP_ACCEPT="application/json; q=1", HTTP_X_REQUEST_ID="same")
        assert (plain.status_code, plain.content) == (through_drf.status_code, through_drf.content)
        assert list(plain.items()) == list(through_drf.items())
