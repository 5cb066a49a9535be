import functools

from django.conf import settings

from payments.gateways.base import (
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentGateway,
    QrCode,
    QrPayment,
)
from payments.gateways.simulator import SimulatorGateway
from payments.gateways.xendit import XenditClient

__all__ = [
    "GatewayError",
    "GatewayRejected",
    "GatewayTimeout",
    "GatewayUnavailable",
    "PaymentGateway",
    "QrCode",
    "QrPayment",
    "get_gateway",
]


@functools.lru_cache(maxsize=8)
def _build(name: str, base_url: str, api_key: str, connect_timeout: float, read_timeout: float) -> PaymentGateway:
    if name == "xendit":
        return XenditClient(
            base_url=base_url, api_key=api_key, connect_timeout=connect_timeout, read_timeout=read_timeout
        )
    return SimulatorGateway()


def get_gateway() -> PaymentGateway:
    """The configured gateway; one per configuration per process, so HTTP connections are reused."""
    return _build(
        settings.PAYMENT_GATEWAY,
        settings.XENDIT_API_URL,
        settings.XENDIT_API_KEY,
        settings.XENDIT_CONNECT_TIMEOUT,
        settings.XENDIT_READ_TIMEOUT,
    )
