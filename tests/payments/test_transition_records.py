"""What each transition writes, read back from the database: only the sale it was given, stamped
with the time it was given, naming the notice behind it; a free session paid Rp 0 through the
voucher; one transaction without savepoints (the docstring's "no extra queries")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from payments import transitions
from payments.models import FREE_SESSION_CHANNEL, EventSource, PaymentEvent, Sale, SaleCause, SaleStatus

pytestmark = pytest.mark.django_db

PENDING, COMPLETED = SaleStatus.PENDING, SaleStatus.COMPLETED
AN_HOUR_AGO = timezone.now() - timedelta(hours=1)


def stored(sale: Sale) -> Sale:
    return Sale.objects.get(pk=sale.pk)


# --- Only the sale it was given ----------------------------------------------------------------


@pytest.mark.parametrize(
    "end",
    [
        lambda sale: transitions.cancel(sale=sale),
        lambda sale: transitions.fail(sale=sale, cause=SaleCause.GATEWAY_ERROR),
    ],
    ids=["cancel", "fail"],
)
def test_ending_one_sale_unpaid_leaves_the_other_pending_sales_pending(make_sale, end):
    sale, other = make_sale(), make_sale()

    assert end(sale)

    assert stored(other).status == PENDING


def test_refunding_one_sale_leaves_the_other_paid_sales_paid(make_sale):
    sale, other = make_sale(status=COMPLETED), make_sale(status=COMPLETED)

    assert transitions.refund(sale=sale)

    assert stored(other).status == COMPLETED


def test_a_free_session_completes_only_its_own_sale(make_sale):
    sale, other = make_sale(amount=0), make_sale(amount=0)

    transitions.complete_free(sale=sale, now=timezone.now())

    assert stored(other).status == PENDING


# --- Stamped with the time it was given --------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda sale: transitions.cancel(sale=sale, now=AN_HOUR_AGO),
        lambda sale: transitions.fail(sale=sale, cause=SaleCause.GATEWAY_ERROR, now=AN_HOUR_AGO),
    ],
    ids=["cancel", "fail"],
)
def test_an_unpaid_end_is_stamped_with_the_time_it_was_given(make_sale, change):
    sale = make_sale()

    change(sale)

    assert stored(sale).updated_at == AN_HOUR_AGO
    assert sale.history.get(from_status=PENDING).at == AN_HOUR_AGO


def test_a_refund_is_stamped_with_the_time_it_was_given(make_sale):
    sale = make_sale(status=COMPLETED)

    transitions.refund(sale=sale, now=AN_HOUR_AGO)

    assert stored(sale).updated_at == AN_HOUR_AGO
    assert sale.history.get(to_status=SaleStatus.REFUNDED).at == AN_HOUR_AGO


def test_a_refund_leaves_the_sale_in_hand_refunded(make_sale):
    sale = make_sale(status=COMPLETED)

    transitions.refund(sale=sale)

    assert sale.status == SaleStatus.REFUNDED


# --- Naming the notice behind it ---------------------------------------------------------------


def test_a_failure_a_notice_reported_names_that_notice_on_its_row(make_sale):
    sale = make_sale()
    notice = PaymentEvent.objects.create(source=EventSource.WEBHOOK, sale=sale, reported_status="FAILED")

    transitions.fail(sale=sale, cause=SaleCause.WEBHOOK, event=notice)

    assert sale.history.get(to_status=SaleStatus.FAILED).event == notice


# --- A free session ----------------------------------------------------------------------------


def test_a_free_session_is_stored_paid_rp_0_through_the_voucher_without_a_qr_code(make_sale):
    sale = make_sale(amount=0)

    transitions.complete_free(sale=sale, now=AN_HOUR_AGO)

    row = stored(sale)
    assert (row.status, row.paid_at, row.paid_amount, row.payment_channel, row.qr_string, row.updated_at) == (
        COMPLETED,
        AN_HOUR_AGO,
        Decimal(0),
        FREE_SESSION_CHANNEL,
        None,
        AN_HOUR_AGO,
    )
    assert (sale.status, sale.paid_amount) == (COMPLETED, Decimal(0))


@pytest.mark.parametrize(
    "fields",
    [{"amount": 1000}, {"amount": 0, "status": SaleStatus.CANCELLED}],
    ids=["something to pay", "not pending"],
)
def test_only_a_pending_sale_with_nothing_to_pay_can_be_a_free_session(make_sale, fields):
    sale = make_sale(**fields)

    # Its own transaction, as the sale's creation is: the refusal rolls it back.
    with (
        pytest.raises(ValueError, match=rf"^{sale.external_id} is not a new sale with nothing to pay$"),
        transaction.atomic(),
    ):
        transitions.complete_free(sale=sale, now=timezone.now())

    assert stored(sale).status == fields.get("status", PENDING)


# --- Flagging ------------------------------------------------------------------------------------


def test_flagging_a_sale_read_before_it_expired_does_not_bring_it_back_to_pending(make_sale):
    sale = make_sale()
    Sale.objects.filter(pk=sale.pk).update(status=SaleStatus.EXPIRED)

    transitions.flag(sale=sale, reason="Amount differs")

    assert (stored(sale).status, stored(sale).needs_review) == (SaleStatus.EXPIRED, True)


# --- One transaction, no savepoints --------------------------------------------------------------


def test_an_unpaid_end_costs_its_three_writes_and_no_savepoint(make_sale, django_assert_num_queries):
    sale = make_sale()

    # The conditional UPDATE, the history row, the price's counts (its place freed); no voucher to give back.
    with django_assert_num_queries(3):
        transitions.cancel(sale=sale)


def test_a_refund_costs_its_three_writes_and_no_savepoint(make_sale, django_assert_num_queries):
    sale = make_sale(status=COMPLETED)

    with django_assert_num_queries(3):  # the conditional UPDATE, the history row, the price's counts
        transitions.refund(sale=sale)


def test_a_free_session_costs_its_three_writes_and_no_savepoint(make_sale, django_assert_num_queries):
    sale = make_sale(amount=0)

    with django_assert_num_queries(3):  # the conditional UPDATE, the history row, the price's counts
        transitions.complete_free(sale=sale, now=timezone.now())


def test_expiring_stamps_each_sale_and_row_with_the_time_and_notice_given(make_sale):
    sale = make_sale()
    notice = PaymentEvent.objects.create(source=EventSource.RECONCILIATION, sale=sale, reported_status="EXPIRED")

    transitions.expire(
        sales=Sale.objects.filter(pk=sale.pk), cause=SaleCause.RECONCILIATION, now=AN_HOUR_AGO, event=notice
    )

    row = sale.history.get(to_status=SaleStatus.EXPIRED)
    assert (stored(sale).updated_at, row.at, row.event) == (AN_HOUR_AGO, AN_HOUR_AGO, notice)


def test_expiring_costs_the_lock_the_update_and_one_insert_and_no_savepoint(make_sale, django_assert_num_queries):
    sales = [make_sale(), make_sale()]

    # SELECT ... FOR UPDATE, the UPDATE, the history rows in one INSERT, the price's counts (one price).
    with django_assert_num_queries(4):
        transitions.expire(
            sales=Sale.objects.filter(pk__in=[s.pk for s in sales]), cause="expire_sales", now=AN_HOUR_AGO
        )


# --- Who did it ----------------------------------------------------------------------------------


def test_rows_no_person_caused_name_no_actor(make_sale):
    sale = make_sale()

    transitions.cancel(sale=sale)

    assert list(sale.history.values_list("actor_text", "actor_id")) == [("", None), ("", None)]


# --- A payment ------------------------------------------------------------------------------------


def complete(sale: Sale, *, payment_id: str | None) -> None:
    transitions.complete(
        sale=sale,
        paid_at=timezone.now(),
        paid_amount=sale.amount,
        payment_id=payment_id,
        channel="QRIS",
        receipt_id="",
        cause=SaleCause.WEBHOOK,
    )


def test_a_late_payment_without_an_id_is_flagged_saying_so(make_sale):
    sale = make_sale(status=SaleStatus.EXPIRED)

    complete(sale, payment_id=None)

    assert list(sale.reviews.values_list("reason", flat=True)) == [
        "Paid after the sale was marked EXPIRED (late payment without id): "
        "keep it and let the customer take photos, or refund it"
    ]


def test_a_payment_writes_only_the_payment_onto_the_sale(make_sale):
    sale = make_sale()
    Sale.objects.filter(pk=sale.pk).update(email="corrected@example.com")  # since `sale` was read

    complete(sale, payment_id="qrpy_1")

    assert (stored(sale).status, stored(sale).email) == (COMPLETED, "corrected@example.com")


def test_a_payment_already_on_another_sale_leaves_the_sale_in_hand_as_it_was(make_sale):
    make_sale(status=COMPLETED, xendit_payment_id="qrpy_1")
    sale = make_sale()

    with pytest.raises(transitions.PaymentOnAnotherSale):
        complete(sale, payment_id="qrpy_1")

    assert (sale.status, sale.paid_at, sale.paid_amount, sale.xendit_payment_id) == (PENDING, None, None, None)
