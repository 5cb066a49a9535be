"""Every message about money is stored as a PaymentEvent first, then explained by its outcome.

Webhooks arrive as raw bodies and are read by the gateway; reconciliation, the refund check and
the simulator already hold notices. All of them reach `apply_notice`, which sends a payment to
`completion`, a refund to `refunds`, and stores why anything else was ignored.
"""

import hashlib
import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from payments import completion
from payments.gateways import (
    IgnoredNotice,
    InvalidCallback,
    Notice,
    PaymentNotice,
    RefundNotice,
    read_callback,
    read_stored_notice,
)
from payments.models import EventOutcome, EventSource, PaymentEvent
from payments.refunds import services as refunds

logger = logging.getLogger("payments")

SECRET_HEADERS = {"x-callback-token", "authorization", "cookie"}
# Only events that passed the callback-token check may be applied again: a webhook still RECEIVED
# may be one whose token was never checked (the process died first), and a REJECTED one came
# without a valid token at all. Applied, duplicate, ignored and mismatched events are final.
REPROCESSABLE_OUTCOMES = (EventOutcome.UNKNOWN_SALE, EventOutcome.ERROR, EventOutcome.INVALID)


class EventNotReprocessable(Exception):
    """This stored payment event must not be applied again; the message says why, for staff."""


