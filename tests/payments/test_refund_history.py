"""A sale's refunds as staff read them in its history (the sale page): who asked for how much and
why, of which payment, and how each one was settled, each settlement linked to the notice that
settled it. The payment simulator plays Xendit, in-process (PAYMENT_GATEWAY=simulator)."""

from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from payments.events import record_and_apply
from payments.gateways import RefundNotice
from payments.models import EventOutcome, EventSource, Refund, Sale, SaleStatus
from payments.selectors import sale_history
from payments.simulation import simulate_payment, simulate_refund_webhook
from tests.support.refunds import LOW_BALANCE, NO_REASON, ask

pytestmark = pytest.mark.django_db


def report(refund: Refund, status: str, *, failure_code: str = ""):
    """Xendit's notice that the refund went through or failed, as the refund check records it."""
    notice = RefundNotice(
        refund_id=refund.xendit_refund_id,
        payment_id=refund.payment_id,
        status=status,
        amount=refund.amount,
        failure_code=failure_code,
    )
    return record_and_apply(source=EventSource.RECONCILIATION, notice=notice)


def refunded_in_xendits_dashboard(sale: Sale, amount: int, refund_id: str = "rfd_dashboard"):
    """Xendit's webhook for a refund of the sale's payment that staff made in Xendit's dashboard."""
    notice = RefundNotice(
        refund_id=refund_id, payment_id=sale.xendit_payment_id, status="SUCCEEDED", amount=Decimal(amount)
    )
    return record_and_apply(source=EventSource.WEBHOOK, notice=notice)


def refund_lines(sale: Sale) -> list[tuple]:
    sale.refresh_from_db()
    return [(e.what, e.detail, e.amount, e.event) for e in sale_history(sale) if e.what.startswith("Refund")]


def test_a_full_refund_reads_who_asked_why_and_that_all_of_the_payment_is_given_back(paid_sale):
    ana = get_user_model().objects.create_user("ana")
    refund = ask(paid_sale, reason="Printer jammed", by=ana)

    settled_by = simulate_refund_webhook(refund=refund)

    own = paid_sale.xendit_payment_id
    assert refund_lines(paid_sale) == [
        ("Refund asked for by ana", f"“Printer jammed”, of the sale's payment {own}", Decimal(40000), None),
        (
            f"Refund went through (Xendit refund {refund.xendit_refund_id})",
            "All of the payment is given back: Paid → Refunded",
            Decimal(40000),
            settled_by,
        ),
    ]
    # The settling notice is told by the refund's line (which links to it), the payment by its own.
    assert Counter(entry.what for entry in sale_history(paid_sale)) == Counter(
        [
            "Sale started at the kiosk: awaiting payment",
            "Simulator: Applied to the sale",
            "Refund asked for by ana",
            f"Refund went through (Xendit refund {refund.xendit_refund_id})",
        ]
    )


def test_a_refund_xendit_has_not_settled_yet_says_it_is_waiting_for_xendit(paid_sale):
    ask(paid_sale, amount=5000, reason="Blurry strip")

    assert refund_lines(paid_sale) == [
        (
            "Refund asked for by a deleted user",
            f"“Blurry strip”, of the sale's payment {paid_sale.xendit_payment_id}; waiting for Xendit",
            Decimal(5000),
            None,
        )
    ]


def test_a_refund_made_in_xendits_dashboard_reads_as_reported_by_xendit(paid_sale):
    event = refunded_in_xendits_dashboard(paid_sale, 10000)

    assert refund_lines(paid_sale) == [
        (
            "Refund made outside Photobox (in Xendit), reported by Xendit",
            f"Of the sale's payment {paid_sale.xendit_payment_id}",
            Decimal(10000),
            None,
        ),
        (
            "Refund went through (Xendit refund rfd_dashboard)",
            "Rp 10.000 of the Rp 40.000 paid given back so far; the sale stays paid",
            Decimal(10000),
            event,
        ),
    ]


def test_a_refund_of_an_extra_payment_reads_as_the_extra_payment_given_back(paid_sale):
    extra = simulate_payment(sale=paid_sale).xendit_payment_id
    refund = ask(paid_sale, reason="Paid twice", payment_id=extra)

    event = simulate_refund_webhook(refund=refund)

    assert refund_lines(paid_sale) == [
        ("Refund asked for by a deleted user", f"“Paid twice”, of the extra payment {extra}", Decimal(40000), None),
        (
            f"Refund went through (Xendit refund {refund.xendit_refund_id})",
            f"The extra payment {extra} is given back; the sale itself is unchanged",
            Decimal(40000),
            event,
        ),
    ]


