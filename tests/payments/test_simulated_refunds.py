"""Refunds in the demo: the simulator accepts a refund as Xendit would, and its simulated refund
webhook settles it through the same path as Xendit's (the admin, the command)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.errors import Conflict
from payments.models import EventSource, PaymentEvent, RefundStatus, SaleStatus
from payments.refunds.services import request_refund
from payments.simulation import SimulatorDisabled, simulate_payment, simulate_refund_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_sale(make_sale, settings):
    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale()
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    return sale


def test_the_simulator_accepts_a_refund_and_its_webhook_settles_it(paid_sale):
    refund = request_refund(sale=paid_sale, reason="Demo", requested_by=None)
    assert refund.status == RefundStatus.PENDING
    assert refund.xendit_refund_id.startswith("qrrf_sim_")

    event = simulate_refund_webhook(refund=refund)

    assert event.source == EventSource.SIMULATOR
    assert '"event": "qr.refund"' in event.body  # what Xendit's webhook would have said, for staff
    refund.refresh_from_db()
    paid_sale.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert paid_sale.status == SaleStatus.REFUNDED


def test_a_simulated_refund_can_fail(paid_sale):
    refund = request_refund(sale=paid_sale, reason="Demo", requested_by=None)

    simulate_refund_webhook(refund=refund, succeeded=False, failure_code="INSUFFICIENT_BALANCE")

    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "INSUFFICIENT_BALANCE")


def test_a_settled_refund_cannot_be_settled_again(paid_sale):
    refund = request_refund(sale=paid_sale, reason="Demo", requested_by=None)
    simulate_refund_webhook(refund=refund)
    refund.refresh_from_db()

    with pytest.raises(Conflict, match="not waiting for Xendit"):
        simulate_refund_webhook(refund=refund)


def test_the_commands_refund_and_settle_a_sale(paid_sale):
    out = StringIO()
    call_command("refund_sale", paid_sale.external_id, "--reason", "Demo", stdout=out)
    refund = paid_sale.refunds.get()

    call_command("simulate_refund", str(refund.pk), stdout=out)

    paid_sale.refresh_from_db()
    assert paid_sale.status == SaleStatus.REFUNDED
    assert f"refund {refund.pk}: Refund {refund.xendit_refund_id}" in out.getvalue()
    assert PaymentEvent.objects.filter(refund=refund).count() == 1


def test_refund_webhooks_are_simulated_only_with_the_simulator(paid_sale, settings):
    refund = request_refund(sale=paid_sale, reason="Demo", requested_by=None)
    settings.PAYMENT_GATEWAY = "xendit"

    with pytest.raises(SimulatorDisabled):
        simulate_refund_webhook(refund=refund)
    with pytest.raises(CommandError, match="PAYMENT_GATEWAY=simulator"):
        call_command("simulate_refund", str(refund.pk), stdout=StringIO())
