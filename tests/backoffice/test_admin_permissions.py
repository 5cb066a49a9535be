"""Who may do what in the admin: kiosk operators look after customers (see everything, resend
emails, ask Xendit about a payment) but change no prices, machines or payment decisions."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from gallery.models import EmailKind, EmailOutbox, EmailStatus
from locations.models import Location
from payments.events import record_payment_event
from payments.models import EventOutcome, PaymentEvent, SaleStatus
from payments.simulation import simulate_payment
from pricing.models import Price

pytestmark = pytest.mark.django_db

SALES = reverse("admin:payments_sale_changelist")


@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Kiosk operator"))
    client.force_login(user)
    return client


@pytest.fixture
def paid_sale_with_photos(make_sale, make_photo):
    sale = make_sale(status=SaleStatus.COMPLETED, needs_review=True, review_reason="Amount mismatch")
    make_photo(sale, url="http://testserver/media/photos/x/1.jpg")
    EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED, attempts=8)
    return sale


def action_names(response) -> list[str]:
    form = response.context["action_form"]  # None when the user may run no action at all
    return [name for name, _ in form.fields["action"].choices if name] if form else []


def test_the_kiosk_operator_group_can_view_and_resend_but_change_nothing():
    permissions = set(
        Group.objects.get(name="Kiosk operator").permissions.values_list("content_type__app_label", "codename")
    )

    assert permissions == {
        ("locations", "view_location"),
        ("locations", "view_machineincident"),
        ("pricing", "view_price"),
        ("payments", "view_sale"),
        ("payments", "view_paymentevent"),
        ("payments", "view_reviewnote"),
        ("payments", "resend_customer_email"),
        ("payments", "check_payment"),
        ("gallery", "view_photo"),
        ("gallery", "view_emailoutbox"),
    }


def test_an_operator_sees_sales_payments_emails_machines_prices_and_the_report(
    operator_client, paid_sale_with_photos, price, location
):
    event = record_payment_event(source="webhook", headers={}, body=b"{}")
    outbox = EmailOutbox.objects.get()
    pages = [
        reverse("admin:index"),
        SALES,
        reverse("admin:payments_sale_change", args=[paid_sale_with_photos.pk]),
        reverse("admin:payments_paymentevent_changelist"),
        reverse("admin:payments_paymentevent_change", args=[event.pk]),
        reverse("admin:gallery_emailoutbox_changelist"),
        reverse("admin:gallery_emailoutbox_change", args=[outbox.pk]),
        reverse("admin:locations_location_changelist"),
        reverse("admin:locations_location_change", args=[location.pk]),
        reverse("admin:pricing_price_changelist"),
        reverse("admin:pricing_price_change", args=[price.pk]),
        reverse("admin:payments_sale_report"),
        reverse("admin:payments_sale_export"),
    ]
    for page in pages:
        assert operator_client.get(page).status_code == 200, page

    sale_page = operator_client.get(pages[2]).content.decode()
    assert "http://testserver/media/photos/x/1.jpg" in sale_page  # photos are visible to operators


def test_an_operator_resends_a_customer_email(operator_client, paid_sale_with_photos, mailoutbox):
    response = operator_client.get(SALES)
    assert "resend_customer_email" in action_names(response)

    operator_client.post(
        reverse("admin:payments_sale_resend-email", args=[paid_sale_with_photos.pk]),
        {"email": "customer@example.com"},
    )

    assert [m.to for m in mailoutbox] == [["customer@example.com"]]


def test_an_operator_cannot_change_prices(operator_client, price):
    change = reverse("admin:pricing_price_change", args=[price.pk])

    page = operator_client.get(change).content.decode()
    edit = operator_client.post(change, {"amount": "1", "description": "cheap", "is_active": "on"})
    add = operator_client.get(reverse("admin:pricing_price_add"))
    delete = operator_client.post(reverse("admin:pricing_price_delete", args=[price.pk]), {"post": "yes"})
    listing = operator_client.get(reverse("admin:pricing_price_changelist"))

    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert 'type="submit"' not in page.split('id="price_form"')[1]  # a view, no save button
    price.refresh_from_db()
    assert (price.amount, price.description) == (40000, "4 photo strips")
    assert "deactivate" not in action_names(listing)


def test_an_operator_cannot_change_machines(operator_client, location):
    edit = operator_client.post(
        reverse("admin:locations_location_change", args=[location.pk]),
        {"machine_code": "PB-001", "name": "Renamed", "is_active": ""},
    )

    assert edit.status_code == 403
    location.refresh_from_db()
    assert (location.name, location.is_active) == ("Mall Taman Anggrek", True)
    assert operator_client.get(reverse("admin:locations_location_add")).status_code == 403


def test_an_operator_cannot_settle_payment_problems(operator_client, paid_sale_with_photos):
    sale = paid_sale_with_photos
    event = record_payment_event(source="webhook", headers={}, body=b"{}")
    PaymentEvent.objects.filter(pk=event.pk).update(outcome=EventOutcome.UNKNOWN_SALE)

    names = action_names(operator_client.get(SALES))
    page = operator_client.get(reverse("admin:payments_sale_change", args=[sale.pk])).content.decode()
    resolve = operator_client.post(reverse("admin:payments_sale_resolve-review", args=[sale.pk]), {"note": "x"})
    reprocess = operator_client.post(reverse("admin:payments_paymentevent_reprocess", args=[event.pk]))
    dismiss = operator_client.post(reverse("admin:payments_paymentevent_resolve", args=[event.pk]), {"note": "x"})
    simulate = operator_client.post(reverse("admin:payments_sale_simulate-payment", args=[sale.pk]))

    assert "resolve_reviews" not in names
    assert "simulate_payment" not in names
    assert "Mark problem resolved" not in page
    assert (resolve.status_code, reprocess.status_code, dismiss.status_code, simulate.status_code) == (403,) * 4
    sale.refresh_from_db()
    assert sale.needs_review is True


def test_money_is_read_only_even_for_superusers(admin_client, make_sale, price):
    sale = make_sale(status=SaleStatus.EXPIRED)
    simulate_payment(sale=sale)
    event = PaymentEvent.objects.get()

    sale_edit = admin_client.post(reverse("admin:payments_sale_change", args=[sale.pk]), {"amount": "1"})
    event_edit = admin_client.post(reverse("admin:payments_paymentevent_change", args=[event.pk]), {"amount": "1"})
    price_page = admin_client.get(reverse("admin:pricing_price_change", args=[price.pk])).content.decode()

    assert (sale_edit.status_code, event_edit.status_code) == (403, 403)
    assert 'name="amount"' not in price_page


def test_staff_without_a_group_see_no_sales(client, make_sale):
    user = get_user_model().objects.create_user("new", "new@example.com", "pw", is_staff=True)
    client.force_login(user)
    make_sale()

    assert client.get(SALES).status_code == 403
    assert client.get(reverse("admin:payments_sale_report")).status_code == 403
    assert "Today at a glance" not in client.get(reverse("admin:index")).content.decode()


def test_superusers_get_every_action(admin_client, make_sale):
    make_sale()

    names = action_names(admin_client.get(SALES))

    assert names == ["resend_customer_email", "check_with_gateway", "simulate_payment", "resolve_reviews"]
    assert Location.objects.count() == 1
    assert Price.objects.count() == 1


def test_an_operator_sees_the_machines_incidents_but_changes_none(operator_client):
    incidents = operator_client.get(reverse("admin:locations_machineincident_changelist"))

    assert incidents.status_code == 200
    assert operator_client.get(reverse("admin:locations_machineincident_add")).status_code == 403
