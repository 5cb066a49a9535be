"""POST /api/v1/transactions: a kiosk sells a session and gets a QRIS code to show."""

import json
import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from payments.models import IdempotencyKey, Sale, SaleStatus
from tests.support.api import error_of
from tests.support.qris_reading import is_valid_crc, parse_tlv

URL = "/api/v1/transactions"
pytestmark = pytest.mark.django_db


def create(api, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.post(URL, data=data, content_type="application/json", **headers)


def test_created_sale_answers_exactly_as_the_contract_shows(api, sale_request, location, price):
    response = create(api, sale_request)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["success", "message", "data"]
    assert body["success"] is True
    assert body["message"] == "Transaction created successfully"
    data = body["data"]
    assert list(data) == [
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
        "created_at",
    ]
    sale = Sale.objects.get()
    assert data["id"] == sale.pk
    assert data["location_id"] == location.pk
    assert data["location"] == {"id": location.pk, "machine_code": "PB-001"}
    assert data["price_id"] == str(price.pk)
    assert data["price"] == {"id": str(price.pk), "price": 40000}
    assert (data["amount"], data["voucher"]) == (40000, None)
    assert data["status"] == "PENDING"
    assert data["qr_string"] == sale.qr_string
    # Compact UTF-8 JSON, as the earlier kiosks parse it.
    assert b'"price":40000},"amount":40000,"voucher":null,' in response.content


def test_external_id_carries_location_jakarta_time_and_random_hex(api, sale_request, location):
    data = create(api, sale_request).json()["data"]

    match = re.fullmatch(rf"TRX-{location.pk}-(\d{{14}})-([0-9A-F]{{8}})", data["external_id"])
    assert match, data["external_id"]
    created = datetime.fromisoformat(data["created_at"])
    assert match.group(1) == created.strftime("%Y%m%d%H%M%S")
    assert data["created_at"].endswith("+07:00")


def test_qr_expires_fifteen_minutes_after_creation(api, sale_request):
    data = create(api, sale_request).json()["data"]

    created, expires = datetime.fromisoformat(data["created_at"]), datetime.fromisoformat(data["expires_at"])
    assert expires - created == timedelta(minutes=15)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", data["expires_at"])


def test_sale_keeps_the_price_amount_even_if_the_price_changes_later(api, sale_request, price):
    create(api, sale_request)
    price.amount = 99000
    price.save()

    assert Sale.objects.get().amount == 40000


def test_qr_string_is_a_valid_qris_for_the_sale_amount(api, sale_request):
    qr = create(api, sale_request).json()["data"]["qr_string"]

    assert is_valid_crc(qr)
    assert parse_tlv(qr)["54"] == "40000"


def test_email_domain_is_lowercased_and_send_invoice_defaults_to_false(api, sale_request):
    del sale_request["send_invoice"]
    sale_request["email"] = "  Budi.Santoso@Example.CO.ID "

    assert create(api, sale_request).status_code == 201
    sale = Sale.objects.get()
    assert sale.email == "Budi.Santoso@example.co.id"
    assert sale.send_invoice is False


def test_unknown_keys_are_ignored(api, sale_request):
    assert create(api, {**sale_request, "kiosk_version": "2.1"}).status_code == 201


# --- Errors, in the order the contract checks them ----------------------------------------


def test_unknown_location_is_404(api, sale_request):
    response = create(api, {**sale_request, "location_id": 999})
    assert error_of(response) == (404, "Location not found", {"location_id": 999})


def test_inactive_location_is_422(api, sale_request, location):
    location.is_active = False
    location.save()

    assert error_of(create(api, sale_request)) == (422, "Location is not active", {"location_id": location.pk})


def test_location_is_checked_before_price(api, sale_request):
    response = create(api, {**sale_request, "location_id": 999, "price_id": str(uuid.uuid4())})
    assert error_of(response)[1] == "Location not found"


def test_unknown_price_is_404(api, sale_request):
    price_id = str(uuid.uuid4())
    assert error_of(create(api, {**sale_request, "price_id": price_id})) == (
        404,
        "Price not found",
        {"price_id": price_id},
    )


def test_inactive_price_is_400(api, sale_request, price):
    price.is_active = False
    price.save()

    assert error_of(create(api, sale_request)) == (400, "Price is inactive", {"price_id": str(price.pk)})


def test_used_up_quota_is_422_with_quota_and_used(api, sale_request, price, make_sale):
    price.quota = 2
    price.save()
    make_sale(status=SaleStatus.COMPLETED)
    make_sale(status=SaleStatus.PENDING)

    assert error_of(create(api, sale_request)) == (
        422,
        "Price quota exceeded",
        {"price_id": str(price.pk), "quota": 2, "used": 2},
    )
    assert Sale.objects.count() == 2


def test_quota_counts_paid_and_unexpired_pending_sales_only(api, sale_request, price, make_sale):
    price.quota = 2
    price.save()
    make_sale(status=SaleStatus.COMPLETED)
    make_sale(status=SaleStatus.PENDING, expires_at=timezone.now() - timedelta(seconds=1))
    make_sale(status=SaleStatus.EXPIRED)
    make_sale(status=SaleStatus.FAILED)

    assert create(api, sale_request).status_code == 201
    assert error_of(create(api, sale_request))[1] == "Price quota exceeded"


def test_no_quota_means_unlimited(api, sale_request, make_sale):
    for _ in range(5):
        make_sale(status=SaleStatus.COMPLETED)

    assert create(api, sale_request).status_code == 201


# --- Bad input: 422 in the envelope, nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        ({"location_id": None}, "location_id", "missing"),
        ({"location_id": "two"}, "location_id", "value_error"),
        ({"location_id": 0}, "location_id", "greater_than_equal"),
        ({"location_id": 10**30}, "location_id", "less_than_equal"),
        ({"price_id": "not-a-uuid"}, "price_id", "value_error"),
        ({"price_id": 42}, "price_id", "value_error"),
        ({"email": "not-an-email"}, "email", "value_error"),
        ({"email": "a" * 250 + "@example.com"}, "email", "string_too_long"),
        ({"email": ["a@b.co"]}, "email", "value_error"),
        ({"send_invoice": "perhaps"}, "send_invoice", "value_error"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(api, sale_request, change, field, error_type):
    response = create(api, {**sale_request, **change})

    status, message, details = error_of(response)
    assert (status, message) == (422, "Validation error")
    assert {"field": field, "type": error_type} in [{k: e[k] for k in ("field", "type")} for e in details["errors"]]
    assert all(error["message"] for error in details["errors"])
    assert not Sale.objects.exists()


def test_missing_fields_are_all_reported(api):
    status, _, details = error_of(create(api, {}))

    assert status == 422
    assert {(e["field"], e["type"]) for e in details["errors"]} == {
        ("location_id", "missing"),
        ("price_id", "missing"),
        ("email", "missing"),
    }


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b'"a string"', b"\xff\xfe\x00garbage", b'{"location_id": 1,}', b"null"],
    ids=["malformed", "empty", "list", "string", "not-utf8", "trailing-comma", "null"],
)
def test_bodies_that_are_not_a_json_object_are_422(api, body):
    response = api.post(URL, data=body, content_type="application/json")

    assert error_of(response)[:2] == (422, "Validation error")
    assert response.json()["details"]["errors"]
    assert not Sale.objects.exists()


