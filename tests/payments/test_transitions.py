"""Every status change is a transition that writes one history row with its cause; a transition
that does not apply writes none. Review reasons are rows, and the sale page reads both."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from payments import services, transitions
from payments.models import (
    EventOutcome,
    EventSource,
    PaymentEvent,
    ReviewNote,
    Sale,
    SaleCause,
    SaleHistory,
    SaleReview,
    SaleStatus,
)
from payments.reconciliation import expire_overdue_sales
from payments.refunds.services import request_refund
from payments.simulation import simulate_payment, simulate_refund_webhook
from tests.support.webhooks import payment_webhook, post_webhook

pytestmark = pytest.mark.django_db

PENDING, COMPLETED, EXPIRED = SaleStatus.PENDING, SaleStatus.COMPLETED, SaleStatus.EXPIRED


def changes(sale: Sale) -> list[tuple[str, str, str]]:
    """The sale's history after it started: (from, to, cause)."""
    return list(sale.history.exclude(from_status="").values_list("from_status", "to_status", "cause"))


def overdue(make_sale, **fields) -> Sale:
    return make_sale(expires_at=timezone.now() - timedelta(minutes=1), **fields)


@pytest.mark.parametrize("voucher", [None, "HEMAT25"], ids=["no voucher", "with a voucher"])
def test_a_sale_started_at_a_kiosk_has_its_first_row_naming_the_machine(
    api, sale_request, location, make_voucher, voucher
):
    if voucher:
        make_voucher(code=voucher)
        sale_request = {**sale_request, "voucher_code": voucher}

    response = api.post("/api/v1/transactions", sale_request, format="json")

    sale = Sale.objects.get(external_id=response.json()["data"]["external_id"])
    [row] = SaleHistory.objects.filter(sale=sale)
    assert (row.from_status, row.to_status, row.cause) == ("", PENDING, SaleCause.KIOSK)
    assert (row.actor_text, row.at) == (location.machine_code, sale.created_at)


def test_the_poll_expires_an_overdue_sale_once_with_one_row(api, make_sale):
    sale = overdue(make_sale)

    for _ in range(2):
        assert api.get(f"/api/v1/transactions/external/{sale.external_id}").json()["data"]["status"] == EXPIRED

    assert changes(sale) == [(PENDING, EXPIRED, SaleCause.KIOSK_POLL)]


def test_expire_sales_writes_one_row_per_sale_it_expired(make_sale):
    due = [overdue(make_sale), overdue(make_sale)]
    paid = overdue(make_sale, status=COMPLETED)
    waiting = make_sale()

    assert expire_overdue_sales().expired == 2
    expire_overdue_sales()

    for sale in due:
        assert changes(sale) == [(PENDING, EXPIRED, SaleCause.EXPIRE_SALES)]
    assert changes(paid) == [(PENDING, COMPLETED, SaleCause.EARLIER)]  # the factory's row only
    assert changes(waiting) == []


def test_a_kiosk_cancel_writes_one_row_and_a_second_cancel_none(make_sale):
    sale = make_sale()

    services.cancel_sale(sale=sale)
    services.cancel_sale(sale=sale)

    assert changes(sale) == [(PENDING, SaleStatus.CANCELLED, SaleCause.KIOSK_CANCEL)]


def test_a_gateway_error_fails_the_sale_with_one_row(make_sale):
    sale = make_sale()

    assert services.fail_sale(sale=sale, reason="Gateway unavailable")
    assert not services.fail_sale(sale=sale, reason="Gateway unavailable")

    assert changes(sale) == [(PENDING, SaleStatus.FAILED, SaleCause.GATEWAY_ERROR)]


def test_a_webhook_payment_completes_the_sale_with_one_row_naming_its_event(api, make_sale):
    sale = make_sale()

    post_webhook(api, payment_webhook(sale))
    post_webhook(api, payment_webhook(sale))  # Xendit's retry: a duplicate

    [row] = sale.history.exclude(from_status="")
    assert (row.from_status, row.to_status, row.cause) == (PENDING, COMPLETED, SaleCause.WEBHOOK)
    assert row.event == PaymentEvent.objects.filter(outcome=EventOutcome.APPLIED).get()
    assert not SaleReview.objects.exists()


