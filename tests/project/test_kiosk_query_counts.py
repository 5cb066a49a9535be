"""How many SQL queries each kiosk-facing endpoint runs: fixed numbers, whatever the table sizes.

Kiosks poll every 3 seconds and a chain has thousands of them (bench/README.md): a query added to
one of these paths is a deliberate decision, made by changing the number here.
"""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery.models import Photo
from payments.models import SaleStatus
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

# Sale creation: the location check, one statement that takes the price's place of quota and
# inserts the sale with its first history row, the QR code's fields; with an Idempotency-Key also
# its claim and its answer. The claim runs in a savepoint here only because each test is a
# transaction (outside one it is a lone INSERT: tests/payments/test_create_sale_queries.py).
CREATE = 3
CREATE_WITH_KEY = 7
CREATE_REPLAYED = 5
# The webhook: the event stored, the sale locked and paid (and its history row), the price's
# counts (quota used, paid sales), the event's outcome.
WEBHOOK = 10
WEBHOOK_DUPLICATE = 5
# A refund webhook: the event stored, the sale found by its payment (locked), the refund (locked),
# settled in a savepoint, the sale's refunded total, the sale REFUNDED (all of it was given back)
# and its history row, the price's counts (its place freed), the event's outcome.
WEBHOOK_REFUND = 11
# An event of another product: stored, and its outcome.
WEBHOOK_IGNORED = 2
# An upload: the sale, its lock, the existing photos (and the highest position), the email outbox and
# the email; then each photo is inserted and marked stored.
UPLOAD_BASE = 23
UPLOAD_PER_PHOTO = 2


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def jpeg(name: str, color: tuple[int, int, int]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def photos(count: int) -> list[SimpleUploadedFile]:
    return [jpeg(f"photo{i}.jpg", (i * 20 % 256, 90, 40)) for i in range(count)]


def test_poll_is_one_query(api, make_sale, django_assert_num_queries):
    sale = make_sale()

    with django_assert_num_queries(1):
        assert api.get(f"/api/v1/transactions/external/{sale.external_id}").status_code == 200


def test_poll_of_a_paid_sale_is_one_query(api, make_sale, django_assert_num_queries):
    sale = make_sale(status=SaleStatus.COMPLETED)

    with django_assert_num_queries(1):
        assert api.get(f"/api/v1/transactions/external/{sale.external_id}").json()["data"]["status"] == "COMPLETED"


def test_poll_of_an_unknown_sale_is_one_query(api, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert api.get("/api/v1/transactions/external/TRX-1-20250101120000-DEADBEEF").status_code == 404


@pytest.mark.postgresql  # the one-statement start is PostgreSQL's; SQLite takes the transaction path
def test_create_without_idempotency_key(api, sale_request, django_assert_num_queries):
    with django_assert_num_queries(CREATE):
        assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 201


@pytest.mark.postgresql  # the one-statement start is PostgreSQL's; SQLite takes the transaction path
def test_create_with_idempotency_key(api, sale_request, django_assert_num_queries):
    with django_assert_num_queries(CREATE_WITH_KEY):
        response = api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="kiosk-1-0001")
        assert response.status_code == 201


def test_create_replayed_from_its_idempotency_key(api, sale_request, django_assert_num_queries):
    api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="kiosk-1-0002")

    with django_assert_num_queries(CREATE_REPLAYED):
        response = api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="kiosk-1-0002")
        assert response.status_code == 201


def test_webhook_paying_a_sale(api, make_sale, django_assert_num_queries):
    sale = make_sale()
    body = webhook_fixture(
        "qr_payment_2022.json", payment_id="qrpy_1", amount=40000, qr_id=sale.xendit_qr_id, external_id=sale.external_id
    )

    with django_assert_num_queries(WEBHOOK):
        assert post_webhook(api, body).status_code == 200


def test_webhook_repeated(api, make_sale, django_assert_num_queries):
    sale = make_sale()
    body = webhook_fixture(
        "qr_payment_2022.json", payment_id="qrpy_2", amount=40000, qr_id=sale.xendit_qr_id, external_id=sale.external_id
    )
    post_webhook(api, body)

    with django_assert_num_queries(WEBHOOK_DUPLICATE):
        assert post_webhook(api, body).status_code == 200


def test_refund_webhook_settling_a_refund(api, make_sale, settings, django_assert_num_queries):
    from payments.refunds.services import request_refund

    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_r", paid_amount=40000)
    refund = request_refund(sale=sale, reason="x", requested_by=None)
    body = {
        "event": "qr.refund",
        "data": {"id": refund.xendit_refund_id, "qrpy_id": "qrpy_r", "status": "SUCCEEDED", "refund_amount": 40000},
    }

    with django_assert_num_queries(WEBHOOK_REFUND):
        assert post_webhook(api, body).status_code == 200


def test_webhook_of_another_product(api, db, django_assert_num_queries):
    with django_assert_num_queries(WEBHOOK_IGNORED):
        assert post_webhook(api, {"event": "payment.capture", "data": {"id": "py-1"}}).status_code == 200


@pytest.mark.parametrize("count", [1, 12])
def test_photo_upload(api, make_sale, django_assert_num_queries, count):
    sale = make_sale(status=SaleStatus.COMPLETED)

    with django_assert_num_queries(UPLOAD_BASE + UPLOAD_PER_PHOTO * count):
        response = api.post(
            f"/api/v1/transactions/{sale.external_id}/photos", {"files": photos(count)}, format="multipart"
        )
        assert response.status_code == 200, response.content
    assert Photo.objects.filter(sale=sale, stored_at__isnull=False).count() == count


@pytest.mark.parametrize("count", [1, 12])
def test_photo_list(api, make_sale, django_assert_num_queries, count):
    sale = make_sale(status=SaleStatus.COMPLETED)
    api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": photos(count)}, format="multipart")

    with django_assert_num_queries(2):
        body = api.get(f"/api/v1/transactions/{sale.external_id}/photos").json()
        assert body["photo_count"] == count
    assert json.dumps(body)
