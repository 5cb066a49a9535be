"""POST /api/v1/webhooks/xendit: Xendit tells us a QR code was paid."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import EventOutcome, PaymentEvent, Sale, SaleStatus
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

OK = {"success": True, "message": "Transaction updated"}


def payment_2022(sale, *, payment_id="qrpy_001", amount=None):
    return webhook_fixture(
        "qr_payment_2022.json",
        payment_id=payment_id,
        amount=int(sale.amount if amount is None else amount),
        qr_id=sale.xendit_qr_id,
        external_id=sale.external_id,
    )


@pytest.fixture
def sale(make_sale):
    return make_sale(xendit_qr_id="qr_61cb3576-3a25-4d35-8d15-0e8e3bdba4f2")


# --- The three shapes -----------------------------------------------------------------------


def test_2022_07_31_payment_completes_the_sale(api, sale):
    response = post_webhook(api, payment_2022(sale))

    assert (response.status_code, response.json()) == (200, OK)
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.xendit_payment_id == "qrpy_001"
    assert sale.paid_at is not None
    assert (sale.payment_channel, sale.payment_receipt_id) == ("GOPAY", "000111666")
    assert not sale.needs_review


def test_legacy_qr_payment_completes_the_sale(api, sale):
    body = webhook_fixture(
        "qr_payment_legacy.json",
        payment_id="qrpy_legacy",
        amount=40000,
        qr_id=sale.xendit_qr_id,
        external_id=sale.external_id,
    )

    assert post_webhook(api, body).json() == OK
    sale.refresh_from_db()
    assert (sale.status, sale.xendit_payment_id, sale.payment_channel) == ("COMPLETED", "qrpy_legacy", "BNI")


def test_seed_flat_shape_completes_the_sale(api, sale):
    body = webhook_fixture("seed_flat.json", external_id=sale.external_id, status="COMPLETED", payment_id="qr_5d40")

    assert post_webhook(api, body).json() == OK
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.paid_at is not None


@pytest.mark.parametrize("status", ["FAILED", "EXPIRED"])
def test_seed_flat_shape_can_fail_or_expire_a_pending_sale(api, sale, status):
    body = webhook_fixture("seed_flat.json", external_id=sale.external_id, status=status, payment_id="qr_5d40")

    assert post_webhook(api, body).status_code == 200
    sale.refresh_from_db()
    assert sale.status == status
    assert sale.paid_at is None


def test_payment_found_by_qr_id_when_reference_is_unknown(api, sale):
    body = payment_2022(sale)
    body["data"]["reference_id"] = "something-else"

    post_webhook(api, body)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED


# --- Money rules ----------------------------------------------------------------------------


def test_duplicate_webhook_completes_the_sale_once(api, sale):
    first = post_webhook(api, payment_2022(sale))
    sale.refresh_from_db()
    paid_at = sale.paid_at

    second = post_webhook(api, payment_2022(sale))

    assert first.json() == second.json() == OK
    sale.refresh_from_db()
    assert sale.paid_at == paid_at
    outcomes = list(PaymentEvent.objects.order_by("received_at").values_list("outcome", flat=True))
    assert outcomes == [EventOutcome.APPLIED, EventOutcome.DUPLICATE]


def test_amount_mismatch_does_not_complete_and_flags_for_review(api, sale):
    response = post_webhook(api, payment_2022(sale, amount=4000))

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert sale.needs_review
    assert "Amount mismatch" in sale.review_reason
    assert "Rp 4.000" in sale.review_reason
    assert PaymentEvent.objects.get().outcome == EventOutcome.AMOUNT_MISMATCH


def test_payment_for_an_expired_sale_completes_it_and_flags_review(api, make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED, expires_at=timezone.now() - timedelta(minutes=1))

    assert post_webhook(api, payment_2022(sale)).json() == OK

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.needs_review
    assert "Paid after the sale was marked EXPIRED" in sale.review_reason


def test_second_different_payment_for_a_paid_sale_is_flagged_not_applied(api, sale):
    post_webhook(api, payment_2022(sale, payment_id="qrpy_first"))
    post_webhook(api, payment_2022(sale, payment_id="qrpy_second"))

    sale.refresh_from_db()
    assert sale.xendit_payment_id == "qrpy_first"
    assert sale.needs_review
    assert "qrpy_second" in sale.review_reason
    assert PaymentEvent.objects.filter(outcome=EventOutcome.DOUBLE_PAYMENT).count() == 1


def test_failure_notice_never_undoes_a_payment(api, sale):
    post_webhook(api, payment_2022(sale))
    body = webhook_fixture("seed_flat.json", external_id=sale.external_id, status="FAILED", payment_id="x")

    assert post_webhook(api, body).status_code == 200

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert PaymentEvent.objects.filter(outcome=EventOutcome.IGNORED).count() == 1


def test_payment_for_an_unknown_sale_is_answered_200_and_kept_for_staff(api, sale):
    body = payment_2022(sale)
    body["data"]["reference_id"] = "TRX-9-20250101000000-DEADBEEF"
    body["data"]["qr_id"] = "qr_unknown"

    assert post_webhook(api, body).json() == OK

    event = PaymentEvent.objects.get()
    assert event.outcome == EventOutcome.UNKNOWN_SALE
    assert event.reference == "TRX-9-20250101000000-DEADBEEF"
    assert Sale.objects.get().status == SaleStatus.PENDING


def test_every_webhook_is_stored_with_headers_but_without_the_token(api, sale):
    post_webhook(api, payment_2022(sale), HTTP_WEBHOOK_ID="e8dcb949-8e49-4f1d-89f0-67c08913db82")

    event = PaymentEvent.objects.get()
    assert event.webhook_id == "e8dcb949-8e49-4f1d-89f0-67c08913db82"
    assert "test-callback-token-0123456789abcdef" not in str(event.headers)
    assert not any(name.lower() == "x-callback-token" for name in event.headers)
    assert '"reference_id": "' + sale.external_id in event.body
    assert (event.shape, event.xendit_payment_id, event.amount) == ("2022-07-31", "qrpy_001", Decimal(40000))
    assert event.sale == sale


# --- Token checks ---------------------------------------------------------------------------


def test_missing_token_is_401_and_changes_nothing(api, sale):
    response = post_webhook(api, payment_2022(sale), token=None)

    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Missing x-callback-token header", "details": {}}
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert PaymentEvent.objects.get().outcome == EventOutcome.REJECTED


@pytest.mark.parametrize(
    "token", ["wrong", "", "test-callback-token-0123456789abcdef ", "tést-callback-tokén-0123456789abcdef", "x" * 5000]
)
def test_wrong_token_is_403_and_changes_nothing(api, sale, token):
    response = post_webhook(api, payment_2022(sale), token=token)

    assert response.status_code == 403
    assert response.json()["message"] == "Invalid callback token"
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING


def test_token_header_name_is_case_insensitive(api, sale):
    response = api.post(
        "/api/v1/webhooks/xendit",
        data=payment_2022(sale),
        format="json",
        headers={"X-CALLBACK-TOKEN": "test-callback-token-0123456789abcdef"},
    )

    assert response.status_code == 200


def test_no_configured_token_rejects_every_webhook(api, sale, settings):
    settings.XENDIT_CALLBACK_TOKEN = ""

    assert post_webhook(api, payment_2022(sale), token="").status_code == 403


# --- Bodies that are none of the shapes -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\xfa",
        b"[]",
        b'{"hello": "world"}',
        b'{"external_id": "TRX-1", "status": "PAID"}',
        b'{"external_id": 5, "status": "COMPLETED"}',
        b'{"data": {"reference_id": "TRX-\\u0000", "status": "SUCCEEDED", "id": "qrpy_\\u0000"}}',
    ],
    ids=["malformed", "not-utf8", "list", "unknown-shape", "unknown-status", "id-not-string", "nul-escapes"],
)
def test_bodies_that_are_not_a_payment_are_422_or_ignored_never_500(api, sale, body):
    response = post_webhook(api, body)

    assert response.status_code in (200, 422)
    assert response.json()["success"] is (response.status_code == 200)
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert PaymentEvent.objects.count() == 1


def test_unknown_shape_is_422_validation_error(api):
    response = post_webhook(api, {"hello": "world"})

    assert response.status_code == 422
    assert response.json()["message"] == "Validation error"
    assert PaymentEvent.objects.get().outcome == EventOutcome.INVALID


# --- Refused requests are cheap to keep --------------------------------------------------------------
def test_a_body_over_64_kb_is_refused_unread_and_kept_in_brief(api, db):
    huge = b'{"event": "qr.payment", "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    response = post_webhook(api, huge)

    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "message": "Request body too large",
        "details": {"max_bytes": 65536},
    }
    event = PaymentEvent.objects.get()
    assert (event.outcome, event.body, event.body_size) == (EventOutcome.REJECTED, "", len(huge))
    assert event.outcome_detail == f"Body too large: {len(huge)} bytes"


def test_a_wrong_token_keeps_the_size_the_hash_and_4_kb_of_the_body(api, db):
    import hashlib

    body = json.dumps({"event": "qr.payment", "padding": "y" * 50_000}).encode()

    assert post_webhook(api, body, token="wrong").status_code == 403

    event = PaymentEvent.objects.get()
    assert len(event.body) == 4096
    assert event.body == body[:4096].decode()
    assert (event.body_size, event.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())


def test_refused_requests_are_purged_after_30_days(api, db):
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    post_webhook(api, {"x": 1}, token="wrong")
    post_webhook(api, {"x": 2}, token="wrong")
    PaymentEvent.objects.filter(pk=PaymentEvent.objects.earliest("pk").pk).update(
        received_at=timezone.now() - timedelta(days=31)
    )

    out = StringIO()
    call_command("expire_sales", stdout=out)

    assert PaymentEvent.objects.count() == 1
    assert "refused webhook requests over 30 days old purged 1" in out.getvalue()
