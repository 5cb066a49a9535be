"""Refunding a payment, and settling refunds from what Xendit says.

Order of work, so no refund is lost or made twice:
1. Under the sale's row lock, check what is left of the payment and commit a PENDING `Refund`.
   Two staff refunding at once queue on that lock; the second sees the first's refund.
2. Ask Xendit, outside any transaction, with an idempotency key derived from the row: a retried
   request is the same refund.
3. Xendit's answer, its `qr.refund` webhook (which may come first) and the refund check in cron
   all settle the row under the sale's lock; a final state is never changed again.

Every lock here takes the sale first, then the refund, as the payment path does.
"""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import errors
from core.formats import rupiah
from payments import transitions
from payments.gateways import GatewayError, GatewayRateLimited, GatewayRejected, RefundNotice, get_gateway
from payments.gateways.pause import pause_calls
from payments.models import (
    PAID_STATUSES,
    EventOutcome,
    PaymentEvent,
    Refund,
    RefundOrigin,
    RefundStatus,
    Sale,
    SaleStatus,
)
from payments.refunds.selectors import ReceivedPayment, received_payments, sale_for_payment, sale_paid_amount
from payments.refunds.words import failure_in_words

logger = logging.getLogger("payments.refunds")

FINAL = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
OUTSIDE_REASON = "Made outside Photobox (Xendit's dashboard or support)"


class RefundRefused(errors.Invalid):
    """Photobox's own rules refuse this refund; the message says why in plain words."""


def _payment_to_refund(sale: Sale, payment_id: str | None) -> ReceivedPayment:
    if sale.is_free_session:
        raise RefundRefused(
            f"{sale.external_id} was a free session (voucher {sale.voucher_code}): nothing was paid, so there is "
            "nothing to refund."
        )
    payments = received_payments(sale)
    if not payments:
        if sale.status in (SaleStatus.COMPLETED, SaleStatus.REFUNDED):
            raise RefundRefused(
                f"{sale.external_id} was paid without a Xendit payment id (the earlier service's notice), so Xendit "
                "cannot refund it. Pay the customer back another way and note it on the sale."
            )
        raise RefundRefused(f"{sale.external_id} was never paid: there is nothing to refund.")
    if payment_id:
        for payment in payments:
            if payment.payment_id == payment_id:
                return payment
        known = ", ".join(p.payment_id for p in payments)
        raise RefundRefused(f"Payment {payment_id} is not a payment of {sale.external_id} (its payments: {known}).")
    own = [payment for payment in payments if payment.pays_the_sale]
    if not own:
        unpaid = "was paid without a Xendit payment id" if sale.status in PAID_STATUSES else "is not paid"
        raise RefundRefused(
            f"{sale.external_id} {unpaid}, but received other payments: say which one to refund "
            f"({', '.join(p.payment_id for p in payments)})."
        )
    return own[0]


def _checked_amount(payment: ReceivedPayment, amount: Decimal | None) -> Decimal:
    left = payment.left
    if left <= 0:
        raise RefundRefused(
            f"Nothing is left to refund of payment {payment.payment_id}: {rupiah(payment.refunded)} refunded, "
            f"{rupiah(payment.pending)} waiting for Xendit, of {rupiah(payment.amount)} paid."
        )
    if amount is None:
        return left
    if amount <= 0 or amount != amount.to_integral_value():
        raise RefundRefused("The amount must be a whole number of rupiah, at least Rp 1.")
    if amount > left:
        raise RefundRefused(
            f"At most {rupiah(left)} can be refunded of payment {payment.payment_id}: {rupiah(payment.amount)} paid, "
            f"{rupiah(payment.refunded)} refunded, {rupiah(payment.pending)} waiting for Xendit."
        )
    return amount


def request_refund(
    *,
    sale: Sale,
    reason: str,
    requested_by,
    amount: Decimal | None = None,
    payment_id: str | None = None,
    request_key: str | None = None,
) -> Refund:
    """Refund `amount` (default: all that is left) of a payment of the sale (default: the one that
    paid it) and ask Xendit. Returns the refund: PENDING (Xendit settles it later, or could not be
    asked now and the refund check sends it), SUCCEEDED, or FAILED with Xendit's failure code.
    Raises RefundRefused when our rules say no. Must not run inside a transaction: the refund is
    committed before Xendit is called."""
    reason = reason.strip()
    if not reason:
        raise RefundRefused("A reason is required: say why the money is given back.")
    with transaction.atomic():
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
        if request_key and (done := Refund.objects.filter(request_key=request_key).first()) is not None:
            if done.sale_id != locked.pk:
                raise RefundRefused("This refund form was made for another sale: open the refund page again.")
            return done  # the same form sent twice (a double click): that refund, not a second one
        payment = _payment_to_refund(locked, payment_id)
        refund = Refund.objects.create(
            sale=locked,
            payment_id=payment.payment_id,
            amount=_checked_amount(payment, amount),
            reason=reason,
            origin=RefundOrigin.STAFF,
            requested_by=requested_by,
            request_key=request_key or None,
        )
    logger.info(
        "refund requested external_id=%s refund=%s payment=%s amount=%s",
        locked.external_id,
        refund.pk,
        refund.payment_id,
        refund.amount,
        extra={"external_id": locked.external_id},
    )
    try:
        return send_refund(refund=refund, pays_the_sale=payment.pays_the_sale)
    except GatewayRateLimited as exc:
        # Nothing was sent: the refund check sends it once Xendit takes calls again.
        pause_calls(exc.retry_after)
        logger.warning("refund %s not sent: Xendit's rate limit; the refund check will send it", refund.pk)
        return refund


