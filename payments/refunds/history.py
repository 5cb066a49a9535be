"""A sale's refunds as lines of its history (payments.selectors.sale_history): each refund asked
for (who, how much, why) and each one settled (went through, or failed with Xendit's code)."""

from decimal import Decimal

from core.formats import rupiah
from payments.models import EventOutcome, PaymentEvent, RefundOrigin, RefundStatus, Sale, SaleStatus
from payments.refunds.selectors import refunds_of, sale_paid_amount
from payments.refunds.words import failure_in_words
from payments.selectors import HistoryEntry

SETTLED = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)


def refund_history(sale: Sale, events: list[PaymentEvent]) -> tuple[list[HistoryEntry], set[int]]:
    """The history lines of the sale's refunds, and the ids of the notices that settled them: a
    settlement line stands for its notice (and links to it), so the caller leaves those out.
    One query, shared with the refund box (refunds_of)."""
    refunds = refunds_of(sale)
    if not refunds:
        return [], set()
    settled_by = {
        event.refund_id: event
        for event in events
        if event.refund_id and event.outcome == EventOutcome.APPLIED and event.reported_status in SETTLED
    }
    entries = []
    for refund in refunds:
        own = refund.payment_id == sale.xendit_payment_id
        whose = f"the sale's payment {refund.payment_id}" if own else f"the extra payment {refund.payment_id}"
        if refund.origin == RefundOrigin.XENDIT:
            what, detail = "Refund made outside Photobox (in Xendit), reported by Xendit", f"Of {whose}"
        else:
            what, detail = f"Refund asked for by {refund.requested_by_name}", f"“{refund.reason}”, of {whose}"
        if refund.status == RefundStatus.PENDING:
            detail += "; waiting for Xendit"
        entries.append(HistoryEntry(at=refund.created_at, what=what, detail=detail, amount=refund.amount))
    entries.extend(_settlements(sale, refunds, settled_by))
    return entries, {event.pk for event in settled_by.values()}


def _settlements(sale: Sale, refunds, settled_by: dict) -> list[HistoryEntry]:
    paid, given_back, entries = sale_paid_amount(sale), Decimal(0), []
    # A settled refund always has its settled_at (the constraint refund_settled_has_time).
    settled = sorted((r for r in refunds if r.status in SETTLED), key=lambda r: (r.settled_at, r.pk))
    for refund in settled:
        event = settled_by.get(refund.pk)
        if refund.status == RefundStatus.FAILED:
            code = refund.failure_code or "no reason given"
            entries.append(
                HistoryEntry(
                    at=refund.settled_at,
                    what=f"Refund failed ({code}): no money was given back",
                    detail=failure_in_words(refund.failure_code),
                    amount=refund.amount,
                    event=event,
                )
            )
            continue
        if refund.payment_id != sale.xendit_payment_id:
            detail = f"The extra payment {refund.payment_id} is given back; the sale itself is unchanged"
        else:
            before, given_back = given_back, given_back + refund.amount
            detail = _given_back_in_words(sale, paid=paid, before=before, given_back=given_back)
        # One that went through always has Xendit's refund id: Xendit's answers without one are
        # refused (XenditGateway._refund), so are notices (apply_refund_notice), and refunds are
        # read-only in the admin.
        entries.append(
            HistoryEntry(
                at=refund.settled_at,
                what=f"Refund went through (Xendit refund {refund.xendit_refund_id})",
                detail=detail,
                amount=refund.amount,
                event=event,
            )
        )
    return entries


def _given_back_in_words(sale: Sale, *, paid: Decimal, before: Decimal, given_back: Decimal) -> str:
    """What one more refund of the sale's own payment leaves: part of it, all of it, or more than
    was paid (a refund made in Xendit's dashboard on top of ours; the sale is flagged for review)."""
    refunded = sale.status == SaleStatus.REFUNDED
    over = f"{rupiah(given_back - paid)} more than the {rupiah(paid)} paid"
    if refunded and before < paid <= given_back:
        return "All of the payment is given back: Paid → Refunded" + (f" ({over})" if given_back > paid else "")
    if before >= paid:
        return f"{rupiah(given_back)} given back in all: {over}" + (
            "; the sale was already refunded" if refunded else ""
        )
    return f"{rupiah(given_back)} of the {rupiah(paid)} paid given back so far; the sale stays paid"
