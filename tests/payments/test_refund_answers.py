"""Xendit's answer to our refund request (issue 17's mutation survivors): a refund it says went
through or failed is settled at once, a refusal fails it, no answer or its rate limit leaves it
waiting for the refund check; staff read the review list's reasons and the log lines. Xendit is the
fake Xendit over HTTP, its answers scripted; an answer that comes after a webhook is handed to
record_gateway_answer as the simulator's would be."""

import logging
from decimal import Decimal

import pytest

from payments.events import record_and_apply
from payments.gateways import RefundNotice
from payments.gateways.pause import calls_paused_for
from payments.models import (
    EventSource,
    Refund,
    RefundStatus,
    Sale,
    SaleReview,
    SaleStatus,
)
from payments.refunds.services import record_gateway_answer
from payments.simulation import simulate_refund_webhook
from tests.support.refunds import LOW_BALANCE, ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale_paid_at_xendit(make_sale, fake_xendit) -> Sale:
    """A sale of Rp 40.000 paid by Xendit payment qrpy_1; the fake Xendit's answers are scripted."""
    return make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_1", paid_amount=Decimal(40000))


def xendit_answers(fake, status: int, body: dict) -> None:
    fake.fail_next = [(status, body)]


def refund_answer(status: str, *, refund_id: str = "qrrf_1", amount: int = 40000, failure_code=None) -> dict:
    return {
        "id": refund_id,
        "qrpy_id": "qrpy_1",
        "status": status,
        "currency": "IDR",
        "refund_amount": amount,
        "failure_code": failure_code,
    }


def notify(sale: Sale, status: str, *, refund_id: str = "rfd_1", amount: int | None = 40000, **fields):
    """Xendit's refund webhook about a refund of the sale's payment, applied."""
    fields.setdefault("payment_id", sale.xendit_payment_id)
    notice = RefundNotice(
        refund_id=refund_id, status=status, amount=None if amount is None else Decimal(amount), **fields
    )
    return record_and_apply(source=EventSource.WEBHOOK, notice=notice)


def reviews(sale: Sale) -> list[tuple]:
    return list(SaleReview.objects.filter(sale=sale).order_by("pk").values_list("reason", "event"))


def messages(caplog, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


# --- Xendit's answer to our request -------------------------------------------------------------
def test_an_answer_that_the_refund_went_through_settles_it_at_once_and_logs_it(
    sale_paid_at_xendit, fake_xendit, caplog
):
    caplog.set_level(logging.INFO, logger="payments.refunds")
    xendit_answers(fake_xendit, 200, refund_answer("SUCCEEDED"))

    refund = ask(sale_paid_at_xendit)

    sale = sale_paid_at_xendit
    sale.refresh_from_db()
    assert (refund.status, refund.xendit_refund_id, refund.failure_code) == (RefundStatus.SUCCEEDED, "qrrf_1", "")
    assert (sale.status, sale.refunded_amount, sale.needs_review) == (SaleStatus.REFUNDED, Decimal(40000), False)
    assert messages(caplog, "payments.refunds") == [
        f"refund requested external_id={sale.external_id} refund={refund.pk} payment=qrpy_1 amount=40000.00",
        f"refund {refund.pk} went through external_id={sale.external_id}",
        f"sale refunded external_id={sale.external_id}",
    ]
    assert {record.external_id for record in caplog.records if record.name == "payments.refunds"} == {sale.external_id}


def test_an_answer_that_the_refund_failed_fails_it_and_puts_the_sale_on_the_review_list(
    sale_paid_at_xendit, fake_xendit, caplog
):
    caplog.set_level(logging.WARNING, logger="payments.refunds")
    xendit_answers(fake_xendit, 200, refund_answer("FAILED", failure_code="INSUFFICIENT_BALANCE"))

    refund = ask(sale_paid_at_xendit)

    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "INSUFFICIENT_BALANCE")
    assert reviews(sale_paid_at_xendit) == [
        (f"Refund qrrf_1 of Rp 40.000 failed (INSUFFICIENT_BALANCE): {LOW_BALANCE}", None)
    ]
    assert messages(caplog, "payments.refunds") == [f"refund {refund.pk} failed: INSUFFICIENT_BALANCE"]