def test_a_simulated_payment_is_caused_by_the_simulator(make_sale):
    sale = make_sale()

    event = simulate_payment(sale=sale)

    assert changes(sale) == [(PENDING, COMPLETED, SaleCause.SIMULATOR)]
    assert sale.history.get(to_status=COMPLETED).event == event


def test_a_late_payment_completes_an_expired_sale_and_adds_one_review(api, make_sale):
    sale = overdue(make_sale, status=EXPIRED)

    post_webhook(api, payment_webhook(sale, payment_id="qrpy_late"))

    sale.refresh_from_db()
    assert changes(sale) == [(PENDING, EXPIRED, SaleCause.EARLIER), (EXPIRED, COMPLETED, SaleCause.WEBHOOK)]
    [review] = sale.reviews.all()
    assert review.reason.startswith("Paid after the sale was marked EXPIRED (late payment qrpy_late)")
    assert review.event == sale.history.get(to_status=COMPLETED).event
    assert sale.needs_review


def test_a_whole_refund_makes_the_sale_refunded_with_one_row_naming_who_asked(make_sale):
    boss = get_user_model().objects.create_user("boss")
    sale = make_sale()
    simulate_payment(sale=sale)
    refund = request_refund(sale=Sale.objects.get(pk=sale.pk), reason="Printer jammed", requested_by=boss)

    event = simulate_refund_webhook(refund=refund)

    row = sale.history.get(to_status=SaleStatus.REFUNDED)
    assert (row.from_status, row.cause, row.event, row.actor) == (COMPLETED, SaleCause.REFUND, event, boss)


def test_a_partial_refund_changes_no_status(make_sale):
    sale = make_sale()
    simulate_payment(sale=sale)
    refund = request_refund(
        sale=Sale.objects.get(pk=sale.pk), reason="One strip", requested_by=None, amount=Decimal(1000)
    )

    simulate_refund_webhook(refund=refund)

    assert changes(sale) == [(PENDING, COMPLETED, SaleCause.SIMULATOR)]


@pytest.mark.parametrize(
    "change",
    [
        lambda sale: transitions.expire(
            sales=Sale.objects.filter(pk=sale.pk), cause="expire_sales", now=timezone.now()
        ),
        lambda sale: transitions.fail(sale=sale, cause=SaleCause.GATEWAY_ERROR),
        lambda sale: transitions.cancel(sale=sale),
        lambda sale: transitions.refund(sale=sale),
    ],
    ids=["expire", "fail", "cancel", "refund"],
)
@pytest.mark.parametrize("status", [SaleStatus.EXPIRED, SaleStatus.REFUNDED, SaleStatus.CANCELLED])
def test_a_transition_that_does_not_apply_changes_nothing_and_writes_no_row(make_sale, change, status):
    sale = overdue(make_sale, status=status)
    before = changes(sale)

    assert not change(sale)

    sale.refresh_from_db()
    assert (sale.status, changes(sale)) == (status, before)


def test_completing_a_paid_sale_is_refused(make_sale):
    sale = make_sale(status=COMPLETED)

    with pytest.raises(ValueError, match="cannot be completed"):
        transitions.complete(
            sale=sale,
            paid_at=timezone.now(),
            paid_amount=Decimal(40000),
            payment_id="qrpy_again",
            channel="",
            receipt_id="",
            cause=SaleCause.WEBHOOK,
        )
    assert changes(sale) == [(PENDING, COMPLETED, SaleCause.EARLIER)]


def test_a_reason_already_open_is_not_added_again_and_a_resolved_one_is(make_sale):
    boss = get_user_model().objects.create_user("boss")
    sale = make_sale(status=COMPLETED)

    transitions.flag(sale=sale, reason="Amount mismatch")
    transitions.flag(sale=sale, reason="Amount mismatch")
    transitions.flag(sale=sale, reason="Refund failed")
    assert Sale.objects.get(pk=sale.pk).review_reason == "Amount mismatch\nRefund failed"

    services.resolve_review(sale=sale, note="Called the bank", user=boss)
    transitions.flag(sale=sale, reason="Amount mismatch")

    note = ReviewNote.objects.get(sale=sale)
    assert note.problem == "Amount mismatch\nRefund failed"
    assert sorted(note.reviews.values_list("reason", flat=True)) == ["Amount mismatch", "Refund failed"]
    fresh = Sale.objects.get(pk=sale.pk)
    assert (fresh.needs_review, fresh.review_reason) == (True, "Amount mismatch")