def send_refund(*, refund: Refund, pays_the_sale: bool) -> Refund:
    """Ask Xendit for a PENDING refund (again: the key makes it the same refund). A refusal fails
    the refund; no answer leaves it PENDING for the refund check. Raises GatewayRateLimited so a
    batch can stop; the refund stays PENDING."""
    Refund.objects.filter(pk=refund.pk).update(gateway_called_at=timezone.now())
    try:
        answer = get_gateway().create_refund(
            payment_id=refund.payment_id,
            amount=refund.amount,
            reason="REQUESTED_BY_CUSTOMER" if pays_the_sale else "DUPLICATE",
            idempotency_key=refund.idempotency_key,
        )
    except GatewayRejected as exc:
        return fail_refund(refund=refund, failure_code=exc.error_code)
    except GatewayRateLimited:
        raise
    except GatewayError as exc:
        logger.warning("refund %s not confirmed by Xendit (%s): the refund check will ask", refund.pk, exc)
        return refund
    return record_gateway_answer(refund=refund, notice=answer)


def record_gateway_answer(*, refund: Refund, notice: RefundNotice) -> Refund:
    """Keep Xendit's refund id on our refund and settle it if the answer is final."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=refund.sale_id)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        taken = Refund.objects.filter(xendit_refund_id=notice.refund_id).exclude(pk=locked.pk).exists()
        if taken:
            # Its webhook came first and settled another of our refunds of the same payment and
            # amount: that one's answer will name the other id (the refund check matches it if not).
            logger.warning("refund %s: Xendit's id %s is already on another refund", locked.pk, notice.refund_id)
            return locked
        # The answer always names Xendit's refund (XenditGateway._refund refuses one without an id).
        if locked.xendit_refund_id is None:
            locked.xendit_refund_id = notice.refund_id
            locked.save(update_fields=["xendit_refund_id", "updated_at"])
        if notice.status in FINAL and locked.status == RefundStatus.PENDING:
            _settle(sale=sale, refund=locked, notice=notice, now=timezone.now())
    return locked


def fail_refund(*, refund: Refund, failure_code: str) -> Refund:
    """PENDING -> FAILED (Xendit refused the request). A no-op for a refund already settled."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=refund.sale_id)
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status == RefundStatus.PENDING:
            notice = RefundNotice(
                refund_id=locked.xendit_refund_id or "",
                payment_id=locked.payment_id,
                status="FAILED",
                amount=None,
                failure_code=failure_code[:100],
            )
            _settle(sale=sale, refund=locked, notice=notice, now=timezone.now())
    return locked


def refund_failure_text(refund: Refund) -> str:
    return failure_in_words(refund.failure_code)


# --- Xendit's refund notices ---------------------------------------------------------------------
def apply_refund_notice(*, event: PaymentEvent, notice: RefundNotice, now: datetime) -> tuple[str, str]:
    """Settle the refund a notice is about, under its sale's row lock. Call inside a transaction.
    A refund never changes whether a sale was paid; one made outside Photobox is recorded."""
    if not notice.payment_id or not notice.refund_id:
        return EventOutcome.IGNORED, "A refund notice without a refund id or payment id"
    sale = sale_for_payment(notice.payment_id)
    if sale is None:
        return (
            EventOutcome.IGNORED,
            f"Refund {notice.refund_id} of payment {notice.payment_id}, which no sale of ours has",
        )
    event.sale = sale
    refund = Refund.objects.select_for_update().filter(xendit_refund_id=notice.refund_id).first()
    new = refund is None
    if refund is None:
        refund = _adopt(sale=sale, notice=notice) or _record_outside(sale=sale, notice=notice, now=now)
    if refund is None:
        transitions.flag(
            sale=sale,
            reason=f"Xendit reported refund {notice.refund_id} without an amount: check it in Xendit",
            event=event,
        )
        return EventOutcome.IGNORED, f"Refund {notice.refund_id} states no amount; not recorded"
    event.refund = refund
    if notice.status not in FINAL:
        if new:
            return EventOutcome.APPLIED, f"Refund {notice.refund_id} of {rupiah(refund.amount)} recorded: in progress"
        return EventOutcome.IGNORED, f"Refund {notice.refund_id} is still {notice.status or 'unsettled'} at Xendit"
    if refund.status == notice.status:
        return EventOutcome.DUPLICATE, f"Refund {notice.refund_id} was already {refund.get_status_display().lower()}"
    if refund.status != RefundStatus.PENDING:
        # Final states are final: a contrary report is kept for staff, never applied.
        transitions.flag(
            sale=sale,
            reason=f"Xendit reported refund {notice.refund_id} as {notice.status} after {refund.status}: "
            "check it in Xendit",
            event=event,
        )
        logger.warning("refund %s reported %s after %s", notice.refund_id, notice.status, refund.status)
        return (
            EventOutcome.IGNORED,
            f"Refund {notice.refund_id} is already {refund.status}; {notice.status} not applied",
        )
    return EventOutcome.APPLIED, _settle(sale=sale, refund=refund, notice=notice, now=now, event=event)


