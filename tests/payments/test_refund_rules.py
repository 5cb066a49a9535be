"""What may be refunded, and the words staff get when a refund is refused (issue 17's mutation
survivors): each refusal names the sale, the payment and the amounts. The payment simulator plays
Xendit, in-process (PAYMENT_GATEWAY=simulator)."""

from decimal import Decimal

import pytest

from payments.models import EventOutcome, PaymentEvent, Refund, RefundStatus, Sale, SaleStatus
from payments.refunds.selectors import received_payments, refund_search_filter
from payments.refunds.services import RefundRefused
from payments.simulation import simulate_payment, simulate_refund_webhook
from tests.support.refunds import ask

pytestmark = pytest.mark.django_db


def refused(sale: Sale, **fields) -> str:
    with pytest.raises(RefundRefused) as refusal:
        ask(sale, **fields)
    return refusal.value.message


def extra_payment(sale: Sale, payment_id: str, *, outcome=EventOutcome.DOUBLE_PAYMENT, **fields) -> PaymentEvent:
    """A payment that reached the sale without paying it, as its notice was kept."""
    fields = {"reported_status": "COMPLETED", "amount": Decimal(40000), **fields}
    return PaymentEvent.objects.create(sale=sale, outcome=outcome, xendit_payment_id=payment_id, **fields)


# --- What cannot be refunded -------------------------------------------------------------------
def test_a_free_session_is_refused_naming_its_voucher(make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, payment_channel="VOUCHER", voucher_code="FREE-ALL", amount=0)

    assert refused(sale) == (
        f"{sale.external_id} was a free session (voucher FREE-ALL): nothing was paid, so there is nothing to refund."
    )


@pytest.mark.parametrize("status", [SaleStatus.COMPLETED, SaleStatus.REFUNDED])
def test_a_sale_paid_without_a_xendit_payment_id_is_refused_saying_to_pay_back_another_way(make_sale, status):
    sale = make_sale(status=status)

    assert refused(sale) == (
        f"{sale.external_id} was paid without a Xendit payment id (the earlier service's notice), so Xendit "
        "cannot refund it. Pay the customer back another way and note it on the sale."
    )


def test_an_unpaid_sale_is_refused_as_never_paid_whatever_payment_id_it_holds(make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED, xendit_payment_id="qrpy_late")

    assert refused(sale) == f"{sale.external_id} was never paid: there is nothing to refund."


def test_a_payment_of_another_sale_is_refused_listing_this_sales_payments(paid_sale):
    extra_payment(paid_sale, "qrpy_twice")

    assert refused(paid_sale, payment_id="qrpy_elsewhere") == (
        f"Payment qrpy_elsewhere is not a payment of {paid_sale.external_id} "
        f"(its payments: {paid_sale.xendit_payment_id}, qrpy_twice)."
    )


def test_a_paid_sale_without_payment_id_but_with_extra_payments_asks_which_one(make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED)
    extra_payment(sale, "qrpy_a")
    extra_payment(sale, "qrpy_b")

    assert refused(sale) == (
        f"{sale.external_id} was paid without a Xendit payment id, but received other payments: say which one "
        "to refund (qrpy_a, qrpy_b)."
    )
    assert ask(sale, payment_id="qrpy_b").payment_id == "qrpy_b"


def test_an_unpaid_sale_that_received_a_wrong_amount_asks_which_payment_to_refund(make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED)
    extra_payment(sale, "qrpy_short", outcome=EventOutcome.AMOUNT_MISMATCH, amount=Decimal(4000))

    assert refused(sale) == (
        f"{sale.external_id} is not paid, but received other payments: say which one to refund (qrpy_short)."
    )
    assert ask(sale, payment_id="qrpy_short").amount == Decimal(4000)


def test_the_payments_offered_are_the_sales_own_then_each_extra_one_in_the_order_received(
    paid_sale, make_sale, django_assert_num_queries
):
    other = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_other_sale")
    extra_payment(other, "qrpy_theirs")  # another sale's extra payment
    extra_payment(paid_sale, "qrpy_b")
    extra_payment(paid_sale, "qrpy_a", outcome=EventOutcome.AMOUNT_MISMATCH, amount=Decimal(1))
    extra_payment(paid_sale, "qrpy_b")  # its notice again
    # Not money this sale received: a payment of another sale, one not completed, one of Rp 0,
    # one without an id, one whose notice was ignored.
    extra_payment(paid_sale, "qrpy_other_sale")
    extra_payment(paid_sale, "qrpy_failed", reported_status="FAILED")
    extra_payment(paid_sale, "qrpy_zero", amount=Decimal(0))
    extra_payment(paid_sale, "")
    extra_payment(paid_sale, "qrpy_ignored", outcome=EventOutcome.IGNORED)

    with django_assert_num_queries(3):
        payments = received_payments(paid_sale)

    assert [(payment.label, payment.amount, payment.left) for payment in payments] == [
        (f"{paid_sale.xendit_payment_id} (the sale's payment)", Decimal(40000), Decimal(40000)),
        ("qrpy_b (extra payment)", Decimal(40000), Decimal(40000)),
        ("qrpy_a (extra payment)", Decimal(1), Decimal(1)),
    ]