def test_the_sale_page_tells_the_rows_not_the_notices_text(admin_client, make_sale):
    sale = make_sale()
    event = simulate_payment(sale=sale)
    # The page no longer reads the change back out of the notice's outcome.
    PaymentEvent.objects.filter(pk=event.pk).update(outcome_detail="(rewritten)")
    expired = overdue(make_sale)
    expire_overdue_sales()

    paid_page = admin_client.get(reverse("admin:payments_sale_change", args=[sale.pk])).content.decode()
    expired_page = admin_client.get(reverse("admin:payments_sale_change", args=[expired.pk])).content.decode()

    assert "Awaiting payment → Paid" in paid_page
    assert "Expired: the QR code was not paid in time" in expired_page
    assert "expire_sales (cron)" in expired_page


# --- The data migration ------------------------------------------------------------------------
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_rows_from_what_earlier_versions_kept():
    before = [("payments", "0009_sale")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    try:
        location = old.get_model("locations", "Location").objects.create(machine_code="PB-OLD", name="Old mall")
        price = old.get_model("pricing", "Price").objects.create(amount=40000, description="Old")
        OldSale, OldEvent = old.get_model("payments", "Sale"), old.get_model("payments", "PaymentEvent")
        now = timezone.now()

        def sale(number, status, **fields):
            return OldSale.objects.create(
                external_id=f"TRX-OLD-{number}",
                location=location,
                price=price,
                amount=40000,
                status=status,
                email="old@example.com",
                expires_at=now - timedelta(hours=1),
                created_at=now - timedelta(hours=2),
                **fields,
            )

        def applied(sale, detail, source="webhook"):
            return OldEvent.objects.create(
                sale=sale, source=source, outcome="applied", outcome_detail=detail, body="{}"
            )

        late = sale(1, "COMPLETED", paid_at=now, needs_review=True, review_reason="Paid after EXPIRED\nAmount odd")
        late_event = applied(late, "EXPIRED -> COMPLETED")
        refunded = sale(2, "REFUNDED", paid_at=now, xendit_payment_id="qrpy_old")
        applied(refunded, "PENDING -> COMPLETED", source="simulator")
        applied(refunded, "Refund qrrf_1 of Rp 40.000: went through; sale COMPLETED -> REFUNDED")
        expired = sale(3, "EXPIRED")
        resolved = sale(4, "COMPLETED", paid_at=now)
        note = old.get_model("payments", "ReviewNote").objects.create(sale=resolved, problem="Old problem", note="Ok")
    finally:
        call_command("migrate", verbosity=0)

    def history(pk):
        return list(SaleHistory.objects.filter(sale_id=pk).values_list("from_status", "to_status", "cause", "event_id"))

    assert history(late.pk) == [
        ("", PENDING, "kiosk", None),
        (PENDING, EXPIRED, "earlier", None),
        (EXPIRED, COMPLETED, "webhook", late_event.pk),
    ]
    assert [row[:3] for row in history(refunded.pk)] == [
        ("", PENDING, "kiosk"),
        (PENDING, COMPLETED, "simulator"),
        (COMPLETED, SaleStatus.REFUNDED, "refund"),
    ]
    assert history(expired.pk) == [("", PENDING, "kiosk", None), (PENDING, EXPIRED, "earlier", None)]
    assert Sale.objects.get(pk=late.pk).review_reason == "Paid after EXPIRED\nAmount odd"
    [old_review] = SaleReview.objects.filter(sale_id=resolved.pk)
    assert (old_review.reason, old_review.resolution_id) == ("Old problem", note.pk)
    assert EventSource.WEBHOOK == SaleCause.WEBHOOK  # the causes a notice stands for keep its source's value
