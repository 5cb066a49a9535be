"""What staff can read about a payment notice: the outcome and explanation stored on it, the
history row and log line of a sale it ended, and what a stored listing or refund says when staff
run it again (the refund check and reconciliation keep Xendit's objects as they came, without a
webhook's `event`)."""

import json
import logging
import threading
from datetime import UTC, datetime

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
from tests.support.webhooks import payment_webhook, post_webhook

pytestmark = pytest.mark.django_db

NOT_A_NOTICE = "Not a QR payment notification (expected Xendit's qr.payment or {external_id, status})"


def test_a_body_that_is_no_payment_notice_is_stored_invalid_with_the_reason_xendit_is_told(api):
    response = post_webhook(api, {"hello": "world"})

    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["message"] == NOT_A_NOTICE
    event = PaymentEvent.objects.get()
    assert (event.outcome, event.outcome_detail) == (EventOutcome.INVALID, NOT_A_NOTICE)


# --- A notice of the earlier service that ends a sale unpaid ----------------------------------------
AN_HOUR_AGO = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [SaleStatus.FAILED, SaleStatus.EXPIRED])
def test_a_notice_ending_a_sale_unpaid_stamps_it_names_itself_on_the_history_and_logs_it(make_sale, status, caplog):
    sale = make_sale()
    body = {"external_id": sale.external_id, "status": status, "xendit_id": "qr_5d40"}
    event = record_payment_event(source=EventSource.WEBHOOK, headers={}, body=json.dumps(body))
    notice = PaymentNotice(
        shape="flat", reference=sale.external_id, qr_id="", payment_id="qr_5d40", status=status, amount=None
    )
    caplog.set_level(logging.INFO, logger="payments")

    outcome = completion.apply_payment_notice(event=event, notice=notice, now=AN_HOUR_AGO)

    sale.refresh_from_db()
    row = sale.history.get(to_status=status)
    assert outcome == (EventOutcome.APPLIED, f"PENDING -> {status}")
    assert (sale.status, sale.updated_at) == (status, AN_HOUR_AGO)
    assert (row.cause, row.event, row.at) == (SaleCause.WEBHOOK, event, AN_HOUR_AGO)
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

    assert completion.apply_payment_notice(event=event, notice=notice, now=AN_HOUR_AGO)[0] == EventOutcome.APPLIED
    assert event.sale == sale
