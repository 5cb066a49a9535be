"""Refunds in the admin: staff who may refund find a "Refund" tool on a paid sale, fill in the
payment, amount and reason, and follow the refund until Xendit settles it (here, the payment
simulator and its refund webhook buttons). Everything goes through the admin's pages."""

import html
import re
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from payments.gateways import GatewayRateLimited, GatewayRejected, GatewayTimeout
from payments.gateways.simulator import SimulatorGateway
from payments.models import EventOutcome, Refund, RefundStatus, Sale, SaleStatus
from payments.simulation import simulate_payment

pytestmark = pytest.mark.django_db

SALES = reverse("admin:payments_sale_changelist")
REFUNDS = reverse("admin:payments_refund_changelist")


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def staff_client(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Kiosk operator"))
    client.force_login(user)
    return client


@pytest.fixture
def paid_sale(make_sale) -> Sale:
    sale = make_sale()
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    return sale


def sale_page(sale: Sale) -> str:
    return reverse("admin:payments_sale_change", args=[sale.pk])


def refund_url(sale: Sale) -> str:
    return reverse("admin:payments_sale_refund", args=[sale.pk])


def simulate_url(refund: Refund, outcome: str) -> str:
    return reverse("admin:payments_sale_refund-simulate", args=[refund.sale_id, refund.pk, outcome])


def text(response) -> str:
    """A page as a person reads it: text only, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def refund_form(client, sale: Sale, **query) -> dict:
    """The refund form as shown: its one-time request key and preselected payment."""
    response = client.get(refund_url(sale), query)
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert re.fullmatch(r"[0-9a-f]{32}", initial["request_key"])
    return {"payment": initial["payment"], "request_key": initial["request_key"], "amount": "", "reason": ""}


def refund(client, sale: Sale, *, follow: bool = True, **fields):
    data = refund_form(client, sale)
    data.update(fields)
    return client.post(refund_url(sale), data, follow=follow)


# --- Who may refund ---------------------------------------------------------------------------
def test_the_refund_tool_is_offered_to_superusers_on_a_paid_sale_only(staff_client, paid_sale, make_sale):
    unpaid = make_sale()

    assert refund_url(paid_sale) in staff_client.get(sale_page(paid_sale)).content.decode()
    assert refund_url(unpaid) not in staff_client.get(sale_page(unpaid)).content.decode()
    response = staff_client.get(refund_url(unpaid), follow=True)
    assert "received no payment Xendit can refund" in text(response)


def test_kiosk_operators_cannot_refund(operator_client, paid_sale):
    page = operator_client.get(sale_page(paid_sale))

    assert page.status_code == 200
    assert refund_url(paid_sale) not in page.content.decode()
    assert operator_client.get(refund_url(paid_sale)).status_code == 403
    response = operator_client.post(
        refund_url(paid_sale), {"payment": paid_sale.xendit_payment_id, "reason": "x", "request_key": "k" * 32}
    )
    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_staff_given_the_refund_permission_can_refund(client, paid_sale):
    user = get_user_model().objects.create_user("lead", "lead@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Kiosk operator"))
    user.user_permissions.add(Permission.objects.get(codename="refund_sale"))
    client.force_login(user)

    assert refund_url(paid_sale) in client.get(sale_page(paid_sale)).content.decode()
    refund(client, paid_sale, reason="Printer jammed")

    assert Refund.objects.get().requested_by == user


# --- Refunding --------------------------------------------------------------------------------
def test_a_full_refund_waits_for_xendit_then_refunds_the_sale(staff_client, paid_sale, boss):
    form = staff_client.get(refund_url(paid_sale))
    assert form.context["form"].initial["payment"] == paid_sale.xendit_payment_id
    assert "Rp 40.000" in text(form)

    response = refund(staff_client, paid_sale, reason="Printer jammed, no photos")

    made = Refund.objects.get()
    assert (made.status, made.amount, made.payment_id) == (RefundStatus.PENDING, 40000, paid_sale.xendit_payment_id)
    assert (made.requested_by, made.reason) == (boss, "Printer jammed, no photos")
    assert made.xendit_refund_id.startswith("qrrf_sim_")
    page = text(response)
    assert "Xendit is processing it; the sale updates when Xendit confirms" in page
    assert "Waiting for Xendit" in page
    assert "Simulate Xendit's refund webhook: refunded" in page
    assert refund_url(paid_sale) not in response.content.decode()  # nothing left while it waits
    paid_sale.refresh_from_db()
    assert paid_sale.status == SaleStatus.COMPLETED
    entry = LogEntry.objects.get(object_id=str(paid_sale.pk))
    assert "Refund of Rp 40.000" in entry.get_change_message()
    assert "Printer jammed, no photos" in entry.get_change_message()

    settled = staff_client.post(simulate_url(made, "refunded"), follow=True)

    made.refresh_from_db()
    paid_sale.refresh_from_db()
    assert made.status == RefundStatus.SUCCEEDED
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.REFUNDED, 40000)
    page = text(settled)
    assert "Status: Refunded" in page
    assert "Simulate Xendit's refund webhook" not in page
    assert "Refund asked for by boss" in page
    assert "All of the payment is given back: Paid → Refunded" in page
    listed = text(staff_client.get(SALES))
    assert "Refunded" in listed


def test_a_partial_refund_leaves_the_sale_paid_and_says_how_much(staff_client, paid_sale):
    refund(staff_client, paid_sale, amount="15.000", reason="One strip missing")
    made = Refund.objects.get()
    assert made.amount == Decimal(15000)

    page = text(staff_client.post(simulate_url(made, "refunded"), follow=True))

    paid_sale.refresh_from_db()
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, 15000)
    assert "Paid (partially refunded: Rp 15.000 of Rp 40.000)" in page
    # The amounts: paid, refunded, waiting for Xendit, left.
    assert "Rp 40.000 Rp 15.000 Rp 0 Rp 25.000" in page
    assert "Rp 15.000 of the Rp 40.000 paid given back so far; the sale stays paid" in page
    assert refund_url(paid_sale) in staff_client.get(sale_page(paid_sale)).content.decode()
    assert "Paid, partly refunded" in text(staff_client.get(SALES))
    form = staff_client.get(refund_url(paid_sale))
    assert "Rp 25.000 left" in text(form)


def test_an_amount_over_what_is_left_is_refused_in_words(staff_client, paid_sale):
    response = refund(staff_client, paid_sale, amount="50000", reason="Too much")

    assert response.status_code == 200
    assert response.context["form"] is not None  # still on the form
    assert f"At most Rp 40.000 can be refunded of payment {paid_sale.xendit_payment_id}" in text(response)
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("amount", "words"),
    [("40000.5", "Type whole rupiah"), ("abc", "Type whole rupiah"), ("0", "at least Rp 1")],
)
def test_an_amount_that_is_not_whole_rupiah_is_refused(staff_client, paid_sale, amount, words):
    response = refund(staff_client, paid_sale, amount=amount, reason="x")

    assert response.status_code == 200
    assert words in text(response)
    assert not Refund.objects.exists()


def test_a_reason_is_required(staff_client, paid_sale):
    response = refund(staff_client, paid_sale, reason="   ")

    assert response.status_code == 200
    assert "A reason is required: say why the money is given back." in text(response)
    assert not Refund.objects.exists()


def test_the_same_form_sent_twice_makes_one_refund(staff_client, paid_sale):
    data = refund_form(staff_client, paid_sale)
    data.update(amount="10000", reason="Double click")

    first = staff_client.post(refund_url(paid_sale), data, follow=True)
    second = staff_client.post(refund_url(paid_sale), data, follow=True)

    assert Refund.objects.count() == 1
    assert "Xendit is processing it" in text(first)
    assert "This form was already sent: no second refund was made." in text(second)
    assert LogEntry.objects.count() == 1


def test_a_failed_refund_is_explained_and_the_money_can_be_refunded_again(staff_client, paid_sale):
    refund(staff_client, paid_sale, reason="Printer jammed")
    made = Refund.objects.get()

    page = text(staff_client.post(simulate_url(made, "failed"), follow=True))

    made.refresh_from_db()
    paid_sale.refresh_from_db()
    assert (made.status, made.failure_code) == (RefundStatus.FAILED, "REFUND_FAILED")
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, 0)
    assert "Xendit refused it (REFUND_FAILED). Pay the customer back another way" in page
    assert "Refund failed (REFUND_FAILED): no money was given back" in page
    assert refund_url(paid_sale) in staff_client.get(sale_page(paid_sale)).content.decode()


def test_xendit_refusing_the_request_is_shown_with_what_to_do(staff_client, paid_sale, monkeypatch):
    def refuse(self, **kwargs):
        raise GatewayRejected("refused", error_code="REFUND_NOT_SUPPORTED")

    monkeypatch.setattr(SimulatorGateway, "create_refund", refuse)

    response = refund(staff_client, paid_sale, reason="Printer jammed")

    assert Refund.objects.get().status == RefundStatus.FAILED
    assert "does not accept refunds through Xendit" in text(response)


@pytest.mark.parametrize("error", [GatewayTimeout("slow"), GatewayRateLimited("busy", retry_after=30)])
def test_a_refund_xendit_could_not_be_asked_about_is_kept_for_the_refund_check(
    staff_client, paid_sale, monkeypatch, error
):
    def unreachable(self, **kwargs):
        raise error

    monkeypatch.setattr(SimulatorGateway, "create_refund", unreachable)

    response = refund(staff_client, paid_sale, reason="Printer jammed")

    made = Refund.objects.get()
    assert (made.status, made.xendit_refund_id) == (RefundStatus.PENDING, None)
    assert "Xendit could not be asked now; it will be sent again automatically by the refund check" in text(response)


# --- A payment too many -----------------------------------------------------------------------
def test_an_extra_payment_is_refunded_from_its_notification(staff_client, paid_sale):
    extra = simulate_payment(sale=paid_sale)
    assert extra.outcome == EventOutcome.DOUBLE_PAYMENT
    event_page = reverse("admin:payments_paymentevent_change", args=[extra.pk])

    tool = f"{refund_url(paid_sale)}?payment={extra.xendit_payment_id}"
    assert tool in staff_client.get(event_page).content.decode()
    data = refund_form(staff_client, paid_sale, payment=extra.xendit_payment_id)
    assert data["payment"] == extra.xendit_payment_id
    data["reason"] = "Paid twice"
    staff_client.post(refund_url(paid_sale), data)
    made = Refund.objects.get()
    page = text(staff_client.post(simulate_url(made, "refunded"), follow=True))

    assert (made.payment_id, made.amount) == (extra.xendit_payment_id, 40000)
    paid_sale.refresh_from_db()
    assert (paid_sale.status, paid_sale.refunded_amount) == (SaleStatus.COMPLETED, 0)
    assert f"The extra payment {extra.xendit_payment_id} is given back" in page
    assert f"{extra.xendit_payment_id} (extra payment)" in page
    assert "Mark problem resolved" in page  # the second payment stays a problem until staff say so
    assert tool not in staff_client.get(event_page).content.decode()  # nothing left of it


def test_operators_get_no_refund_tool_on_a_double_payment(operator_client, paid_sale):
    extra = simulate_payment(sale=paid_sale)

    page = operator_client.get(reverse("admin:payments_paymentevent_change", args=[extra.pk]))

    assert page.status_code == 200
    assert "Refund this payment" not in page.content.decode()


# --- Lists and other pages --------------------------------------------------------------------
def test_the_refund_list_shows_filters_and_finds_refunds(staff_client, paid_sale, make_sale):
    refund(staff_client, paid_sale, amount="5000", reason="Blurry strip")
    other = make_sale()
    simulate_payment(sale=other)
    refund(staff_client, other, reason="Customer left")
    made = Refund.objects.get(sale=paid_sale)

    listed = staff_client.get(REFUNDS)
    found = staff_client.get(REFUNDS, {"q": paid_sale.external_id})
    by_id = staff_client.get(REFUNDS, {"q": made.xendit_refund_id})
    waiting = staff_client.get(REFUNDS, {"status__exact": "PENDING", "origin__exact": "staff"})

    assert listed.status_code == 200
    assert "Rp 5.000" in text(listed)
    assert [r.pk for r in found.context["cl"].result_list] == [made.pk]
    assert [r.pk for r in by_id.context["cl"].result_list] == [made.pk]
    assert waiting.context["cl"].result_list.count() == 2
    change = staff_client.get(reverse("admin:payments_refund_change", args=[made.pk]))
    assert change.status_code == 200
    assert "Blurry strip" in text(change)
    assert staff_client.get(reverse("admin:payments_refund_add")).status_code == 403


def test_kiosk_operators_do_not_see_the_refund_list(operator_client):
    assert operator_client.get(REFUNDS).status_code == 403


@pytest.mark.parametrize("status", [SaleStatus.EXPIRED, SaleStatus.FAILED])
def test_xendit_can_be_asked_about_an_expired_or_failed_sale(staff_client, make_sale, status):
    sale = make_sale(status=status)
    check = reverse("admin:payments_sale_check-payment", args=[sale.pk])

    assert check in staff_client.get(sale_page(sale)).content.decode()
    response = staff_client.post(SALES, {"action": "check_with_gateway", "_selected_action": [sale.pk]}, follow=True)

    # Asked: the simulator has nothing to ask, and says so (a paid sale is never asked).
    assert "The payment simulator keeps no payment records to ask" in text(response)


# --- Cost of the sale's page ------------------------------------------------------------------
# The sale page of a paid sale with an extra payment and refunds: the ten it had before, five for
# refunds (what the sale received: extra payments, whether one paid another sale, the sums refunded
# of each; its refunds; the history's refunds) and one for the photos' upload state (interrupted
# or not). The same for one refund or many.
SALE_PAGE_QUERIES = 16


def test_the_sale_page_with_refunds_costs_a_fixed_number_of_queries(staff_client, paid_sale, django_assert_num_queries):
    simulate_payment(sale=paid_sale)  # an extra payment
    refund(staff_client, paid_sale, amount="1000", reason="first")
    staff_client.get(sale_page(paid_sale))  # fills the per-process caches (content types) first

    with django_assert_num_queries(SALE_PAGE_QUERIES):
        assert staff_client.get(sale_page(paid_sale)).status_code == 200

    for number in range(4):
        refund(staff_client, paid_sale, amount="1000", reason=f"more {number}")
    staff_client.post(simulate_url(Refund.objects.first(), "refunded"))
    with django_assert_num_queries(SALE_PAGE_QUERIES):
        page = staff_client.get(sale_page(paid_sale))
    assert Refund.objects.filter(status=RefundStatus.PENDING).count() == 4
    assert "more 3" in text(page)
