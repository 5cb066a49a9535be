"""Sorting the big lists (notifications, emails, refunds): each sorts by one column at a time, by
the columns an index serves, so a list of a million rows sorts as fast as a short one
(bench/README.md, "Admin pages at 1,000,000 sales")."""

import re

import pytest
from django.urls import reverse

from gallery.models import EmailKind, EmailOutbox, EmailStatus
from payments.models import EventOutcome, PaymentEvent

pytestmark = pytest.mark.django_db

EVENTS = reverse("admin:payments_paymentevent_changelist")
EMAILS = reverse("admin:gallery_emailoutbox_changelist")


def sortable_columns(page: str) -> set[str]:
    return set(re.findall(r'class="sortable[^"]*column-(\w+)', page))


def test_notifications_sorted_by_sale_keep_each_sales_notifications_together(staff_client, make_sale):
    first, second = make_sale(), make_sale()
    late = PaymentEvent.objects.create(sale=second, outcome=EventOutcome.APPLIED, body="{}")
    PaymentEvent.objects.create(sale=first, outcome=EventOutcome.APPLIED, body="{}")
    PaymentEvent.objects.create(sale=second, outcome=EventOutcome.DUPLICATE, body="{}")
    sale_column = 5

    response = staff_client.get(EVENTS, {"o": str(sale_column)})

    listed = [event.sale_id for event in response.context["cl"].result_list]
    assert listed == [first.pk, second.pk, second.pk]
    assert response.context["cl"].result_list[1] == late  # then the oldest first, as the column goes


def test_notifications_sort_by_time_outcome_sale_reference_and_amount(staff_client):
    PaymentEvent.objects.create(reference="TRX-UNKNOWN", outcome=EventOutcome.UNKNOWN_SALE, body="{}")

    page = staff_client.get(EVENTS).content.decode()

    assert sortable_columns(page) == {"received_at", "outcome_display", "sale_link", "reference", "amount_display"}


def test_emails_sort_by_sale_and_status_and_the_status_filter_finds_the_rest(staff_client, make_sale):
    sale = make_sale()
    EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED, attempts=8)

    page = staff_client.get(EMAILS).content.decode()
    failed = staff_client.get(EMAILS, {"status__exact": EmailStatus.FAILED})

    assert sortable_columns(page) == {"sale_link", "status_display"}
    assert [email.sale_id for email in failed.context["cl"].result_list] == [sale.pk]