def test_non_json_content_type_is_a_clear_4xx(api, sale_request):
    response = api.post(URL, data=sale_request, format="multipart")

    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False
    assert not Sale.objects.exists()


# --- Idempotency-Key: retries on flaky Wi-Fi get the first answer ---------------------------


def test_retry_with_same_key_returns_the_first_sale_and_makes_no_second(api, sale_request):
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-7-attempt-1")
    again = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-7-attempt-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert Sale.objects.count() == 1


def test_retry_with_same_key_and_reordered_json_is_the_same_request(api, sale_request):
    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")
    reordered = json.dumps(dict(reversed(list(sale_request.items()))), indent=2)

    assert create(api, reordered, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert Sale.objects.count() == 1


def test_same_key_with_a_different_body_is_409(api, sale_request):
    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")
    response = create(api, {**sale_request, "email": "other@example.com"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert error_of(response)[:2] == (409, "Idempotency key reused with a different request")
    assert Sale.objects.count() == 1


def test_error_answers_are_replayed_too(api, sale_request, price):
    price.is_active = False
    price.save()
    first = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")
    price.is_active = True
    price.save()

    again = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == again.status_code == 400
    assert again.content == first.content
    assert not Sale.objects.exists()


def test_different_keys_make_different_sales(api, sale_request):
    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")
    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k2")

    assert Sale.objects.count() == 2


def test_requests_without_a_key_are_never_deduplicated(api, sale_request):
    create(api, sale_request)
    create(api, sale_request)

    assert Sale.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_malformed_idempotency_key_is_400(api, sale_request):
    response = create(api, sale_request, HTTP_IDEMPOTENCY_KEY="x" * 300)

    assert error_of(response)[:2] == (400, "Invalid Idempotency-Key header")
    assert not Sale.objects.exists()


def test_keys_are_kept_at_least_a_day(api, sale_request, settings):
    from payments.idempotency import purge_expired_keys

    create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1")
    purge_expired_keys(now=timezone.now() + timedelta(hours=24))

    assert create(api, sale_request, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert Sale.objects.count() == 1
    assert settings.IDEMPOTENCY_KEY_TTL_HOURS >= 24
