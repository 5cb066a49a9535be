"""The payment simulator's customer and Xendit (PAYMENT_GATEWAY=simulator): a payment, and the
refund webhook, each handed as a notice to the same apply path as Xendit's own."""

from decimal import Decimal

from django.utils import timezone

from core import errors
from payments import events
from payments.gateways import SimulatorGateway, simulator_on
from payments.models import EventSource, PaymentEvent, Refund, RefundStatus, Sale


class SimulatorDisabled(errors.Conflict):
    def __init__(self):
        super().__init__("Payments can only be simulated when PAYMENT_GATEWAY=simulator")


def _require_simulator() -> None:
    if not simulator_on():
        raise SimulatorDisabled()


def simulate_payment(*, sale: Sale, amount: Decimal | None = None) -> PaymentEvent:
    """Pay a sale through the simulator, along the same path as a real Xendit webhook."""
    _require_simulator()
    notice = SimulatorGateway.payment(
        reference=sale.external_id,
        qr_id=sale.xendit_qr_id,
        amount=sale.amount if amount is None else amount,
        now=timezone.now(),
    )
    return events.record_and_apply(source=EventSource.SIMULATOR, notice=notice)


def simulate_refund_webhook(*, refund: Refund, succeeded: bool = True, failure_code: str = "") -> PaymentEvent:
    """Xendit's refund webhook for a refund the simulator accepted: it went through, or failed
    with `failure_code` (e.g. INSUFFICIENT_BALANCE)."""
    _require_simulator()
    if refund.status != RefundStatus.PENDING or not refund.xendit_refund_id:
        raise errors.Conflict(f"Refund {refund.pk} is not waiting for Xendit: it is {refund.get_status_display()}.")
    notice = SimulatorGateway.refund_result(
        refund_id=refund.xendit_refund_id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        succeeded=succeeded,
        failure_code=failure_code or "REFUND_FAILED",
        now=timezone.now(),
    )
    return events.record_and_apply(source=EventSource.SIMULATOR, notice=notice)
