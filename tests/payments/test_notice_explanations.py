"""What staff can read about a payment notice: the outcome and explanation stored on it, the
history row and log line of a sale it ended, and what a stored listing or refund says when staff
run it again (the refund check and reconciliation keep Xendit's objects as they came, without a
webhook's `event`)."""

import json
import logging
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from payments import completion
from payments.events import record_payment_event, reprocess_payment_event
from payments.gateways import PaymentNotice
from payments.models import (
    EventOutcome,
    EventSource,
    PaymentEvent,
    RefundStatus,
    Sale,
    SaleCause,
    SaleStatus,
)
from payments.refunds.services import request_refund
from payments.simulation import simulate_payment
from tests.support.webhooks import payment_webhook, post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

NOT_A_NOTICE = "Not a QR payment notification (expected Xendit's qr.payment or {external_id, status})"


def test_a_body_that_is_no_payment_notice_is_stored_invalid_with_the_reason_xendit_is_told(api):
    response = post_webhook(api, {"hello": "world"})

    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["message"] == NOT_A_NOTICE
    event = PaymentEvent.objects.get()
    assert (event.outcome, event.outcome_detail) == (EventOutcome.INVALID, NOT_A_NOTICE)


# --- A notice of the earlier service that ends a sale unpaid ----------------------------------------
APPLIED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [SaleStatus.FAILED, SaleStatus.EXPIRED])
def test_a_notice_ending_a_sale_unpaid_stamps_it_names_itself_on_the_history_and_logs_it(make_sale, status, caplog):
    sale = make_sale()
    body = {"external_id": sale.external_id, "status": status, "xendit_id": "qr_5d40"}
    event = record_payment_event(source=EventSource.WEBHOOK, headers={}, body=json.dumps(body))
    notice = PaymentNotice(
        shape="flat", reference=sale.external_id, qr_id="", payment_id="qr_5d40", status=status, amount=None
    )
    caplog.set_level(logging.INFO, logger="payments")

    outcome = completion.apply_payment_notice(event=event, notice=notice, now=APPLIED_AT)

    sale.refresh_from_db()
    row = sale.history.get(to_status=status)
    assert outcome == (EventOutcome.APPLIED, f"PENDING -> {status}")
    assert (sale.status, sale.updated_at) == (status, APPLIED_AT)
    assert (row.cause, row.event, row.at) == (SaleCause.WEBHOOK, event, APPLIED_AT)
    [record] = caplog.records
    assert record.getMessage() == f"sale {status.lower()} by notice external_id={sale.external_id}"
    assert (record.levelno, record.external_id) == (logging.INFO, sale.external_id)


# --- Stored listings run again ----------------------------------------------------------------------
def listed_payment(sale, payment_id: str = "qrpy_listed") -> dict:
    """One item of Xendit's `GET /qr_codes/{id}/payments`, as reconciliation stored it."""
    return payment_webhook(sale, payment_id=payment_id)["data"]


def test_a_listed_payment_that_was_never_applied_completes_its_sale_when_reprocessed(make_sale):
    sale = make_sale()
    event = record_payment_event(source=EventSource.RECONCILIATION, headers={}, body=json.dumps(listed_payment(sale)))

    reprocess_payment_event(event=event)

    sale.refresh_from_db()
    event.refresh_from_db()
    assert (sale.status, sale.xendit_payment_id) == (SaleStatus.COMPLETED, "qrpy_listed")
    assert (event.shape, event.outcome) == ("listing", EventOutcome.APPLIED)
    assert (event.reference, event.reported_status, event.amount) == (sale.external_id, "COMPLETED", sale.amount)
    assert event.outcome_detail == "PENDING -> COMPLETED"


