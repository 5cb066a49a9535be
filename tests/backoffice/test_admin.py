"""Staff run the kiosks from the Django admin: every page opens, machines and prices are managed
there, and what has sales is never deleted."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from gallery.models import EmailKind, EmailOutbox
from locations.models import Location, MachineIncident
from payments.events import record_payment_event
from payments.models import EventOutcome, PaymentEvent, Refund, ReviewNote, Sale, SaleStatus
from payments.reconciliation import expire_overdue_sales
from payments.services import resolve_review
from payments.simulation import simulate_payment
from pricing.models import Price, Voucher
from tests.support.factories import create_sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_of_everything(staff_client, make_sale, make_photo, price, location, make_voucher):
    """One of each kind of row the admin shows, so every page has something to render."""
    voucher = make_voucher(prices=[price], locations=[location])
    sale = make_sale(status=SaleStatus.COMPLETED, email_sent_at=timezone.now())
    make_sale(amount=36000, discount=4000, voucher=voucher, voucher_code=voucher.code)
    make_photo(sale)
    EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status="sent", attempts=1)
    EmailOutbox.objects.create(kind=EmailKind.STAFF_ALERT, alert_key="incident:1", recipients="ops@example.com")
    MachineIncident.objects.create(location=location, kind="paper_low", started_at=timezone.now())
    Refund.objects.create(sale=sale, payment_id="qrpy_x", amount=5000, reason="One strip missing")
    flagged = make_sale(status=SaleStatus.EXPIRED)
    simulate_payment(sale=flagged)
    resolve_review(sale=flagged, note="Customer got their photos", user=get_user_model().objects.get(username="boss"))
    event = record_payment_event(source="webhook", headers={}, body=b'{"external_id": "TRX-NOPE", "status": "x"}')
    PaymentEvent.objects.filter(pk=event.pk).update(outcome=EventOutcome.UNKNOWN_SALE)
    return sale


# Every model staff can reach, with one example row for its change page.
def example_rows() -> dict[type, object]:
    return {
        Location: Location.objects.first(),
        Price: Price.objects.first(),
        Voucher: Voucher.objects.first(),
        Sale: Sale.objects.first(),
        PaymentEvent: PaymentEvent.objects.first(),
        Refund: Refund.objects.first(),
        EmailOutbox: EmailOutbox.objects.first(),
        MachineIncident: MachineIncident.objects.first(),
        Group: Group.objects.get(name="Kiosk operator"),
        get_user_model(): get_user_model().objects.first(),
    }


# Written only by the payment flow: staff read them, never add them.
READ_ONLY_MODELS = {Sale, PaymentEvent, EmailOutbox, Refund, MachineIncident}


def admin_url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def test_every_admin_page_of_every_model_opens_for_a_superuser(staff_client, some_of_everything):
    rows = example_rows()
    assert set(rows) == set(admin.site._registry), "a registered model has no smoke test"

    for model, row in rows.items():
        assert staff_client.get(admin_url(model, "changelist")).status_code == 200, model
        assert staff_client.get(admin_url(model, "change", row.pk)).status_code == 200, model
        add = staff_client.get(admin_url(model, "add")).status_code
        assert add == (403 if model in READ_ONLY_MODELS else 200), model


def test_the_index_links_the_report_and_counts_the_problems(staff_client, some_of_everything, make_sale):
    make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason="Amount mismatch")

    page = staff_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:payments_sale_report") in page
    assert "⚠ 1 to review" in page
    assert "⚠ 1 to look at" in page  # the unmatched webhook
    assert "Photo emails that could not be sent" in page


def test_the_admin_stays_in_english_when_customers_get_indonesian(staff_client, settings):
    settings.LANGUAGE_CODE = "id"

    page = staff_client.get(reverse("admin:index")).content.decode()

    assert "Log out" in page
    assert "Today at a glance" in page


def test_sales_and_payment_events_cannot_be_added_or_edited(staff_client, some_of_everything):
    assert staff_client.get(reverse("admin:payments_sale_add")).status_code == 403
    sale = some_of_everything
    response = staff_client.post(
        reverse("admin:payments_sale_change", args=[sale.pk]), {"amount": "1", "status": "PENDING"}
    )
    assert response.status_code == 403
    sale.refresh_from_db()
    assert (sale.amount, sale.status) == (40000, SaleStatus.COMPLETED)


# --- Prices ---------------------------------------------------------------------------------
def test_price_list_shows_used_and_remaining_quota(staff_client, price, make_sale):
    price.quota = 5
    price.save()
    make_sale(status=SaleStatus.COMPLETED)
    make_sale(status=SaleStatus.PENDING)
    make_sale(status=SaleStatus.EXPIRED)
    make_sale(status=SaleStatus.REFUNDED)

    response = staff_client.get(reverse("admin:pricing_price_changelist"))

    row = response.context["cl"].result_list[0]
    assert (row.quota_used, row.paid_sales) == (2, 1)
    assert b">3<" in response.content  # remaining


def test_an_unpaid_sale_past_its_expiry_holds_its_place_in_the_list_until_it_is_expired(staff_client, price, make_sale):
    price.quota = 5
    price.save()
    make_sale(status=SaleStatus.PENDING, expires_at=timezone.now() - timedelta(minutes=1))
    listed = staff_client.get(reverse("admin:pricing_price_changelist")).context["cl"].result_list[0]

    expire_overdue_sales()

    relisted = staff_client.get(reverse("admin:pricing_price_changelist")).context["cl"].result_list[0]
    assert (listed.quota_used, relisted.quota_used) == (1, 0)


def test_the_price_list_sorts_by_quota_used_remaining_and_paid_sales(staff_client, make_price, make_location):
    busy = make_price(40000, description="busy", quota=10)
    make_price(30000, description="quiet", quota=10)
    location = make_location()
    for _ in range(3):
        create_sale(location=location, price=busy, status=SaleStatus.COMPLETED)
    changelist = reverse("admin:pricing_price_changelist")
    columns = staff_client.get(changelist).context["cl"].list_display

    def order(column: str, descending: bool = False) -> list[str]:
        number = f"{'-' if descending else ''}{columns.index(column)}"
        listing = staff_client.get(changelist, {"o": number}).context["cl"].result_list
        return [price.description for price in listing]

    assert order("quota_used", descending=True) == ["busy", "quiet"]
    assert order("quota_remaining") == ["busy", "quiet"]
    assert order("paid_sales") == ["quiet", "busy"]


def test_staff_saving_a_price_never_write_back_the_counts_they_opened_it_with(staff_client, price, make_sale):
    change = reverse("admin:pricing_price_change", args=[price.pk])
    form = staff_client.get(change)
    opened = form.context["original"]
    make_sale(status=SaleStatus.COMPLETED)  # sold while the page was open

    opened.quota = 50
    opened.save()  # what the admin does with the object it read
    staff_client.post(change, {"description": price.description, "quota": "60", "is_active": "on"})

    price.refresh_from_db()
    assert (price.quota, price.quota_used, price.paid_sales) == (60, 1, 1)
    assert 'name="quota_used"' not in form.content.decode()


def test_new_price_must_be_whole_rupiah(staff_client):
    response = staff_client.post(
        reverse("admin:pricing_price_add"), {"amount": "40000.50", "description": "x", "is_active": "on"}
    )
    assert response.status_code == 200
    assert b"whole rupiah" in response.content


def test_staff_add_a_price_and_later_change_its_quota_but_never_its_amount(staff_client):
    staff_client.post(
        reverse("admin:pricing_price_add"), {"amount": "45000", "description": "Strips", "quota": "", "is_active": "on"}
    )
    price = Price.objects.get(description="Strips")
    change = reverse("admin:pricing_price_change", args=[price.pk])

    page = staff_client.get(change).content.decode()
    response = staff_client.post(
        change, {"amount": "1", "description": "Strips", "quota": "100", "is_active": "on"}, follow=True
    )

    price.refresh_from_db()
    assert response.status_code == 200
    assert (price.amount, price.quota) == (45000, 100)
    assert 'name="amount"' not in page
    assert "add a new price and deactivate this one" in page


def test_deactivating_prices_keeps_them_and_their_sales(staff_client, price, make_sale):
    make_sale()

    staff_client.post(
        reverse("admin:pricing_price_changelist"), {"action": "deactivate", "_selected_action": [price.pk]}
    )

    price.refresh_from_db()
    assert price.is_active is False
    assert price.sales.count() == 1


def test_a_price_with_sales_is_not_deleted_and_staff_are_told_to_deactivate_it(staff_client, price, make_sale):
    make_sale()

    response = staff_client.post(reverse("admin:pricing_price_delete", args=[price.pk]), {"post": "yes"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "cannot be deleted: it has sales" in page
    assert "has 1 sale(s)" in page
    assert "untick <strong>Active</strong>" in page
    assert Price.objects.filter(pk=price.pk).exists()


def test_a_price_without_sales_can_be_deleted(staff_client, make_price):
    unused = make_price(12345)

    staff_client.post(reverse("admin:pricing_price_delete", args=[unused.pk]), {"post": "yes"})

    assert not Price.objects.filter(pk=unused.pk).exists()


# --- Machines (locations) -------------------------------------------------------------------
def test_staff_add_a_machine_and_edit_it(staff_client):
    staff_client.post(
        reverse("admin:locations_location_add"),
        {"machine_code": "PB-777", "name": "Mall Kelapa Gading", "address": "Jl. Boulevard", "is_active": "on"},
    )
    location = Location.objects.get(machine_code="PB-777")

    staff_client.post(
        reverse("admin:locations_location_change", args=[location.pk]),
        {"machine_code": "PB-777", "name": "Mall Kelapa Gading 3", "address": "Jl. Boulevard", "is_active": ""},
    )

    location.refresh_from_db()
    assert (location.name, location.is_active) == ("Mall Kelapa Gading 3", False)


def test_location_with_sales_cannot_be_deleted(staff_client, location, make_sale):
    make_sale()
    make_sale()
    response = staff_client.post(reverse("admin:locations_location_delete", args=[location.pk]), {"post": "yes"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Cannot delete location" in page
    assert "PB-001 – Mall Taman Anggrek has 2 sale(s)" in page
    assert "To stop using this location, untick <strong>Active</strong>" in page
    assert reverse("admin:locations_location_change", args=[location.pk]) in page
    assert Location.objects.filter(pk=location.pk).exists()


def test_bulk_delete_deletes_nothing_when_one_machine_has_sales(staff_client, location, make_location, make_sale):
    make_sale()
    unused = make_location()

    response = staff_client.post(
        reverse("admin:locations_location_changelist"),
        {"action": "delete_selected", "_selected_action": [location.pk, unused.pk], "post": "yes"},
    )

    assert "Nothing was deleted" in response.content.decode()
    assert Location.objects.filter(pk__in=[location.pk, unused.pk]).count() == 2


def test_machine_list_shows_when_each_machine_last_sold(staff_client, location, make_location, make_sale):
    idle = make_location(name="Mall Sepi")
    make_sale(created_at=timezone.now() - timedelta(days=3))
    newest = make_sale()

    rows = staff_client.get(reverse("admin:locations_location_changelist")).context["cl"].result_list

    last_sale = {row.pk: row.last_sale for row in rows}
    assert last_sale == {location.pk: newest.created_at, idle.pk: None}


def test_deactivating_machines_from_the_list(staff_client, location):
    staff_client.post(
        reverse("admin:locations_location_changelist"), {"action": "deactivate", "_selected_action": [location.pk]}
    )

    location.refresh_from_db()
    assert location.is_active is False


@pytest.mark.parametrize(
    ("changelist", "switch_on", "switch_off", "on_message", "off_message"),
    [
        (
            "admin:locations_location_changelist",
            "Activate: these machines may sell again",
            "Deactivate: these machines stop selling (their sales are kept)",
            "1 machine(s) can start sales again.",
            "1 machine(s) can no longer start sales; their sales stay in the reports.",
        ),
        (
            "admin:pricing_price_changelist",
            "Activate: kiosks may sell them",
            "Deactivate: kiosks stop selling them (their sales are kept)",
            "1 price(s) can be sold again.",
            "1 price(s) can no longer be sold; their sales stay in the reports.",
        ),
    ],
)
def test_machines_and_prices_are_switched_on_and_off_in_their_own_words(
    staff_client, location, price, changelist, switch_on, switch_off, on_message, off_message
):
    url = reverse(changelist)
    pk = location.pk if "location" in changelist else price.pk

    choices = dict(staff_client.get(url).context["action_form"].fields["action"].choices)
    off = staff_client.post(url, {"action": "deactivate", "_selected_action": [pk]}, follow=True)
    on = staff_client.post(url, {"action": "activate", "_selected_action": [pk]}, follow=True)

    assert (choices["activate"], choices["deactivate"]) == (switch_on, switch_off)
    assert [str(m) for m in off.context["messages"]] == [off_message]
    assert [str(m) for m in on.context["messages"]] == [on_message]


def test_empty_lists_say_what_will_appear_there(staff_client):
    page = staff_client.get(reverse("admin:payments_sale_changelist")).content.decode()
    assert "No sales yet. A sale appears here as soon as a kiosk starts one." in page

    page = staff_client.get(reverse("admin:locations_location_changelist")).content.decode()
    assert "No machines yet." in page


def test_a_review_note_stays_with_the_sale_when_its_author_leaves(make_sale):
    colleague = get_user_model().objects.create_user("sari", "sari@example.com", "pw", is_staff=True)
    sale = make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason="Amount mismatch")
    resolve_review(sale=sale, note="Refunded the difference", user=colleague)

    colleague.delete()

    note = ReviewNote.objects.get(sale=sale)
    assert (note.note, note.problem, note.resolved_by) == ("Refunded the difference", "Amount mismatch", None)
