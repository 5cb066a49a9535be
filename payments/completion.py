"""A payment notice meets its sale: verified, then applied once, under the sale's row lock.

A notice moves money only when it is a successful payment, in rupiah, of exactly the sale's
amount. Anything else leaves the sale as it is and flags it for staff with the reason. Xendit
retries until it gets a 2xx and may deliver one payment several times, in any order, even after
the QR code expired: duplicates are recognised by the payment id.
"""

import logging
from datetime import datetime, timedelta

from core.formats import rupiah
from payments import transitions
from payments.gateways import PaymentNotice
from payments.models import PAID_STATUSES, EventOutcome, PaymentEvent, Sale, SaleStatus

logger = logging.getLogger("payments")

# How far Xendit's clock may be from ours: a payment time this far outside the sale's life is
# still believed (and clamped to now when it is in the future).
CLOCK_SKEW = timedelta(minutes=5)


def trusted_paid_at(*, sale: Sale, notice: PaymentNotice, received_at: datetime) -> datetime:
    """The payment's time as the notice states it, if it lies within the sale's life (allowing
    CLOCK_SKEW); otherwise when we received it. Photo retention counts from this time, so a time
    from the payload must never be days away from the truth."""
    stated = notice.paid_at
    if stated is None or not sale.created_at - CLOCK_SKEW <= stated <= received_at + CLOCK_SKEW:
        return received_at
    return min(stated, received_at)


def payment_problem(*, sale: Sale, notice: PaymentNotice) -> tuple[str, str] | None:
    """Why this successful payment must not complete the sale: (outcome, reason for staff)."""
    payment = notice.payment_id or "(no id)"
    if notice.currency and notice.currency != "IDR":
        return EventOutcome.CURRENCY_MISMATCH, (
            f"Currency mismatch: payment {payment} was in {notice.currency}, not rupiah (IDR)"
        )
    if notice.amount is None and notice.states_amount:
        return EventOutcome.AMOUNT_MISMATCH, (
            f"Amount mismatch: payment {payment} stated {notice.amount_problem or 'no amount'} "
            f"for a sale of {rupiah(sale.amount)}"
        )
    if notice.amount is not None and notice.amount != sale.amount:
        return EventOutcome.AMOUNT_MISMATCH, (
            f"Amount mismatch: payment {payment} of {rupiah(notice.amount)} for a sale of {rupiah(sale.amount)}"
        )
    return None


def _locked_sale(notice: PaymentNotice) -> Sale | None:
    locked = Sale.objects.select_for_update()
    sale = locked.filter(external_id=notice.reference).first() if notice.reference else None
    if sale is None and notice.qr_id:
        sale = locked.filter(xendit_qr_id=notice.qr_id).first()
    return sale


def apply_payment_notice(*, event: PaymentEvent, notice: PaymentNotice, now: datetime) -> tuple[str, str]:
    """Apply a payment notice to its sale under the sale's row lock. Call inside a transaction.
    Returns the event's (outcome, detail)."""
    sale = _locked_sale(notice)
    if sale is None:
        return EventOutcome.UNKNOWN_SALE, f"No sale with reference {notice.reference!r} or QR id {notice.qr_id!r}"
    event.sale = sale

    if notice.status in (SaleStatus.FAILED, SaleStatus.EXPIRED):
        # Only the earlier service's flat body reports these; it may end a sale still awaiting payment.
        if sale.status != SaleStatus.PENDING:
            return EventOutcome.IGNORED, f"Sale is already {sale.status}"
        cause = transitions.cause_of(event)
        if notice.status == SaleStatus.FAILED:
            transitions.fail(sale=sale, cause=cause, event=event, now=now)
        else:
            transitions.expire(sales=Sale.objects.filter(pk=sale.pk), cause=cause, now=now, event=event)
        logger.info(
            "sale %s by notice external_id=%s",
            notice.status.lower(),
            sale.external_id,
            extra={"external_id": sale.external_id},
        )
        return EventOutcome.APPLIED, f"PENDING -> {notice.status}"

    if notice.status != SaleStatus.COMPLETED:
        return EventOutcome.IGNORED, f"Status {notice.status or '(none)'} is not a successful payment"

    if notice.payment_id and sale.xendit_payment_id == notice.payment_id:
        return EventOutcome.DUPLICATE, f"Payment {notice.payment_id} was already applied"
    if sale.status in PAID_STATUSES:
        if notice.payment_id and sale.xendit_payment_id:
            transitions.flag(
                sale=sale,
                reason=f"Second payment {notice.payment_id} received for an already paid sale (refund?)",
                event=event,
            )
            logger.warning(
                "double payment external_id=%s payment=%s",
                sale.external_id,
                notice.payment_id,
                extra={"external_id": sale.external_id},
            )
            return EventOutcome.DOUBLE_PAYMENT, "Sale was already paid by another payment"
        return EventOutcome.DUPLICATE, "Sale was already paid"

    problem = payment_problem(sale=sale, notice=notice)
    if problem is not None:
        outcome, reason = problem
        transitions.flag(sale=sale, reason=reason, event=event)
        logger.warning(
            "payment not applied external_id=%s reason=%s",
            sale.external_id,
            reason,
            extra={"external_id": sale.external_id},
        )
        return outcome, f"{reason}; sale not completed"
    return _complete(sale=sale, notice=notice, event=event, now=now)


def _complete(*, sale: Sale, notice: PaymentNotice, event: PaymentEvent, now: datetime) -> tuple[str, str]:
    """The notice's payment completes the sale (transitions.complete); the event's outcome."""
    previous = sale.status
    try:
        transitions.complete(
            sale=sale,
            paid_at=trusted_paid_at(sale=sale, notice=notice, received_at=now),
            paid_amount=notice.amount,  # None: the earlier service's body stated no amount
            payment_id=notice.payment_id,
            channel=notice.channel,
            receipt_id=notice.receipt_id,
            cause=transitions.cause_of(event),
            event=event,
        )
    except transitions.PaymentOnAnotherSale:
        return EventOutcome.DOUBLE_PAYMENT, f"Payment {notice.payment_id} already belongs to another sale"
    logger.info(
        "sale completed external_id=%s payment=%s previous=%s",
        sale.external_id,
        notice.payment_id,
        previous,
        extra={"external_id": sale.external_id},
    )
    return EventOutcome.APPLIED, f"{previous} -> COMPLETED"