def _adopt(*, sale: Sale, notice: RefundNotice) -> Refund | None:
    """Our own refund whose request has not been answered yet (the webhook came first, or the
    answer was lost): the oldest unanswered one of that payment and amount."""
    if notice.amount is None:  # ours always have one
        return None
    refund = (
        Refund.objects.select_for_update()
        .filter(
            sale=sale,
            payment_id=notice.payment_id,
            status=RefundStatus.PENDING,
            xendit_refund_id__isnull=True,
            amount=notice.amount,
        )
        .order_by("created_at", "pk")
        .first()
    )
    if refund is not None:
        refund.xendit_refund_id = notice.refund_id
        refund.save(update_fields=["xendit_refund_id", "updated_at"])
    return refund


def _record_outside(*, sale: Sale, notice: RefundNotice, now: datetime) -> Refund | None:
    if notice.amount is None or notice.amount <= 0:
        return None
    logger.warning(
        "refund made outside Photobox external_id=%s refund=%s",
        sale.external_id,
        notice.refund_id,
        extra={"external_id": sale.external_id},
    )
    return Refund.objects.create(
        sale=sale,
        payment_id=notice.payment_id,
        amount=notice.amount,
        reason=OUTSIDE_REASON,
        origin=RefundOrigin.XENDIT,
        xendit_refund_id=notice.refund_id,
        created_at=now,
    )


def _settle(
    *, sale: Sale, refund: Refund, notice: RefundNotice, now: datetime, event: PaymentEvent | None = None
) -> str:
    """PENDING -> SUCCEEDED or FAILED, both rows locked. A refund that went through counts on the
    sale when it refunds the sale's own payment; all of it refunded makes the sale REFUNDED.
    `event`: the refund notice that settled it, if one did (not Xendit's answer to our request)."""
    refund.status, refund.settled_at = notice.status, now
    refund.failure_code = notice.failure_code if notice.status == RefundStatus.FAILED else ""
    refund.save(update_fields=["status", "settled_at", "failure_code", "updated_at"])
    what = f"Refund {refund.xendit_refund_id or refund.pk} of {rupiah(refund.amount)}"
    if refund.status == RefundStatus.FAILED:
        # The money was not given back: on staff's review list until someone pays it back another
        # way (or refunds again) and notes what was done.
        transitions.flag(
            sale=sale,
            reason=f"{what} failed ({refund.failure_code or 'no reason given'}): "
            + failure_in_words(refund.failure_code),
            event=event,
        )
        logger.warning("refund %s failed: %s", refund.pk, refund.failure_code)
        return f"{what}: failed ({refund.failure_code or 'no reason given'})"
    if notice.amount is not None and notice.amount != refund.amount:
        transitions.flag(
            sale=sale,
            reason=f"Xendit refunded {rupiah(notice.amount)} for refund {what}: check it in Xendit",
            event=event,
        )
    logger.info(
        "refund %s went through external_id=%s", refund.pk, sale.external_id, extra={"external_id": sale.external_id}
    )
    if refund.payment_id != sale.xendit_payment_id:
        return f"{what}: went through (an extra payment given back)"
    return f"{what}: went through" + _count_on_sale(sale=sale, refund=refund, event=event, now=now)


def _count_on_sale(*, sale: Sale, refund: Refund, event: PaymentEvent | None, now: datetime) -> str:
    """Add a refund of the sale's own payment to the sale; the transition COMPLETED -> REFUNDED
    once all of it is given back. The sale is locked by the caller."""
    sale.refunded_amount += refund.amount
    sale.save(update_fields=["refunded_amount", "updated_at"])
    paid = sale_paid_amount(sale)
    if sale.refunded_amount > paid:
        transitions.flag(
            sale=sale, reason=f"Refunded {rupiah(sale.refunded_amount)}, more than the {rupiah(paid)} paid", event=event
        )
    if sale.refunded_amount >= paid and transitions.refund(
        sale=sale, event=event, actor_id=refund.requested_by_id, now=now
    ):
        logger.info("sale refunded external_id=%s", sale.external_id, extra={"external_id": sale.external_id})
        return "; sale COMPLETED -> REFUNDED"
    return ""