def test_a_refund_the_refund_check_could_not_apply_is_settled_when_reprocessed(make_sale):
    sale = make_sale(amount=40000)
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    refund = request_refund(sale=sale, reason="Printer jammed, no photos", requested_by=None)
    # Xendit's /refunds object, as the refund check stored it; applying it failed (the database
    # went away), which left the event an error with the shape it had been read as.
    answer = {
        "id": refund.xendit_refund_id,
        "payment_id": sale.xendit_payment_id,
        "status": "SUCCEEDED",
        "amount": 40000,
    }
    event = record_payment_event(source=EventSource.RECONCILIATION, headers={}, body=json.dumps(answer))
    PaymentEvent.objects.filter(pk=event.pk).update(
        shape="refund", outcome=EventOutcome.ERROR, outcome_detail="OperationalError: the connection was closed"
    )

    reprocess_payment_event(event=event)

    event.refresh_from_db()
    refund.refresh_from_db()
    sale.refresh_from_db()
    assert (event.outcome, event.refund) == (EventOutcome.APPLIED, refund)
    assert (event.shape, event.xendit_payment_id, event.reported_status, event.amount) == (
        "refund",
        sale.xendit_payment_id,
        "SUCCEEDED",
        Decimal(40000),
    )
    assert refund.status == RefundStatus.SUCCEEDED
    assert sale.status == SaleStatus.REFUNDED


# --- A notice that fails again --------------------------------------------------------------------
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_notice_that_fails_again_when_reprocessed_stays_an_error_and_the_log_says_so(make_sale, caplog):
    sale = make_sale()
    event = record_payment_event(source=EventSource.WEBHOOK, headers={}, body=json.dumps(payment_webhook(sale)))
    PaymentEvent.objects.filter(pk=event.pk).update(outcome=EventOutcome.ERROR, outcome_detail="OperationalError")
    caplog.set_level(logging.INFO, logger="payments")
    # Another session holds the sale's row lock, and this one waits for no lock longer than 50 ms.
    locked, done = threading.Event(), threading.Event()

    def hold_the_sale() -> None:
        try:
            with transaction.atomic():
                Sale.objects.select_for_update().get(pk=sale.pk)
                locked.set()
                done.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_sale)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '50ms'")
        reprocess_payment_event(event=event)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        done.set()
        holder.join()

    event.refresh_from_db()
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert event.outcome == EventOutcome.ERROR
    assert event.outcome_detail.startswith("OperationalError: canceling statement due to lock timeout")
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert messages == [
        (logging.ERROR, f"payment event {event.pk} failed"),
        (logging.WARNING, f"payment event {event.pk} failed again when reprocessed"),
        (logging.INFO, f"payment event {event.pk} reprocessed outcome=error"),
    ]
    assert caplog.records[0].external_id == sale.external_id


# --- Which sale a notice is for ---------------------------------------------------------------------
def test_a_payment_naming_no_sale_number_is_matched_by_its_qr_code_never_to_a_sale_without_one(make_sale):
    numberless = make_sale()
    Sale.objects.filter(pk=numberless.pk).update(external_id="")  # stored by a script, not by a kiosk
    sale = make_sale(xendit_qr_id="qr_only")
    notice = PaymentNotice(
        shape="legacy", reference="", qr_id="qr_only", payment_id="qrpy_1", status="COMPLETED", amount=sale.amount
    )
    event = record_payment_event(source=EventSource.WEBHOOK, headers={}, body="{}")

    assert completion.apply_payment_notice(event=event, notice=notice, now=APPLIED_AT)[0] == EventOutcome.APPLIED
    assert event.sale == sale


# --- What staff read on each kind of notice ---------------------------------------------------------
def last_event() -> PaymentEvent:
    return PaymentEvent.objects.order_by("pk").last()


def warnings_logged(caplog) -> list[tuple[str, str]]:
    return [(r.getMessage(), r.external_id) for r in caplog.records if r.levelno == logging.WARNING]


def test_a_payment_for_no_sale_of_ours_is_kept_naming_the_sale_and_qr_code_it_named(api, db):
    body = webhook_fixture("qr_payment_2022.json", payment_id="qrpy_1", amount=40000, qr_id="qr_x", external_id="PB-9")

    assert post_webhook(api, body).status_code == 200

    event = last_event()
    assert (event.outcome, event.outcome_detail) == (
        EventOutcome.UNKNOWN_SALE,
        "No sale with reference 'PB-9' or QR id 'qr_x'",
    )


