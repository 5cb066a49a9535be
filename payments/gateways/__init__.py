"""The payment gateway: Xendit, or the simulator chosen by settings (PAYMENT_GATEWAY).

Everything past this package sees notices and typed errors, never Xendit's JSON.
"""

import functools
import json

from django.conf import settings

from payments.gateways.base import (
    GatewayError,
    GatewayRateLimited,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    IgnoredNotice,
    InvalidCallback,
    Notice,
    PaymentGateway,
    PaymentNotice,
    QrCode,
    RefundNotice,
)
from payments.gateways.simulator import SimulatorGateway
from payments.gateways.xendit import XenditClient
from payments.gateways.xendit_wire import read_callback as _read_xendit_callback
from payments.gateways.xendit_wire import read_listed_payment, read_refund

__all__ = [
    "GatewayError",
    "GatewayRateLimited",
    "GatewayRejected",
    "GatewayTimeout",
    "GatewayUnavailable",
    "IgnoredNotice",
    "InvalidCallback",
    "Notice",
    "PaymentGateway",
    "PaymentNotice",
    "QrCode",
    "RefundNotice",
    "SimulatorGateway",
    "get_gateway",
    "read_callback",
    "read_stored_notice",
    "simulator_on",
    "simulator_pay_available",
]


@functools.lru_cache(maxsize=8)
def _build(name: str, base_url: str, api_key: str, connect_timeout: float, read_timeout: float) -> PaymentGateway:
    if name == "xendit":
        return XenditClient(
            base_url=base_url, api_key=api_key, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
    return SimulatorGateway()


def simulator_on() -> bool:
    """PAYMENT_GATEWAY=simulator: payments are simulated, never taken (staff may simulate them)."""
    return settings.PAYMENT_GATEWAY == "simulator"


def simulator_pay_available() -> bool:
    """Whether a sale may be paid through the simulator over HTTP (POST /api/v1/simulator/...,
    the demo kiosk's pay button): never without DEBUG, even with the simulator on."""
    return settings.DEBUG and simulator_on()


def get_gateway() -> PaymentGateway:
    """The configured gateway; one per configuration per process, so HTTP connections are reused."""
    return _build(
        settings.PAYMENT_GATEWAY,
        settings.XENDIT_API_URL,
        settings.XENDIT_API_KEY,
        settings.XENDIT_CONNECT_TIMEOUT,
        settings.XENDIT_READ_TIMEOUT,
    )


def read_callback(body: bytes | str) -> Notice:
    """What a callback to our webhook URL says (the simulator's notices are Xendit's shapes too).
    Raises InvalidCallback for a body that is no notice at all."""
    return _read_xendit_callback(body, business_id=settings.XENDIT_BUSINESS_ID)


def read_stored_notice(wire: str, *, refund: bool) -> Notice:
    """What the gateway told reconciliation or the refund check, as kept on the event, read again
    (staff re-running an event). Events kept before notices were stored as webhooks are read so."""
    try:
        item = json.loads(wire)
    except ValueError:
        raise InvalidCallback("The stored answer is not JSON") from None
    if not isinstance(item, dict):
        raise InvalidCallback("The stored answer is not a JSON object")
    if "event" in item:
        return read_callback(wire)
    return read_refund(item) if refund else read_listed_payment(item, qr_id="")
