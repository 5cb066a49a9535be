"""Xendit's refund notices (webhook or refund check) and how they settle a refund (issue 17's
mutation survivors): the notice's outcome as staff read it, the review list's reasons, the log
lines, and which of our refunds a notice is about. The payment simulator plays Xendit."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from payments.events import record_and_apply
from payments.gateways import RefundNotice
from payments.models import (
    EventOutcome,
    EventSource,
    PaymentEvent,
    Refund,
    RefundOrigin,
    RefundStatus,
    Sale,
    SaleHistory,
    SaleReview,
    SaleStatus,
)
from payments.refunds.selectors import sale_for_payment
from payments.simulation import simulate_payment, simulate_refund_webhook
from tests.support.refunds import LOW_BALANCE, NO_REASON, ask

pytestmark = pytest.mark.django_db


def notify(sale: Sale, status: str, *, refund_id: str = "rfd_1", amount: int | None = 40000, **fields):
    """Xendit's refund webhook about a refund of the sale's payment, applied."""
    fields.setdefault("payment_id", sale.xendit_payment_id)
    notice = RefundNotice(
        refund_id=refund_id, status=status, amount=None if amount is None else Decimal(amount), **fields
    )
    return record_and_apply(source=EventSource.WEBHOOK, notice=notice)


def report(refund: Refund, status: str, **fields) -> PaymentEvent:
    fields.setdefault("amount", refund.amount)
    return notify(refund.sale, status, refund_id=refund.xendit_refund_id, payment_id=refund.payment_id, **fields)


def reviews(sale: Sale) -> list[tuple]:
    return list(SaleReview.objects.filter(sale=sale).order_by("pk").values_list("reason", "event"))


def messages(caplog, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


# --- Xendit's refund notices --------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["refund_id", "payment_id"])
def test_a_refund_notice_without_its_ids_is_ignored_saying_so(paid_sale, missing):
    fields = {"refund_id": "rfd_1", "payment_id": paid_sale.xendit_payment_id, missing: ""}

    event = notify(paid_sale, "SUCCEEDED", **fields)

    assert (event.outcome, event.outcome_detail) == (
        EventOutcome.IGNORED,
        "A refund notice without a refund id or payment id",
    )
    assert not Refund.objects.exists()


def test_a_refund_of_a_payment_no_sale_has_is_ignored_naming_both(paid_sale):
    simulate_payment(sale=paid_sale)  # an extra payment, of another id

    event = notify(paid_sale, "SUCCEEDED", payment_id="qrpy_nobody")

    assert (event.outcome, event.outcome_detail, event.sale) == (
        EventOutcome.IGNORED,
        "Refund rfd_1 of payment qrpy_nobody, which no sale of ours has",
        None,
    )


def test_a_payment_that_only_reached_a_sale_in_an_ignored_notice_is_no_payment_of_that_sale(paid_sale):
    PaymentEvent.objects.create(sale=paid_sale, outcome=EventOutcome.IGNORED, xendit_payment_id="qrpy_stray")

    event = notify(paid_sale, "SUCCEEDED", payment_id="qrpy_stray")

    assert (event.outcome, event.sale) == (EventOutcome.IGNORED, None)


def test_a_refund_of_an_extra_payment_settles_on_the_sale_it_reached(paid_sale, make_sale):
    extra = simulate_payment(sale=paid_sale).xendit_payment_id
    later = make_sale()
    simulate_payment(sale=later)
    simulate_payment(sale=later)  # another sale's extra payment, received since

    event = notify(paid_sale, "SUCCEEDED", payment_id=extra)

    assert (event.outcome, event.sale) == (EventOutcome.APPLIED, paid_sale)
    assert event.outcome_detail == "Refund rfd_1 of Rp 40.000: went through (an extra payment given back)"
    paid_sale.refresh_from_db()
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, 0)


def test_a_refund_notice_without_an_amount_is_not_recorded_and_staff_are_told(paid_sale):
    event = notify(paid_sale, "SUCCEEDED", amount=None)

    assert (event.outcome, event.outcome_detail, event.sale) == (
        EventOutcome.IGNORED,
        "Refund rfd_1 states no amount; not recorded",
        paid_sale,
    )
    assert reviews(paid_sale) == [("Xendit reported refund rfd_1 without an amount: check it in Xendit", event.pk)]
    assert not Refund.objects.exists()


def test_the_sale_of_a_payment_nobody_has_is_looked_up_in_two_queries(paid_sale, django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(2):  # the sales paid by it, the extra payments
        assert sale_for_payment("qrpy_nobody") is None


def test_a_refund_made_outside_and_still_in_progress_is_recorded_then_settled(paid_sale):
    recorded = notify(paid_sale, "PENDING", amount=10000)
    refund = Refund.objects.get()
    still = notify(paid_sale, "PENDING", amount=10000)
    unsettled = notify(paid_sale, "", amount=10000)
    settled = notify(paid_sale, "SUCCEEDED", amount=10000)

    assert (recorded.outcome, recorded.outcome_detail, recorded.refund) == (
        EventOutcome.APPLIED,
        "Refund rfd_1 of Rp 10.000 recorded: in progress",
        refund,
    )
    assert (still.outcome, still.outcome_detail, still.refund) == (
        EventOutcome.IGNORED,
        "Refund rfd_1 is still PENDING at Xendit",
        refund,
    )
    assert unsettled.outcome_detail == "Refund rfd_1 is still unsettled at Xendit"
    assert (settled.outcome, settled.outcome_detail) == (
        EventOutcome.APPLIED,
        "Refund rfd_1 of Rp 10.000: went through",
    )
    refund.refresh_from_db()
    assert (refund.origin, refund.status) == (RefundOrigin.XENDIT, RefundStatus.SUCCEEDED)


def test_a_refund_made_outside_is_dated_when_xendit_reported_it(paid_sale):
    notify(paid_sale, "SUCCEEDED", amount=10000)

    refund = Refund.objects.get()

    assert refund.created_at == refund.settled_at


def test_a_repeated_notice_is_a_duplicate_saying_what_the_refund_already_was(paid_sale):
    refund = ask(paid_sale)
    simulate_refund_webhook(refund=refund)

    again = report(refund, "SUCCEEDED")

    assert (again.outcome, again.outcome_detail, again.refund) == (
        EventOutcome.DUPLICATE,
        f"Refund {refund.xendit_refund_id} was already refunded",
        refund,
    )


def test_a_contrary_report_after_a_final_state_is_kept_for_staff_never_applied(paid_sale, caplog):
    caplog.set_level(logging.WARNING, logger="payments.refunds")
    refund = ask(paid_sale)
    simulate_refund_webhook(refund=refund)
    rid = refund.xendit_refund_id

    contrary = report(refund, "FAILED", failure_code="INSUFFICIENT_BALANCE")

    assert (contrary.outcome, contrary.outcome_detail) == (
        EventOutcome.IGNORED,
        f"Refund {rid} is already SUCCEEDED; FAILED not applied",
    )
    assert reviews(paid_sale) == [
        (f"Xendit reported refund {rid} as FAILED after SUCCEEDED: check it in Xendit", contrary.pk)
    ]
    assert messages(caplog, "payments.refunds") == [f"refund {rid} reported FAILED after SUCCEEDED"]
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


def test_a_refund_that_went_through_in_full_refunds_the_sale_in_its_history_and_needs_no_review(paid_sale):
    ana = get_user_model().objects.create_user("ana")
    refund = ask(paid_sale, by=ana)

    event = report(refund, "SUCCEEDED", failure_code="IGNORED_ON_SUCCESS")

    assert event.outcome_detail == (
        f"Refund {refund.xendit_refund_id} of Rp 40.000: went through; sale COMPLETED -> REFUNDED"
    )
    refund.refresh_from_db()
    paid_sale.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.SUCCEEDED, "")
    assert (paid_sale.status, paid_sale.refunded_amount, paid_sale.needs_review) == (
        SaleStatus.REFUNDED,
        Decimal(40000),
        False,
    )
    row = SaleHistory.objects.get(sale=paid_sale, to_status=SaleStatus.REFUNDED)
    assert (row.from_status, row.actor, row.event, row.at) == (SaleStatus.COMPLETED, ana, event, refund.settled_at)


def test_a_partial_refund_that_went_through_says_so_and_leaves_the_sale_paid(paid_sale):
    refund = ask(paid_sale, amount=15000)

    event = report(refund, "SUCCEEDED")

    assert event.outcome_detail == f"Refund {refund.xendit_refund_id} of Rp 15.000: went through"
    paid_sale.refresh_from_db()
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, Decimal(15000))


@pytest.mark.parametrize(
    ("code", "told", "words"),
    [("INSUFFICIENT_BALANCE", "INSUFFICIENT_BALANCE", LOW_BALANCE), ("", "no reason given", NO_REASON)],
)
def test_a_refund_that_failed_is_flagged_with_xendits_code_in_words(paid_sale, code, told, words):
    refund = ask(paid_sale)

    event = report(refund, "FAILED", failure_code=code)

    rid = refund.xendit_refund_id
    assert event.outcome_detail == f"Refund {rid} of Rp 40.000: failed ({told})"
    assert reviews(paid_sale) == [(f"Refund {rid} of Rp 40.000 failed ({told}): {words}", event.pk)]
    refund.refresh_from_db()
    assert (refund.status, refund.failure_code) == (RefundStatus.FAILED, code)


def test_xendit_refunding_another_amount_than_asked_is_flagged_for_staff(paid_sale):
    refund = ask(paid_sale)

    event = report(refund, "SUCCEEDED", amount=30000)

    rid = refund.xendit_refund_id
    assert reviews(paid_sale) == [
        (f"Xendit refunded Rp 30.000 for refund Refund {rid} of Rp 40.000: check it in Xendit", event.pk)
    ]
    paid_sale.refresh_from_db()
    assert (paid_sale.status, paid_sale.refunded_amount, paid_sale.needs_review) == (
        SaleStatus.REFUNDED,
        Decimal(40000),
        True,
    )


def test_more_refunded_than_was_paid_is_flagged_for_staff(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale))

    event = notify(paid_sale, "SUCCEEDED", refund_id="rfd_dashboard", amount=5000)

    assert reviews(paid_sale) == [("Refunded Rp 45.000, more than the Rp 40.000 paid", event.pk)]
    paid_sale.refresh_from_db()
    assert (paid_sale.refunded_amount, paid_sale.needs_review) == (Decimal(45000), True)


# --- Which of our refunds a notice is about, when Xendit's answer was lost -----------------------
def unanswered(paid: Sale, *, minutes_ago: int = 0, **fields) -> Refund:
    """Our refund of `paid`'s payment, Rp 1.000, asked `minutes_ago`, whose answer never came."""
    fields = {
        "sale": paid,
        "payment_id": paid.xendit_payment_id,
        "amount": Decimal(1000),
        "reason": "Printer jammed",
        **fields,
    }
    refund = Refund.objects.create(**fields)
    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at - timedelta(minutes=minutes_ago))
    return refund


