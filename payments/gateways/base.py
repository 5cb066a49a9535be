"""The boundary between our sales and a QRIS payment gateway.

Vendor responses become these dataclasses and vendor failures become these exceptions, once, in
the adapter; nothing past this module sees `requests` or Xendit's JSON.
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


@dataclass(frozen=True)
class QrCode:
    id: str
    reference_id: str
    qr_string: str
    amount: Decimal
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class QrPayment:
    id: str
    qr_id: str
    reference_id: str
    amount: Decimal
    status: str  # normalised: "COMPLETED" for a successful payment
    paid_at: datetime | None
    channel: str
    receipt_id: str
    raw: dict


class PaymentGateway(Protocol):
    name: str
    # Whether expire_sales can ask this gateway about payments it may have missed.
    reconciles: bool

    def create_qr_code(self, *, reference_id: str, amount: Decimal, expires_at: datetime) -> QrCode: ...

    def get_qr_code(self, qr_id: str) -> QrCode: ...

    def list_payments(self, qr_id: str) -> list[QrPayment]: ...
