"""What is kept of every notice: a refused request's caller and (when its body was read) hash,
the gateway's own words for a notice that came another way than the webhook; and what is purged:
only refused requests, never one staff wrote a note about. A payment's stated time is believed
within CLOCK_SKEW of the sale's life, its edge included."""

import json
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.completion import CLOCK_SKEW, payment_problem, trusted_paid_at
from payments.events import (
    EventNotReprocessable,
    purge_rejected_events,
    record_and_apply,
    record_payment_event,
    reprocess_payment_event,
    storable_amount,
)
from payments.gateways import IgnoredNotice, PaymentNotice
from payments.models import EventOutcome, EventSource, PaymentEvent, ReviewNote, SaleStatus
from payments.simulation import simulate_payment
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db


def test_a_refused_request_keeps_the_address_it_came_from(api):
    post_webhook(api, {"x": 1}, token="wrong", REMOTE_ADDR="203.0.113.7")

    assert PaymentEvent.objects.get().remote_addr == "203.0.113.7"


def test_a_body_too_large_to_read_is_kept_with_its_size_and_no_hash(api):
    body = b"{" + b" " * (64 * 1024) + b"}"

    assert post_webhook(api, body).status_code == 413

    event = PaymentEvent.objects.get()
    assert (event.outcome, event.body_size, event.body_sha256, event.body) == (EventOutcome.REJECTED, len(body), "", "")


def test_only_refused_requests_nobody_wrote_about_are_purged(api, make_sale):
    long_ago = timezone.now() - timedelta(days=31)
    simulate_payment(sale=make_sale())
    post_webhook(api, {"x": 1}, token="wrong")
    post_webhook(api, {"x": 2}, token="wrong")
    applied, noted, _forgotten = PaymentEvent.objects.order_by("pk")
    PaymentEvent.objects.update(received_at=long_ago)
    ReviewNote.objects.create(payment_event=noted, note="A scan of our webhook: reported to the hosting provider")

    assert purge_rejected_events() == 1

    assert set(PaymentEvent.objects.all()) == {applied, noted}


def test_a_simulated_payment_is_stored_in_the_gateways_own_words(make_sale):
    event = simulate_payment(sale=make_sale())

    assert '"event": "qr.payment"' in event.body


def test_a_notice_with_nothing_on_the_wire_is_stored_with_an_empty_body(db):
    event = record_and_apply(source=EventSource.RECONCILIATION, notice=IgnoredNotice(reason="Another business's QR"))

    assert (event.body, event.outcome) == ("", EventOutcome.IGNORED)


@pytest.mark.parametrize("before_the_sale", [CLOCK_SKEW, timedelta(minutes=1)], ids=["the edge", "within"])
def test_a_payment_stated_just_before_the_sale_began_is_believed(make_sale, before_the_sale):
    sale = make_sale()
    stated = sale.created_at - before_the_sale
    notice = PaymentNotice(
        shape="simulator",
        reference=sale.external_id,
        qr_id=sale.xendit_qr_id,
        payment_id="qrpy_1",
        status="COMPLETED",
        amount=Decimal(sale.amount),
        paid_at=stated,
    )

    assert trusted_paid_at(sale=sale, notice=notice, received_at=sale.created_at + timedelta(minutes=2)) == stated


# --- Reprocessing a stored notice ------------------------------------------------------------------


def stored_simulator_notice(sale) -> PaymentEvent:
    """A simulator notice stored but never applied: the process died in between."""
    body = webhook_fixture(
        "qr_payment_2022.json",
        payment_id="qrpy_1",
        amount=int(sale.amount),
        qr_id=sale.xendit_qr_id,
        external_id=sale.external_id,
    )
    return record_payment_event(source=EventSource.SIMULATOR, headers={}, body=json.dumps(body))


def test_a_trusted_notice_that_was_never_applied_is_applied_when_reprocessed(make_sale, caplog):
    sale = make_sale()
    event = stored_simulator_notice(sale)
    caplog.set_level(logging.INFO, logger="payments")

    reprocess_payment_event(event=event)

    sale.refresh_from_db()
    event.refresh_from_db()
    assert (sale.status, event.outcome, event.outcome_detail) == (
        SaleStatus.COMPLETED,
        EventOutcome.APPLIED,
        "PENDING -> COMPLETED",
    )
    assert [r.getMessage() for r in caplog.records] == [
        f"sale completed external_id={sale.external_id} payment=qrpy_1 previous=PENDING",
        f"payment event {event.pk} reprocessed outcome=applied",
    ]
    assert caplog.records[0].external_id == sale.external_id


