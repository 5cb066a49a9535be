"""Every date staff read in the admin is `07 Dec 2026 09:34`, in Jakarta time: our own columns and
Django's date fields alike (read-only fields on change pages, list columns, inlines).

Django writes date fields in the admin language's DATETIME_FORMAT (`Dec. 7, 2026, 9:34 a.m.` in
English); settings.FORMAT_MODULE_PATH points it at photobox/formats/, which says `d M Y H:i`.
"""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import formats, translation

from gallery.models import EmailKind, EmailOutbox, EmailStatus
from payments.models import EventOutcome, PaymentEvent, SaleStatus

pytestmark = pytest.mark.django_db

# 02:34 UTC is 09:34 in Jakarta (UTC+7, no daylight saving).
PAID = datetime(2026, 12, 7, 2, 34, tzinfo=UTC)
# What Django writes by default, and what a UTC time would look like.
DJANGO_DEFAULT = re.compile(r"\b(a\.m\.|p\.m\.|noon|midnight)|\b[A-Z][a-z]{2}\. \d{1,2}, \d{4}")


def text_of(response) -> str:
    """The page as a person reads it: text only, spaces collapsed."""
    assert response.status_code == 200
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def sale(make_sale, make_photo):
    sale = make_sale(
        status=SaleStatus.COMPLETED,
        created_at=PAID - timedelta(minutes=3),
        expires_at=PAID + timedelta(minutes=12),
        paid_at=PAID,
        email_sent_at=PAID + timedelta(minutes=5),
    )
    make_photo(sale, stored_at=PAID + timedelta(minutes=4))
    EmailOutbox.objects.create(
        sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.SENT, attempts=1,
        next_attempt_at=PAID + timedelta(minutes=5), sent_at=PAID + timedelta(minutes=5),
    )  # fmt: skip
    PaymentEvent.objects.create(
        received_at=PAID, processed_at=PAID + timedelta(seconds=1), sale=sale, reference=sale.external_id,
        event_type="qr.payment", outcome=EventOutcome.APPLIED, amount=sale.amount,
    )  # fmt: skip
    return sale


def test_the_settings_point_django_at_our_date_formats():
    assert django_settings.FORMAT_MODULE_PATH == "photobox.formats"
    assert django_settings.TIME_ZONE == "Asia/Jakarta"
    assert django_settings.USE_TZ is True
    for language, month in (("en", "Dec"), ("id", "Des")):
        with translation.override(language):
            assert formats.date_format(PAID.astimezone(), "DATETIME_FORMAT") == f"07 {month} 2026 09:34"
            assert formats.date_format(PAID.astimezone(), "SHORT_DATETIME_FORMAT") == f"07 {month} 2026 09:34"
            assert formats.date_format(PAID.date(), "DATE_FORMAT") == f"07 {month} 2026"


def test_the_sale_page_shows_every_date_in_jakarta_time_in_one_format(admin_client, sale):
    page = text_of(admin_client.get(reverse("admin:payments_sale_change", args=[sale.pk])))

    assert "Started (WIB): 07 Dec 2026 09:31" in page  # our own column
    assert "Expires at: 07 Dec 2026 09:46" in page  # Django's read-only date fields
    assert "Paid at: 07 Dec 2026 09:34" in page
    assert "Email sent at: 07 Dec 2026 09:39" in page
    assert "07 Dec 2026 09:38" in page  # the photo's "stored at", in the photos inline
    assert not DJANGO_DEFAULT.search(page), DJANGO_DEFAULT.search(page)
    assert "02:34" not in page  # the UTC time


def test_the_lists_show_dates_in_jakarta_time_in_one_format(admin_client, sale):
    sales = text_of(admin_client.get(reverse("admin:payments_sale_changelist")))
    events = text_of(admin_client.get(reverse("admin:payments_paymentevent_changelist")))
    emails = text_of(admin_client.get(reverse("admin:gallery_emailoutbox_changelist")))
    machines = text_of(admin_client.get(reverse("admin:locations_location_changelist")))

    assert f"{sale.external_id} 07 Dec 2026 09:31" in sales
    assert "07 Dec 2026 09:34 Xendit webhook qr.payment" in events
    assert "07 Dec 2026 09:39 07 Dec 2026 09:39" in emails  # next attempt, sent
    assert "07 Dec 2026 09:31" in machines  # the machine's last sale
    for page in (sales, events, emails, machines):
        assert not DJANGO_DEFAULT.search(page), DJANGO_DEFAULT.search(page)
        assert "02:3" not in page  # no UTC time


def test_a_payment_notification_page_shows_its_times_in_jakarta(admin_client, sale):
    event = PaymentEvent.objects.get()

    page = text_of(admin_client.get(reverse("admin:payments_paymentevent_change", args=[event.pk])))

    assert "Received at: 07 Dec 2026 09:34" in page
    assert "Processed at: 07 Dec 2026 09:34" in page
    assert not DJANGO_DEFAULT.search(page), DJANGO_DEFAULT.search(page)
    # The page's title and breadcrumbs name the notification by when it came (PaymentEvent.__str__).
    assert "02:34" not in page


def test_an_indonesian_admin_writes_dates_the_same_way(admin_client, sale, settings):
    settings.ADMIN_LANGUAGE_CODE = "id"

    page = text_of(admin_client.get(reverse("admin:payments_sale_change", args=[sale.pk])))

    assert "07 Des 2026 09:34" in page
    assert not DJANGO_DEFAULT.search(page)