def test_a_request_xendit_refuses_fails_the_refund_naming_it_by_our_number(sale_paid_at_xendit, fake_xendit):
    xendit_answers(fake_xendit, 400, {"error_code": "INSUFFICIENT_BALANCE", "message": "Balance too low"})

    refund = ask(sale_paid_at_xendit)

    assert (refund.status, refund.xendit_refund_id, refund.failure_code) == (
        RefundStatus.FAILED,
        None,
        "INSUFFICIENT_BALANCE",
    )
    assert reviews(sale_paid_at_xendit) == [
        (f"Refund {refund.pk} of Rp 40.000 failed (INSUFFICIENT_BALANCE): {LOW_BALANCE}", None)
    ]
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.FAILED


def test_an_error_code_longer_than_a_refund_keeps_is_kept_cut_to_100_characters(sale_paid_at_xendit, fake_xendit):
    code = "E" * 150
    xendit_answers(fake_xendit, 400, {"error_code": code, "message": "?"})

    refund = ask(sale_paid_at_xendit)

    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "E" * 100)


def test_a_request_xendit_did_not_answer_stays_waiting_and_says_the_check_will_ask(
    sale_paid_at_xendit, fake_xendit, caplog
):
    caplog.set_level(logging.WARNING, logger="payments.refunds")
    xendit_answers(fake_xendit, 503, {"error_code": "SERVER_ERROR", "message": "down"})

    refund = ask(sale_paid_at_xendit)

    refund.refresh_from_db()
    assert (refund.status, refund.xendit_refund_id) == (RefundStatus.PENDING, None)
    assert refund.gateway_called_at is not None
    assert messages(caplog, "payments.refunds") == [
        f"refund {refund.pk} not confirmed by Xendit (down): the refund check will ask"
    ]


def test_a_request_refused_for_xendits_rate_limit_pauses_calls_for_the_wait_xendit_gave(
    sale_paid_at_xendit, fake_xendit, caplog
):
    caplog.set_level(logging.WARNING, logger="payments.refunds")
    fake_xendit.rate_limits = {"/qr_codes/payments": 0}
    fake_xendit.rate_limit_reset = 30

    refund = ask(sale_paid_at_xendit)

    assert (refund.status, refund.xendit_refund_id) == (RefundStatus.PENDING, None)
    assert 25 < calls_paused_for() <= 30
    assert messages(caplog, "payments.refunds") == [
        f"refund {refund.pk} not sent: Xendit's rate limit; the refund check will send it"
    ]


def test_an_answer_naming_a_refund_id_already_on_another_refund_leaves_this_one_waiting(
    sale_paid_at_xendit, fake_xendit, caplog
):
    caplog.set_level(logging.WARNING, logger="payments.refunds")
    first = ask(sale_paid_at_xendit, amount=1000)  # the fake knows no such payment: failed, without an id
    Refund.objects.filter(pk=first.pk).update(xendit_refund_id="qrrf_1")
    xendit_answers(fake_xendit, 200, refund_answer("SUCCEEDED", amount=1000))

    second = ask(sale_paid_at_xendit, amount=1000)

    second.refresh_from_db()
    assert (second.status, second.xendit_refund_id) == (RefundStatus.PENDING, None)
    assert messages(caplog, "payments.refunds")[-1] == (
        f"refund {second.pk}: Xendit's id qrrf_1 is already on another refund"
    )


def test_an_answer_after_the_in_progress_webhook_named_the_refund_settles_it(paid_sale):
    refund = Refund.objects.create(
        sale=paid_sale, payment_id=paid_sale.xendit_payment_id, amount=Decimal(40000), reason="Printer jammed"
    )
    notify(paid_sale, "PENDING", refund_id="qrrf_sim_1")  # the webhook came first and named it

    answer = RefundNotice(
        refund_id="qrrf_sim_1", payment_id=paid_sale.xendit_payment_id, status="SUCCEEDED", amount=Decimal(40000)
    )
    record_gateway_answer(refund=refund, notice=answer)

    refund.refresh_from_db()
    paid_sale.refresh_from_db()
    assert (refund.xendit_refund_id, refund.status) == ("qrrf_sim_1", RefundStatus.SUCCEEDED)
    assert paid_sale.status == SaleStatus.REFUNDED


def test_an_answer_after_the_refund_was_settled_changes_nothing(paid_sale):
    refund = ask(paid_sale)
    simulate_refund_webhook(refund=refund, succeeded=False, failure_code="INSUFFICIENT_BALANCE")

    answer = RefundNotice(
        refund_id=refund.xendit_refund_id, payment_id=refund.payment_id, status="SUCCEEDED", amount=refund.amount
    )
    record_gateway_answer(refund=refund, notice=answer)

    refund.refresh_from_db()
    paid_sale.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, "INSUFFICIENT_BALANCE")
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, 0)