@pytest.mark.parametrize(("status", "said"), [("PENDING", "PENDING"), ("", "(none)")])
def test_a_payment_that_did_not_succeed_is_ignored_saying_its_status(api, make_sale, status, said):
    sale = make_sale()
    body = payment_webhook(sale)
    body["data"]["status"] = status

    post_webhook(api, body)

    event = last_event()
    assert (event.outcome, event.outcome_detail) == (EventOutcome.IGNORED, f"Status {said} is not a successful payment")
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING


def test_a_sale_that_already_ended_is_not_ended_again_and_the_notice_says_how_it_ended(api, make_sale):
    sale = make_sale(status=SaleStatus.FAILED)

    post_webhook(api, {"external_id": sale.external_id, "status": "EXPIRED", "xendit_id": "qr_5d40"})

    assert (last_event().outcome, last_event().outcome_detail) == (EventOutcome.IGNORED, "Sale is already FAILED")


def test_the_same_payment_again_is_a_duplicate_naming_the_payment(api, make_sale):
    sale = make_sale()
    post_webhook(api, payment_webhook(sale, payment_id="qrpy_1"))

    post_webhook(api, payment_webhook(sale, payment_id="qrpy_1"))

    event = last_event()
    assert (event.outcome, event.outcome_detail) == (EventOutcome.DUPLICATE, "Payment qrpy_1 was already applied")


def test_a_payment_without_an_id_for_a_paid_sale_is_a_duplicate(api, make_sale):
    sale = make_sale()
    post_webhook(api, payment_webhook(sale, payment_id="qrpy_1"))

    post_webhook(api, {"external_id": sale.external_id, "status": "COMPLETED"})

    assert (last_event().outcome, last_event().outcome_detail) == (EventOutcome.DUPLICATE, "Sale was already paid")


def test_a_second_payment_for_a_paid_sale_is_flagged_for_a_refund_and_logged(api, make_sale, caplog):
    sale = make_sale()
    post_webhook(api, payment_webhook(sale, payment_id="qrpy_1"))

    post_webhook(api, payment_webhook(sale, payment_id="qrpy_2"))

    event = last_event()
    assert (event.outcome, event.outcome_detail) == (
        EventOutcome.DOUBLE_PAYMENT,
        "Sale was already paid by another payment",
    )
    sale.refresh_from_db()
    assert sale.review_reason == "Second payment qrpy_2 received for an already paid sale (refund?)"
    assert sale.reviews.get().event == event
    assert warnings_logged(caplog) == [
        (f"double payment external_id={sale.external_id} payment=qrpy_2", sale.external_id)
    ]


def test_a_wrong_amount_leaves_the_sale_unpaid_flagged_and_logged_with_both_amounts(api, make_sale, caplog):
    sale = make_sale(amount=40000)
    body = payment_webhook(sale, payment_id="qrpy_1")
    body["data"]["amount"] = 4000

    post_webhook(api, body)

    reason = "Amount mismatch: payment qrpy_1 of Rp 4.000 for a sale of Rp 40.000"
    event = last_event()
    assert (event.outcome, event.outcome_detail) == (EventOutcome.AMOUNT_MISMATCH, f"{reason}; sale not completed")
    sale.refresh_from_db()
    assert (sale.status, sale.review_reason) == (SaleStatus.PENDING, reason)
    assert sale.reviews.get().event == event
    assert warnings_logged(caplog) == [
        (f"payment not applied external_id={sale.external_id} reason={reason}", sale.external_id)
    ]


def test_a_notice_about_something_else_is_ignored_and_logged_saying_why(api, db, caplog):
    caplog.set_level(logging.INFO, logger="payments")

    post_webhook(api, {"event": "payment.capture", "data": {"id": "py_1"}})

    event = last_event()
    reason = "Event 'payment.capture' is not a QR payment or refund"
    assert (event.shape, event.event_type, event.outcome, event.outcome_detail) == (
        "ignored",
        "payment.capture",
        EventOutcome.IGNORED,
        reason,
    )
    assert [r.getMessage() for r in caplog.records] == [f"notice ignored event={event.pk} reason={reason}"]