def test_a_trusted_notice_already_applied_is_final(make_sale):
    event = stored_simulator_notice(make_sale())
    reprocess_payment_event(event=event)

    with pytest.raises(EventNotReprocessable, match=r"^Its outcome is final: Applied to the sale\.$"):
        reprocess_payment_event(event=event)


def test_a_refused_request_is_never_reprocessed_and_staff_are_told_why(api):
    post_webhook(api, {"x": 1}, token="wrong")

    with pytest.raises(EventNotReprocessable) as refused:
        reprocess_payment_event(event=PaymentEvent.objects.get())

    assert str(refused.value) == (
        "This notification's callback token was missing, wrong or never checked: it may not come from Xendit, "
        "so it is never applied."
    )


# --- What staff read when a payment is not applied ------------------------------------------------


def notice_for(sale, **fields) -> PaymentNotice:
    fields.setdefault("payment_id", "qrpy_1")
    fields.setdefault("amount", Decimal(sale.amount))
    return PaymentNotice(
        shape="2022-07-31", reference=sale.external_id, qr_id=sale.xendit_qr_id, status="COMPLETED", **fields
    )


def test_a_payment_without_an_id_is_named_so_in_the_reason(make_sale):
    sale = make_sale(amount=40000)

    _, reason = payment_problem(sale=sale, notice=notice_for(sale, payment_id="", amount=Decimal(1000)))

    assert reason == "Amount mismatch: payment (no id) of Rp 1.000 for a sale of Rp 40.000"


def test_a_payment_stating_no_amount_is_refused_saying_so(make_sale):
    sale = make_sale(amount=40000)

    _, reason = payment_problem(sale=sale, notice=notice_for(sale, amount=None))

    assert reason == "Amount mismatch: payment qrpy_1 stated no amount for a sale of Rp 40.000"


# --- What is kept of a request's headers and body --------------------------------------------------


def test_headers_are_kept_without_nul_characters_and_cut_to_what_their_columns_hold(db):
    name, value, webhook_id = "X-Trace-" + "n" * 150, "\x00" + "v" * 1200, "w" * 250

    event = record_payment_event(
        source=EventSource.WEBHOOK, headers={name: value, "Webhook-Id": webhook_id + "\x00"}, body=b"{}"
    )

    event.refresh_from_db()
    assert event.headers == {name[:100]: "v" * 1000, "Webhook-Id": webhook_id}
    assert event.webhook_id == webhook_id[:200]


def test_a_nul_byte_in_a_body_is_kept_as_a_replacement_character(db):
    event = record_payment_event(source=EventSource.WEBHOOK, headers={}, body=b'{"a": "b\x00c\xff"}')

    event.refresh_from_db()
    assert (event.body, event.webhook_id) == ('{"a": "b\ufffdc\ufffd"}', "")


def test_a_refused_request_is_kept_until_it_is_more_than_30_days_old(api):
    post_webhook(api, {"x": 1}, token="wrong")
    refused = PaymentEvent.objects.get()

    assert purge_rejected_events(now=refused.received_at + timedelta(days=30)) == 0
    assert purge_rejected_events(now=refused.received_at + timedelta(days=30, microseconds=1)) == 1


@pytest.mark.parametrize(
    ("reported", "kept"),
    [
        (Decimal("40000.545"), Decimal("40000.55")),  # half a cent up, not to the even cent
        (Decimal("-40000.545"), Decimal("-40000.55")),
        (Decimal("9999999999999.99"), Decimal("9999999999999.99")),
        (Decimal("10000000000000"), None),
        (Decimal("-10000000000000"), None),
        (None, None),
    ],
)
def test_a_reported_amount_is_kept_to_the_cent_or_not_at_all_when_its_column_cannot_hold_it(reported, kept):
    assert storable_amount(reported) == kept
