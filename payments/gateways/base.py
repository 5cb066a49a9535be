"""The boundary between our sales and a QRIS payment gateway.

Vendor responses and callbacks become these dataclasses and vendor failures become these
exceptions, once, in the adapter; nothing past this package sees `requests` or Xendit's JSON.
A callback, a listed payment or a refund answer is a *notice*: `PaymentNotice`, `RefundNotice`
or `IgnoredNotice` (something stored and explained, never applied to a sale).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


class GatewayError(Exception):
    """The gateway did not do what we asked."""

    def __init__(self, message: str, *, error_code: str = "", http_status: int | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.http_status = http_status


class GatewayRejected(GatewayError):
    """The gateway answered and refused the request (a 4xx): retrying the same request won't help."""


class GatewayUnavailable(GatewayError):
    """The gateway could not be reached or failed on its side; nothing was created."""


class GatewayTimeout(GatewayUnavailable):
    """The request was sent but no answer came in time: it may or may not have taken effect."""


class GatewayRateLimited(GatewayUnavailable):
    """The gateway refused the call for its rate limit (HTTP 429): nothing was done. Call again
    after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, error_code: str = "RATE_LIMIT_EXCEEDED"):
        super().__init__(message, error_code=error_code, http_status=429)
        self.retry_after = retry_after


class InvalidCallback(Exception):
    """A callback body that is no notice at all (not JSON, not an object, a payment with no sale
    reference): answered 422, stored as invalid."""


@dataclass(frozen=True)
class QrCode:
    id: str
    reference_id: str
    qr_string: str
    amount: Decimal
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class PaymentNotice:
    """A QR payment as the gateway reported it: by callback, in a listing, or from the simulator."""

    shape: str  # "2022-07-31", "legacy", "flat" (the earlier service's body), "listing", "simulator"
    reference: str  # our external id
    qr_id: str
    payment_id: str
    status: str  # COMPLETED, FAILED, EXPIRED, or whatever else was reported
    amount: Decimal | None
    # Why `amount` is None although the shape requires one: "no amount", "unreadable amount '…'".
    amount_problem: str = ""
    currency: str = ""  # as stated, upper case; "" when not stated
    paid_at: datetime | None = None  # the payload's own time: never trusted without bounds
    channel: str = ""  # the customer's bank or wallet
    receipt_id: str = ""
    event: str = ""
    # The notice as received, for the stored event only: nothing past the adapter reads it.
    wire: str = ""

    @property
    def states_amount(self) -> bool:
        """Only the earlier service's flat body may leave the amount out."""
        return self.shape != "flat" or self.amount is not None or bool(self.amount_problem)


@dataclass(frozen=True)
class RefundNotice:
    """A refund as the gateway reported it: its answer to our request, a listing, or a webhook."""

    refund_id: str
    payment_id: str
    status: str  # PENDING, SUCCEEDED, FAILED, or whatever else was reported
    amount: Decimal | None
    failure_code: str = ""
    refunded_at: datetime | None = None
    event: str = ""
    wire: str = ""


@dataclass(frozen=True)
class IgnoredNotice:
    """A callback that is not ours to apply (another product's event, another business's QR
    code): stored, answered 200, never applied to a sale."""

    reason: str
    event: str = ""
    reference: str = ""


Notice = PaymentNotice | RefundNotice | IgnoredNotice


class PaymentGateway(Protocol):
    name: str
    # Whether expire_sales and the refund check can ask this gateway about what they may have missed.
    reconciles: bool

    def create_qr_code(self, *, reference_id: str, amount: Decimal, expires_at: datetime) -> QrCode: ...

    def list_payments(self, qr_id: str) -> list[PaymentNotice]: ...

    def create_refund(self, *, payment_id: str, amount: Decimal, reason: str, idempotency_key: str) -> RefundNotice: ...

    def get_refund(self, *, payment_id: str, refund_id: str) -> RefundNotice: ...

    def list_refunds(self, *, payment_id: str) -> list[RefundNotice]: ...