def test_a_sale_whose_payment_stated_another_amount_than_the_sale_refunds_what_was_paid(make_sale):
    # Kept from before payments of another amount stopped completing a sale (migration 0005).
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_earlier", paid_amount=Decimal(35000))

    assert refused(sale, amount=40000).startswith("At most Rp 35.000 can be refunded")
    assert ask(sale).amount == Decimal(35000)


def test_a_sale_whose_notice_stated_no_amount_refunds_what_its_qr_code_asked(make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_earlier", paid_amount=None)

    assert ask(sale).amount == Decimal(40000)


# --- How much -----------------------------------------------------------------------------------
def test_a_payment_with_nothing_left_is_refused_with_what_was_refunded_and_what_is_waiting(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale, amount=20000))
    simulate_refund_webhook(refund=ask(paid_sale, amount=10000))
    ask(paid_sale, amount=6000)
    ask(paid_sale, amount=4000)

    assert refused(paid_sale) == (
        f"Nothing is left to refund of payment {paid_sale.xendit_payment_id}: Rp 30.000 refunded, "
        "Rp 10.000 waiting for Xendit, of Rp 40.000 paid."
    )


def test_more_than_is_left_is_refused_with_the_amounts_and_exactly_what_is_left_is_refunded(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale, amount=5000))
    ask(paid_sale, amount=25000)

    assert refused(paid_sale, amount=10001) == (
        f"At most Rp 10.000 can be refunded of payment {paid_sale.xendit_payment_id}: Rp 40.000 paid, "
        "Rp 5.000 refunded, Rp 25.000 waiting for Xendit."
    )
    assert ask(paid_sale, amount=10000).amount == Decimal(10000)


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("0.5"), Decimal("1.5")])
def test_an_amount_that_is_not_whole_rupiah_of_at_least_rp_1_is_refused_in_words(paid_sale, amount):
    assert refused(paid_sale, amount=amount) == "The amount must be a whole number of rupiah, at least Rp 1."
    assert not Refund.objects.exists()


def test_rp_1_may_be_refunded_and_so_may_the_last_rp_1_left(paid_sale):
    assert ask(paid_sale, amount=1).amount == Decimal(1)
    ask(paid_sale, amount=39998)

    assert ask(paid_sale).amount == Decimal(1)


def test_refunds_of_the_same_payment_id_on_another_sale_never_count_against_this_one(paid_sale, make_sale):
    Refund.objects.create(
        sale=make_sale(),
        payment_id=paid_sale.xendit_payment_id,
        amount=Decimal(30000),
        reason="Another sale's",
        status=RefundStatus.SUCCEEDED,
        settled_at=paid_sale.paid_at,
    )

    [payment] = received_payments(paid_sale)

    assert (payment.refunded, payment.left) == (0, Decimal(40000))


def test_a_failed_refund_leaves_its_amount_to_refund_again(paid_sale):
    simulate_refund_webhook(refund=ask(paid_sale, amount=15000), succeeded=False)

    [payment] = received_payments(paid_sale)

    assert (payment.refunded, payment.pending, payment.left) == (0, 0, Decimal(40000))


# --- The form -----------------------------------------------------------------------------------
def test_a_reason_of_blanks_is_refused_and_a_reason_is_kept_without_them(paid_sale):
    assert refused(paid_sale, reason=" \n ") == "A reason is required: say why the money is given back."

    assert ask(paid_sale, reason="  Printer jammed \n").reason == "Printer jammed"


def test_a_refund_form_made_for_another_sale_is_refused(paid_sale, make_sale):
    other = make_sale()
    simulate_payment(sale=other)
    ask(other, amount=1000, request_key="form-1")

    assert refused(paid_sale, amount=1000, request_key="form-1") == (
        "This refund form was made for another sale: open the refund page again."
    )
    assert not paid_sale.refunds.exists()


def test_refunds_asked_without_a_form_key_are_each_made(paid_sale):
    first = ask(paid_sale, amount=1000, request_key="")
    second = ask(paid_sale, amount=1000, request_key="")

    assert first.pk != second.pk
    assert (first.request_key, second.request_key) == (None, None)
    assert first.status == second.status == RefundStatus.PENDING


# --- The refund list's search box ----------------------------------------------------------------
def test_the_refund_search_finds_a_refund_by_its_sale_number_typed_in_any_case_or_its_xendit_ids(paid_sale, make_sale):
    other = make_sale()
    simulate_payment(sale=other)
    other.refresh_from_db()
    ours, theirs = ask(paid_sale, amount=1000), ask(other, amount=1000)

    def found(term: str) -> list[Refund]:
        return list(Refund.objects.filter(refund_search_filter(term)))

    assert found(paid_sale.external_id.lower()) == [ours]
    assert found(f" {paid_sale.external_id} ") == [ours]
    assert found(ours.xendit_refund_id) == [ours]
    assert found(paid_sale.xendit_payment_id) == [ours]
    assert found(other.xendit_payment_id) == [theirs]
