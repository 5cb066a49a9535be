"""A notice that did not come by webhook (the refund check, reconciliation) is stored before it is
applied, and a run that dies in between leaves it stored for staff to run again. Run again, it is
read from what was stored: a refund check's answer must then be read as a refund, never as a
payment listing (which would file it as a payment of no known sale)."""

import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from payments.events import record_and_apply
from payments.gateways import RefundNotice, read_stored_notice
from payments.gateways.simulator import SimulatorGateway
from payments.models import EventOutcome, EventSource, PaymentEvent, Sale
from payments.refunds.services import request_refund
from payments.simulation import simulate_payment
from tests.support.concurrency import wait_until_another_query_waits_for_this_transaction

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def test_a_refund_checks_answer_is_stored_as_a_refund_before_it_is_applied(make_sale):
    sale = make_sale()
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    refund = request_refund(sale=sale, reason="Printer jammed", requested_by=None, amount=None)
    # What Xendit answers the refund check about it: it went through.
    answer = SimulatorGateway.refund_result(
        refund_id=refund.xendit_refund_id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        succeeded=True,
        failure_code="",
        now=timezone.now(),
    )

    def refund_check() -> None:
        try:
            record_and_apply(source=EventSource.RECONCILIATION, notice=answer)
        finally:
            connections.close_all()

    check = threading.Thread(target=refund_check)

    # The sale's row lock holds the check between storing its answer and applying it: where a
    # run that dies leaves the answer.
    with transaction.atomic():
        Sale.objects.select_for_update().get(pk=sale.pk)
        check.start()
        wait_until_another_query_waits_for_this_transaction()
        [stored] = PaymentEvent.objects.filter(source=EventSource.RECONCILIATION)
        assert (stored.outcome, stored.shape) == (EventOutcome.RECEIVED, "refund")
        assert isinstance(read_stored_notice(stored.body, refund=stored.shape == "refund"), RefundNotice)
    check.join(timeout=30)
    stored.refresh_from_db()
    assert stored.outcome == EventOutcome.APPLIED