def test_a_notice_settles_the_oldest_of_our_unanswered_refunds_of_that_payment_and_amount(paid_sale):
    newer = unanswered(paid_sale, minutes_ago=1)
    older = unanswered(paid_sale, minutes_ago=2)  # made later, dated earlier

    event = notify(paid_sale, "SUCCEEDED", refund_id="qrrf_1", amount=1000)

    assert event.refund == older
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.xendit_refund_id, older.status) == ("qrrf_1", RefundStatus.SUCCEEDED)
    assert (newer.xendit_refund_id, newer.status) == (None, RefundStatus.PENDING)


def test_of_two_unanswered_refunds_asked_at_the_same_moment_the_first_made_is_settled(paid_sale):
    first = unanswered(paid_sale)
    second = unanswered(paid_sale)
    moment = timezone.now()
    # Both dated the same; the first's row (and index entry) now stored after the second's.
    Refund.objects.filter(pk=second.pk).update(created_at=moment)
    Refund.objects.filter(pk=first.pk).update(created_at=moment)

    event = notify(paid_sale, "SUCCEEDED", refund_id="qrrf_1", amount=1000)

    assert event.refund == first


@pytest.mark.parametrize(
    "unlike",
    [
        pytest.param({"payment_id": "qrpy_other"}, id="another payment"),
        pytest.param({"status": RefundStatus.FAILED, "settled_at": "now"}, id="failed"),
        pytest.param({"xendit_refund_id": "qrrf_0"}, id="answered"),
        pytest.param({"amount": Decimal(2000)}, id="another amount"),
        pytest.param({"sale": "another sale"}, id="another sale"),
    ],
)
def test_a_notice_never_settles_a_refund_that_is_not_the_one_it_reports(paid_sale, make_sale, unlike):
    if unlike.get("sale"):
        unlike["sale"] = make_sale()
    if unlike.get("settled_at"):
        unlike["settled_at"] = paid_sale.paid_at
    decoy = unanswered(paid_sale, minutes_ago=5, **unlike)
    ours = unanswered(paid_sale)

    event = notify(paid_sale, "SUCCEEDED", refund_id="qrrf_1", amount=1000)

    assert event.refund == ours
    assert Refund.objects.get(pk=decoy.pk).status == decoy.status
