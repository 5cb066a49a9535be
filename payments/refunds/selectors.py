"""What a sale received and what of it can still be given back."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, Sum, prefetch_related_objects

from payments.models import PAID_STATUSES, EventOutcome, PaymentEvent, Refund, RefundStatus, Sale

# Payments that reached us for a sale without paying it: a second payment, or one of the wrong
# amount. The money was taken all the same, so staff can give it back.
EXTRA_PAYMENT_OUTCOMES = (EventOutcome.DOUBLE_PAYMENT, EventOutcome.AMOUNT_MISMATCH)


@dataclass(frozen=True)
class ReceivedPayment:
    payment_id: str
    amount: Decimal
    pays_the_sale: bool  # False: an extra payment (paid twice, or the wrong amount)
    refunded: Decimal = Decimal(0)  # refunds that went through
    pending: Decimal = Decimal(0)  # refunds Xendit has not settled yet

    @property
    def left(self) -> Decimal:
        return self.amount - self.refunded - self.pending

    @property
    def label(self) -> str:
        kind = "the sale's payment" if self.pays_the_sale else "extra payment"
        return f"{self.payment_id} ({kind})"


def sale_paid_amount(sale: Sale) -> Decimal:
    """What the sale's own payment brought: its stated amount, else (the earlier service's body,
    which states none) the sale's amount, which is what Xendit's QR code asked for."""
    return sale.paid_amount if sale.paid_amount is not None else sale.amount


def received_payments(sale: Sale) -> list[ReceivedPayment]:
    """Every successful Xendit payment this sale received, the one that paid it first, with what
    was refunded of each. Three queries."""
    payments: dict[str, dict] = {}
    if sale.status in PAID_STATUSES and sale.xendit_payment_id:
        payments[sale.xendit_payment_id] = {"amount": sale_paid_amount(sale), "pays_the_sale": True}
    extras = list(
        PaymentEvent.objects.filter(
            sale=sale, outcome__in=EXTRA_PAYMENT_OUTCOMES, reported_status="COMPLETED", amount__gt=0
        )
        .exclude(xendit_payment_id="")
        .order_by("received_at")
        .values_list("xendit_payment_id", "amount")
    )
    # A "double payment" may be a payment that paid another sale (one QR paid twice by a retry):
    # that one is the other sale's, never refundable from here.
    elsewhere = set(
        Sale.objects.filter(xendit_payment_id__in=[p for p, _ in extras]).values_list("xendit_payment_id", flat=True)
    )
    for payment_id, amount in extras:
        if payment_id not in payments and payment_id not in elsewhere:
            payments[payment_id] = {"amount": amount, "pays_the_sale": False}
    if not payments:
        return []
    totals = {
        (row["payment_id"], row["status"]): row["total"]
        for row in Refund.objects.filter(sale=sale)
        .values("payment_id", "status")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    return [
        ReceivedPayment(
            payment_id=payment_id,
            refunded=totals.get((payment_id, RefundStatus.SUCCEEDED), Decimal(0)),
            pending=totals.get((payment_id, RefundStatus.PENDING), Decimal(0)),
            **fields,
        )
        for payment_id, fields in payments.items()
    ]


def sale_for_payment(payment_id: str) -> Sale | None:
    """The sale a Xendit payment id belongs to: the one it paid, or the one it reached as an
    extra payment. Locked (call inside a transaction): a refund settles under the sale's lock."""
    locked = Sale.objects.select_for_update()
    sale = locked.filter(xendit_payment_id=payment_id).first()
    if sale is None:
        # An extra payment's notice always has its sale (payments.completion sets it before it
        # tells a double payment or a wrong amount).
        extra = (
            PaymentEvent.objects.filter(xendit_payment_id=payment_id)
            .filter(Q(outcome__in=EXTRA_PAYMENT_OUTCOMES))
            .values_list("sale_id", flat=True)
            .first()
        )
        sale = locked.filter(pk=extra).first() if extra else None
    return sale


def refunds_of(sale: Sale) -> list[Refund]:
    """The sale's refunds, oldest first, with who asked: read once per sale instance (the sale
    page's refund box and its history share them)."""
    prefetch_related_objects([sale], Prefetch("refunds", queryset=Refund.objects.select_related("requested_by")))
    return list(sale.refunds.all())


def refund_search_filter(term: str) -> Q:
    """The refunds' search box: a sale number, a Xendit refund id or a Xendit payment id."""
    term = term.strip()
    sales = Sale.objects.filter(external_id__in=sorted({term, term.upper()})).values("pk")
    return Q(sale_id__in=sales) | Q(xendit_refund_id=term) | Q(payment_id=term)