def _text(value, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; header values come from the outside world.
    return str(value).replace("\x00", "")[:limit] if value is not None else ""


def record_payment_event(
    *, source: str, headers: dict[str, str], body: bytes | str, remote_addr: str | None = None
) -> PaymentEvent:
    """Store a notification exactly as received, before anything is decided about it."""
    event = _received(source=source, headers=headers, body=body, remote_addr=remote_addr)
    event.save()
    return event


def _received(*, source: str, headers: dict[str, str], body: bytes | str, remote_addr: str | None) -> PaymentEvent:
    safe_headers = {_text(k, 100): _text(v, 1000) for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return PaymentEvent(
        source=source,
        headers=safe_headers,
        body=text.replace("\x00", "\ufffd"),
        remote_addr=remote_addr or None,
        # Callers pass dict(request.headers), whose names Django spells Title-Case.
        webhook_id=_text(headers.get("Webhook-Id"), 200),
    )


# What is kept of a request that was refused (no or a wrong token, too large, rate-limited): its
# headers, size, hash and the start of its body. Anonymous callers cannot fill the database.
REJECTED_BODY_KEPT = 4 * 1024
# Refused requests are kept this long (for whoever investigates an attack), then purged.
REJECTED_KEPT_DAYS = 30


def record_rejected_request(
    *, headers: dict[str, str], size: int, start: bytes, whole: bytes | None, reason: str, remote_addr: str | None
) -> PaymentEvent:
    """Store a refused webhook request cheaply: `start` is what was read of the body (at most
    REJECTED_BODY_KEPT bytes are kept); `whole`, when the body was read, gives its SHA-256."""
    event = record_payment_event(
        source=EventSource.WEBHOOK, headers=headers, body=start[:REJECTED_BODY_KEPT], remote_addr=remote_addr
    )
    event.body_size, event.body_sha256 = size, hashlib.sha256(whole).hexdigest() if whole is not None else ""
    event.outcome, event.outcome_detail, event.processed_at = EventOutcome.REJECTED, reason, timezone.now()
    event.save(update_fields=["body_size", "body_sha256", "outcome", "outcome_detail", "processed_at"])
    return event


def purge_rejected_events(*, now=None) -> int:
    """Delete refused requests older than REJECTED_KEPT_DAYS (expire_sales runs this)."""
    cutoff = (now or timezone.now()) - timedelta(days=REJECTED_KEPT_DAYS)
    old = PaymentEvent.objects.filter(outcome=EventOutcome.REJECTED, received_at__lt=cutoff, review_notes=None)
    deleted, _ = old.delete()
    return deleted


def process_payment_event(event: PaymentEvent) -> PaymentEvent:
    """Read a stored webhook (or a stored listing) and apply what it says; the outcome is kept
    on the event."""
    try:
        if event.source == EventSource.RECONCILIATION:
            notice = read_stored_notice(event.body, refund=event.shape == "refund")
        else:
            notice = read_callback(event.body)
    except InvalidCallback as exc:
        _finish(event, EventOutcome.INVALID, str(exc))
        return event
    return apply_notice(event=event, notice=notice)


def record_and_apply(*, source: str, notice: Notice) -> PaymentEvent:
    """Store a notice that did not come by webhook (reconciliation, refund check, simulator) with
    what the gateway said, then apply it: the same path as a webhook, without reading JSON again.
    It is stored already described (its shape above all): a run that dies before applying it
    leaves it for staff to run again, and a refund check's answer must then be read as a refund,
    not as a payment listing (process_payment_event)."""
    event = _received(source=source, headers={}, body=getattr(notice, "wire", ""), remote_addr=None)
    _describe(event, notice)
    event.save()
    return apply_notice(event=event, notice=notice)


def apply_notice(*, event: PaymentEvent, notice: Notice) -> PaymentEvent:
    """Apply one notice in its own transaction and keep the outcome on its event. An unexpected
    error is kept on the event too (staff can run it again) and raised."""
    _describe(event, notice)
    if isinstance(notice, IgnoredNotice):
        logger.info("notice ignored event=%s reason=%s", event.pk, notice.reason)
        _finish(event, EventOutcome.IGNORED, notice.reason)
        return event
    try:
        with transaction.atomic():
            if isinstance(notice, RefundNotice):
                outcome, detail = refunds.apply_refund_notice(event=event, notice=notice, now=timezone.now())
            else:
                outcome, detail = completion.apply_payment_notice(event=event, notice=notice, now=timezone.now())
            # Saved under the locks the notice took (the sale's, then the refund's): the event's
            # foreign-key checks then wait for nothing. Saved after the commit, they took key-share
            # locks on the refund and the sale in the database's own order, and deadlocked against
            # a concurrent notice for the same refund holding the sale and waiting for the refund.
            _finish(event, outcome, detail)
    except Exception as exc:
        logger.exception("payment event %s failed", event.pk, extra={"external_id": event.reference or None})
        _finish(event, EventOutcome.ERROR, f"{type(exc).__name__}: {exc}")
        raise
    return event


def _describe(event: PaymentEvent, notice: Notice) -> None:
    """What the notice said, on the event's columns (staff search and filter by these)."""
    event.event_type = notice.event
    if isinstance(notice, PaymentNotice):
        event.shape, event.reference, event.xendit_payment_id = notice.shape, notice.reference, notice.payment_id
        event.reported_status, event.amount = notice.status, storable_amount(notice.amount)
    elif isinstance(notice, RefundNotice):
        event.shape, event.xendit_payment_id = "refund", notice.payment_id
        event.reported_status, event.amount = notice.status, storable_amount(notice.amount)
    else:
        event.shape, event.reference = "ignored", notice.reference


def storable_amount(amount: Decimal | None) -> Decimal | None:
    """The reported amount as the event's column holds it (15 digits, 2 after the point), or None
    when it cannot (the raw body keeps it; the checks still see the real value)."""
    field = PaymentEvent._meta.get_field("amount")
    if amount is None or abs(amount) >= Decimal(10) ** (field.max_digits - field.decimal_places):
        return None
    return amount.quantize(Decimal(1).scaleb(-field.decimal_places), rounding=ROUND_HALF_UP)


def _finish(event: PaymentEvent, outcome: str, detail: str) -> None:
    event.outcome, event.outcome_detail, event.processed_at = outcome, detail, timezone.now()
    event.save(
        update_fields=[
            "event_type",
            "shape",
            "reference",
            "xendit_payment_id",
            "reported_status",
            "amount",
            "sale",
            "refund",
            "outcome",
            "outcome_detail",
            "processed_at",
        ]
    )


def reprocess_payment_event(*, event: PaymentEvent) -> PaymentEvent:
    """Run a stored payment event through processing again, e.g. after the sale it names turned up
    or a processing error was fixed. Idempotent: a payment already applied is recognised by its
    payment id and recorded as a duplicate. An error is recorded on the event, not raised."""
    with transaction.atomic():
        # Locked so two staff re-running the same event cannot overwrite each other's outcome.
        locked = PaymentEvent.objects.select_for_update().get(pk=event.pk)
        trusted_source = locked.source in (EventSource.RECONCILIATION, EventSource.SIMULATOR)
        if locked.outcome not in REPROCESSABLE_OUTCOMES and not (
            trusted_source and locked.outcome == EventOutcome.RECEIVED
        ):
            if locked.outcome in (EventOutcome.REJECTED, EventOutcome.RECEIVED):
                raise EventNotReprocessable(
                    "This notification's callback token was missing, wrong or never checked: it may not "
                    "come from Xendit, so it is never applied."
                )
            raise EventNotReprocessable(f"Its outcome is final: {locked.get_outcome_display()}.")
        try:
            process_payment_event(locked)
        except Exception:
            # apply_notice kept the error on the event (staff read it there) and logged it.
            logger.warning("payment event %s failed again when reprocessed", locked.pk)
    logger.info("payment event %s reprocessed outcome=%s", locked.pk, locked.outcome)
    return locked
