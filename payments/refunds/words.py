"""Xendit's refund failure codes in plain words for staff, each with what to do instead.

Codes from xendit.md §11.5 and §11.7 (the QR refund API and the /refunds API name the same
failures differently; both are mapped).
"""

OUTSIDE_XENDIT = (
    "Pay the customer back another way (a bank transfer, or Xendit's disbursements), then note what was "
    "done with “Mark problem resolved”."
)

FAILURES = {
    "REFUND_NOT_SUPPORTED": "The customer's bank or wallet (GoPay, for one) does not accept refunds through Xendit. "
    + OUTSIDE_XENDIT,
    "PARTIAL_REFUND_NOT_SUPPORTED": "The customer's bank or wallet accepts only a refund of the whole payment. "
    "Refund the full amount, or pay the difference back another way.",
    "MAXIMUM_REFUND_AMOUNT_REACHED": "Xendit says less is left of this payment than was asked: it may have been "
    "refunded in Xendit's dashboard. Wait for the refund webhook, then check the amounts left on the sale.",
    "REFUND_AMOUNT_EXCEEDED": "Xendit says less is left of this payment than was asked: it may have been refunded "
    "in Xendit's dashboard. Wait for the refund webhook, then check the amounts left on the sale.",
    "REFUND_IN_PROGRESS": "Another refund of this payment is still being processed by Xendit. Wait until it has "
    "gone through, then refund what is left.",
    "INELIGIBLE_TRANSACTION": "Xendit can no longer refund this payment: its refund window (30 days after payment) "
    "has passed, or the payment is not in a refundable state. " + OUTSIDE_XENDIT,
    "INELIGIBLE_TRANSACTION_STATUS": "Xendit can no longer refund this payment (its refund window has passed, or the "
    "payment is not in a refundable state). " + OUTSIDE_XENDIT,
    "INSUFFICIENT_BALANCE": "The Xendit balance is too low to pay this refund. Top up the balance in Xendit's "
    "dashboard, then refund again.",
    "TEMPORARILY_UNAVAILABLE": "The QR partner cannot refund right now (settlement constraints). Try again later.",
    "DATA_NOT_FOUND": "Xendit does not know this payment. Check the payment id in Xendit's dashboard; "
    + OUTSIDE_XENDIT,
    "API_VALIDATION_ERROR": "Xendit did not accept the request as sent. Check the amount (whole rupiah, at least "
    "Rp 1) and try again; if it fails again, refund in Xendit's dashboard.",
    "IDEMPOTENCY_ERROR": "Xendit already has a different refund under this refund's key. Look for it in Xendit's "
    "dashboard before refunding again.",
    "INVALID_API_KEY": "Xendit refused Photobox's API key. Ask whoever runs the server to check XENDIT_API_KEY.",
}


def failure_in_words(code: str) -> str:
    """What a failure code means and what to do, for a code Xendit may send or one we never saw."""
    if not code:
        return "Xendit gave no reason. " + OUTSIDE_XENDIT
    return FAILURES.get(code, f"Xendit refused it ({code}). " + OUTSIDE_XENDIT)