def test_refunds_settled_in_another_order_than_asked_add_up_in_the_order_they_went_through(paid_sale):
    first = ask(paid_sale, amount=15000)
    rest = ask(paid_sale)

    simulate_refund_webhook(refund=rest)
    simulate_refund_webhook(refund=first)

    settlements = [(what, detail, amount) for what, detail, amount, _ in refund_lines(paid_sale)[2:]]
    assert settlements == [
        (
            f"Refund went through (Xendit refund {rest.xendit_refund_id})",
            "Rp 25.000 of the Rp 40.000 paid given back so far; the sale stays paid",
            Decimal(25000),
        ),
        (
            f"Refund went through (Xendit refund {first.xendit_refund_id})",
            "All of the payment is given back: Paid → Refunded",
            Decimal(15000),
        ),
    ]


def test_a_refund_that_gives_back_the_rest_and_more_says_both(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale, amount=30000))

    refunded_in_xendits_dashboard(paid_sale, 20000)

    assert refund_lines(paid_sale)[-1][1] == (
        "All of the payment is given back: Paid → Refunded (Rp 10.000 more than the Rp 40.000 paid)"
    )


def test_failed_refunds_say_why_in_words_and_a_later_one_still_reads_as_given_back(paid_sale):
    low_balance = ask(paid_sale)
    low_balance_notice = report(low_balance, "FAILED", failure_code="INSUFFICIENT_BALANCE")
    unexplained = ask(paid_sale)
    unexplained_notice = report(unexplained, "FAILED")
    went_through = ask(paid_sale)
    simulate_refund_webhook(refund=went_through)

    settlements = [line for line in refund_lines(paid_sale) if not line[0].startswith("Refund asked")]

    assert settlements[:2] == [
        (
            "Refund failed (INSUFFICIENT_BALANCE): no money was given back",
            LOW_BALANCE,
            Decimal(40000),
            low_balance_notice,
        ),
        ("Refund failed (no reason given): no money was given back", NO_REASON, Decimal(40000), unexplained_notice),
    ]
    assert [(what, detail) for what, detail, _, _ in settlements[2:]] == [
        (
            f"Refund went through (Xendit refund {went_through.xendit_refund_id})",
            "All of the payment is given back: Paid → Refunded",
        )
    ]


def test_a_repeated_notice_stays_in_the_history_and_the_refund_links_the_one_that_settled_it(paid_sale):
    refund = ask(paid_sale)
    settled_by = simulate_refund_webhook(refund=refund)

    again = report(refund, "SUCCEEDED")

    assert again.outcome == EventOutcome.DUPLICATE
    history = sale_history(paid_sale)
    assert [entry.event for entry in history if entry.what.startswith("Refund went through")] == [settled_by]
    assert [entry.what for entry in history if entry.event == again] == [
        "Checked with Xendit: Duplicate (already applied)"
    ]


def test_a_refund_given_back_after_the_sale_was_refunded_does_not_refund_it_a_second_time(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale))

    refunded_in_xendits_dashboard(paid_sale, 5000)

    paid_sale.refresh_from_db()
    assert paid_sale.status == SaleStatus.REFUNDED
    details = [detail for what, detail, _, _ in refund_lines(paid_sale) if what.startswith("Refund went through")]
    assert details == [
        "All of the payment is given back: Paid → Refunded",
        # Not "the sale stays paid", as it once read.
        "Rp 45.000 given back in all: Rp 5.000 more than the Rp 40.000 paid; the sale was already refunded",
    ]


def test_the_history_reads_a_sales_refunds_and_who_asked_in_one_query_however_many(
    paid_sale, django_assert_num_queries
):
    ana = get_user_model().objects.create_user("ana")
    for _ in range(3):
        simulate_refund_webhook(refund=ask(paid_sale, amount=1000, by=ana))
    paid_sale.refresh_from_db()

    # The history rows, the notifications, the refunds with who asked, the reviews.
    with django_assert_num_queries(4):
        history = sale_history(paid_sale)

    assert [entry.what for entry in history].count("Refund asked for by ana") == 3
