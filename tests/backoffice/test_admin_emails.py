"""A customer says they never got their photos: staff resend the email from the admin, to the
address on the sale or a corrected one, as long as the photos are still there."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from gallery import services
from gallery.models import EmailKind, EmailOutbox, EmailStatus
from payments.models import SaleStatus
from tests.support.mail import DISCONNECTING

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def photographed(make_sale, make_photo):
    """A paid sale whose photos are stored, and whose email gave up on a mistyped address."""

    def make(*, stored: bool = True, **fields):
        fields.setdefault("status", SaleStatus.COMPLETED)
        fields.setdefault("email", "budi@exmaple.com")
        sale = make_sale(**fields)
        for position in (1, 2):
            make_photo(sale, position, stored=stored)
        EmailOutbox.objects.create(
            sale=sale,
            kind=EmailKind.CUSTOMER_PHOTOS,
            status=EmailStatus.FAILED,
            attempts=8,
            last_error="SMTPRecipientsRefused: {'budi@exmaple.com': (550, b'No such domain')}",
        )
        return sale

    return make


def test_staff_resend_the_email_to_a_corrected_address(staff_client, photographed, mailoutbox):
    sale = photographed()
    url = reverse("admin:payments_sale_resend-email", args=[sale.pk])

    form = staff_client.get(url).content.decode()
    response = staff_client.post(url, {"email": "budi@example.com"}, follow=True)

    assert 'value="budi@exmaple.com"' in form
    assert [m.to for m in mailoutbox] == [["budi@example.com"]]
    assert f"/gallery/{sale.external_id}/{sale.gallery_key}" in mailoutbox[0].body
    sale.refresh_from_db()
    outbox = EmailOutbox.objects.get(sale=sale)
    assert (sale.email, outbox.status, outbox.attempts, outbox.last_error) == (
        "budi@example.com",
        EmailStatus.SENT,
        1,
        "",
    )
    assert sale.email_sent_at is not None
    assert "photo email sent to budi@example.com" in response.content.decode()
    log = LogEntry.objects.get(object_id=str(sale.pk))
    assert (
        log.get_change_message()
        == "Resent the photo email to budi@example.com (address changed from budi@exmaple.com)."
    )


def test_the_resend_button_is_on_a_paid_sales_page_only(staff_client, photographed, make_sale):
    paid, pending = photographed(), make_sale()

    paid_page = staff_client.get(reverse("admin:payments_sale_change", args=[paid.pk])).content.decode()
    pending_page = staff_client.get(reverse("admin:payments_sale_change", args=[pending.pk])).content.decode()

    assert reverse("admin:payments_sale_resend-email", args=[paid.pk]) in paid_page
    assert "Resend photo email" not in pending_page


def test_a_mistyped_correction_is_refused_by_the_form(staff_client, photographed, mailoutbox):
    sale = photographed()

    response = staff_client.post(reverse("admin:payments_sale_resend-email", args=[sale.pk]), {"email": "budi@"})

    assert "Enter a valid email address." in response.content.decode()
    assert mailoutbox == []


def test_resend_to_the_same_address_from_the_sales_list(staff_client, photographed, mailoutbox):
    sales = [photographed(email=f"c{i}@example.com") for i in range(2)]

    staff_client.post(
        reverse("admin:payments_sale_changelist"),
        {"action": "resend_customer_email", "_selected_action": [s.pk for s in sales]},
    )

    assert sorted(m.to[0] for m in mailoutbox) == ["c0@example.com", "c1@example.com"]


def test_resend_from_the_email_outbox_list(staff_client, photographed, mailoutbox):
    sale = photographed(email="siti@example.com")

    staff_client.post(
        reverse("admin:gallery_emailoutbox_changelist"),
        {"action": "resend", "_selected_action": [EmailOutbox.objects.get(sale=sale).pk]},
    )

    assert [m.to for m in mailoutbox] == [["siti@example.com"]]


def test_when_the_mail_server_fails_staff_are_told_it_will_be_retried(staff_client, photographed, settings):
    settings.EMAIL_BACKEND = DISCONNECTING
    sale = photographed(email="budi@example.com")

    response = staff_client.post(
        reverse("admin:payments_sale_resend-email", args=[sale.pk]), {"email": "budi@example.com"}, follow=True
    )

    outbox = EmailOutbox.objects.get(sale=sale)
    assert (outbox.status, outbox.attempts) == (EmailStatus.PENDING, 1)
    assert "SMTPServerDisconnected" in outbox.last_error
    assert "It will be retried automatically." in response.content.decode()


def test_a_sale_that_never_had_an_email_gets_one(staff_client, photographed, mailoutbox):
    sale = photographed(email="new@example.com")
    EmailOutbox.objects.filter(sale=sale).delete()

    outbox = services.resend_customer_email(sale=sale)

    assert outbox.status == EmailStatus.SENT
    assert [m.to for m in mailoutbox] == [["new@example.com"]]


@pytest.mark.parametrize(
    ("situation", "message"),
    [
        ("deleted", "were deleted on"),
        ("unstored", "are not stored yet"),
        ("no_photos", "has not uploaded any photos"),
        ("unpaid", "is not paid"),
        ("sending", "is being sent right now"),
    ],
)
def test_resend_is_refused_when_the_email_could_not_show_the_photos(
    staff_client, photographed, make_sale, mailoutbox, situation, message
):
    if situation == "deleted":
        sale = photographed(photos_deleted_at=timezone.now())
    elif situation == "unstored":
        sale = photographed(stored=False)
    elif situation == "no_photos":
        sale = make_sale(status=SaleStatus.COMPLETED)
    elif situation == "unpaid":
        sale = make_sale(status=SaleStatus.EXPIRED)
    else:
        sale = photographed()
        EmailOutbox.objects.filter(sale=sale).update(status=EmailStatus.SENDING, updated_at=timezone.now())

    response = staff_client.post(
        reverse("admin:payments_sale_changelist"),
        {"action": "resend_customer_email", "_selected_action": [sale.pk]},
        follow=True,
    )

    assert message in response.content.decode()
    assert mailoutbox == []
