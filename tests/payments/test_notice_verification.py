"""What Xendit's callbacks may do to a sale: dispatched on the event, verified before money moves.

Xendit posts QR payments and refunds to one URL; other products' events can reach it too. Every
notice is stored and explained; only a successful rupiah payment of the sale's exact amount
completes it.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import EventOutcome, PaymentEvent, SaleStatus
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db


def qr_payment(sale, *, payment_id="qrpy_1", amount=40000, **data) -> dict:
    body = webhook_fixture(
        "qr_payment_2022.json",
        external_id=sale.external_id,
        qr_id=sale.xendit_qr_id,
        amount=amount,
        payment_id=payment_id,
    )
    body["data"].update(data)
    return body


def refund_notice(sale, *, event="qr.refund", status="SUCCEEDED", payment_id="qrpy_1", **data) -> dict:
    return {
        "event": event,
        "api_version": "2022-07-31",
        "created": "2026-05-09T08:31:14.502Z",
        "data": {
            "id": "qrrf_1",
            "qrpy_id": payment_id,
            "status": status,
            "currency": "IDR",
            "payment_amount": 40000,
            "refund_amount": 40000,
            "reference_id": sale.external_id,  # the /refunds API's shape has one: it must not matter
            **data,
        },
    }


def last_event() -> PaymentEvent:
    return PaymentEvent.objects.latest("pk")


# --- Dispatch on the event ------------------------------------------------------------------------
@pytest.mark.parametrize("event", ["refund.succeeded", "refund.failed", "qr.refund"])
def test_a_refund_notice_naming_a_pending_sale_never_completes_it(api, make_sale, event):
    sale = make_sale()

    response = post_webhook(api, refund_notice(sale, event=event, payment_id="qrpy_unknown"))

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert sale.paid_at is None
    stored = last_event()
    assert stored.outcome == EventOutcome.IGNORED
    assert "no sale of ours has" in stored.outcome_detail
    assert stored.event_type == event


def test_a_refund_notice_never_moves_an_expired_sale(api, make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED, xendit_payment_id=None)

    post_webhook(api, refund_notice(sale, payment_id="qrpy_whatever"))

    sale.refresh_from_db()
    assert sale.status == SaleStatus.EXPIRED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"event": "payment.capture", "data": {"id": "py-1", "status": "SUCCEEDED"}}, "'payment.capture'"),
        ({"event": "payment.failure", "data": {"id": "py-2"}}, "'payment.failure'"),
        ({"event": "invoice.paid", "data": {"external_id": "x"}}, "'invoice.paid'"),
    ],
)
def test_other_events_are_stored_answered_200_and_ignored_with_the_reason(api, make_sale, body, reason):
    sale = make_sale()
    body["data"]["reference_id"] = sale.external_id

    response = post_webhook(api, body)

    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Notification stored and ignored"}
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    stored = last_event()
    assert stored.outcome == EventOutcome.IGNORED
    assert reason in stored.outcome_detail
    assert json.loads(stored.body) == body


def test_a_qr_code_of_another_business_is_ignored_when_ours_is_configured(api, make_sale, settings):
    settings.XENDIT_BUSINESS_ID = "our-business"
    sale = make_sale()

    response = post_webhook(api, qr_payment(sale))  # the fixture's business_id is Xendit's sample one

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert "another Xendit business" in last_event().outcome_detail


def test_our_business_id_is_applied(api, make_sale, settings):
    settings.XENDIT_BUSINESS_ID = "58cd618ba0464eb64acdb246"
    sale = make_sale()

    post_webhook(api, qr_payment(sale))

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED


# --- Currency and amount ---------------------------------------------------------------------------
def test_a_payment_in_dollars_does_not_complete_a_rupiah_sale(api, make_sale):
    sale = make_sale()

    response = post_webhook(api, qr_payment(sale, currency="USD"))

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert sale.needs_review
    assert "USD" in sale.review_reason
    assert last_event().outcome == EventOutcome.CURRENCY_MISMATCH


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("missing", "no amount"),
        (None, "no amount"),
        ("abc", 'unreadable amount "abc"'),
        ([40000], "unreadable amount [40000]"),
        (True, "unreadable amount true"),
    ],
)
def test_a_payment_without_a_readable_amount_is_flagged_not_completed(api, make_sale, amount, words):
    sale = make_sale()
    body = qr_payment(sale)
    if amount == "missing":
        del body["data"]["amount"]
    else:
        body["data"]["amount"] = amount

    post_webhook(api, body)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert sale.needs_review
    assert words in sale.review_reason
    assert last_event().outcome == EventOutcome.AMOUNT_MISMATCH


def test_the_legacy_shape_without_an_amount_is_flagged(api, make_sale):
    sale = make_sale()
    body = webhook_fixture(
        "qr_payment_legacy.json", external_id=sale.external_id, qr_id=sale.xendit_qr_id, amount=40000, payment_id="q1"
    )
    del body["amount"]

    post_webhook(api, body)

    sale.refresh_from_db()
    assert (sale.status, sale.needs_review) == (SaleStatus.PENDING, True)


def test_the_seed_flat_body_alone_may_state_no_amount_and_the_sale_records_it(api, make_sale):
    sale = make_sale()

    post_webhook(api, {"external_id": sale.external_id, "status": "COMPLETED", "xendit_id": "x-1"})

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.paid_amount is None  # no amount was stated
    assert not sale.needs_review


def test_the_seed_flat_body_with_a_wrong_amount_is_flagged(api, make_sale):
    sale = make_sale()

    post_webhook(api, {"external_id": sale.external_id, "status": "COMPLETED", "amount": 4000})

    sale.refresh_from_db()
    assert (sale.status, sale.needs_review) == (SaleStatus.PENDING, True)


def test_a_verified_payment_records_the_amount_paid(api, make_sale):
    sale = make_sale()

    post_webhook(api, qr_payment(sale, currency="idr"))

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.paid_amount == sale.amount


# --- The payment's time -------------------------------------------------------------------------------
def test_a_payment_time_before_the_sale_existed_is_not_believed(api, make_sale):
    sale = make_sale()
    before = timezone.now()

    post_webhook(api, qr_payment(sale, created="2022-10-22T06:30:05.86474Z"))

    sale.refresh_from_db()
    assert before <= sale.paid_at <= timezone.now()


def test_a_payment_time_in_the_future_is_not_believed(api, make_sale):
    sale = make_sale()

    post_webhook(api, qr_payment(sale, created=(timezone.now() + timedelta(days=3)).isoformat()))

    sale.refresh_from_db()
    assert sale.paid_at <= timezone.now()


def test_a_payment_time_within_the_sale_is_kept(api, make_sale):
    sale = make_sale(created_at=timezone.now() - timedelta(minutes=10))
    paid = timezone.now() - timedelta(minutes=4)

    post_webhook(api, qr_payment(sale, created=paid.isoformat()))

    sale.refresh_from_db()
    assert sale.paid_at == paid


def test_cleanup_counts_from_the_time_the_payment_was_received_not_the_payload(api, make_sale, settings):
    sale = make_sale()
    post_webhook(api, qr_payment(sale, created="2022-10-22T06:30:05Z"))

    from gallery.selectors import photos_expire_at

    sale.refresh_from_db()
    assert photos_expire_at(sale) > timezone.now() + timedelta(days=settings.PHOTO_RETENTION_DAYS - 1)


def test_ignored_notices_are_visible_to_staff_with_their_reason(api, admin_client, db):
    post_webhook(api, {"event": "payment.capture", "data": {"id": "py-9"}})
    event = last_event()

    listing = admin_client.get("/admin/payments/paymentevent/?outcome__in=ignored").content.decode()
    page = admin_client.get(f"/admin/payments/paymentevent/{event.pk}/change/").content.decode()

    assert "payment.capture" in listing
    assert "Ignored (nothing to apply)" in page
    assert "is not a QR payment or refund" in page
