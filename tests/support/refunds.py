"""What the refund tests share: asking for a refund as staff do, and the texts staff read."""

from decimal import Decimal

from payments.models import Refund, Sale
from payments.refunds.services import request_refund

LOW_BALANCE = (
    "The Xendit balance is too low to pay this refund. Top up the balance in Xendit's dashboard, then refund again."
)
NO_REASON = (
    "Xendit gave no reason. Pay the customer back another way (a bank transfer, or Xendit's disbursements), "
    "then note what was done with “Mark problem resolved”."
)


def ask(sale: Sale, *, amount: int | None = None, reason: str = "Printer jammed", by=None, **fields) -> Refund:
    """Staff ask for a refund of the sale: in full, or of `amount` rupiah."""
    return request_refund(
        sale=sale, reason=reason, requested_by=by, amount=None if amount is None else Decimal(amount), **fields
    )
