"""The customer email's state is defined once (gallery.selectors.EMAIL_STATES): the admin's filter
(SQL) and the sale list's reading of a loaded sale (Python) agree on every combination."""

import itertools

import pytest
from django.utils import timezone

from gallery import selectors
from gallery.models import EmailKind, EmailOutbox, EmailStatus
from payments.models import Sale, SaleStatus

pytestmark = pytest.mark.django_db

OUTBOX = [None, EmailStatus.PENDING, EmailStatus.SENDING, EmailStatus.FAILED, EmailStatus.SENT]


def test_the_query_and_the_python_state_agree_for_every_sale(make_sale):
    now = timezone.now()
    for status, sent, deleted, outbox in itertools.product(
        [SaleStatus.COMPLETED, SaleStatus.PENDING, SaleStatus.REFUNDED], [False, True], [False, True], OUTBOX
    ):
        sale = make_sale(
            status=status,
            email_sent_at=now if sent else None,
            photos_deleted_at=now if deleted else None,
        )
        if outbox is not None:
            EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=outbox)

    sales = selectors.with_photo_and_email_state(list(Sale.objects.all()))
    for key, state in selectors.EMAIL_STATES.items():
        by_query = set(Sale.objects.filter(state.condition).values_list("pk", flat=True))
        by_python = {sale.pk for sale in sales if sale.email_state == key}
        assert by_query == by_python, key
        assert by_query, f"no sale is {key}: the combinations above miss a state"
    # A sale is in at most one state; unpaid sales without an email in none.
    in_a_state = [sale for sale in sales if sale.email_state is not None]
    assert all(sale.status != SaleStatus.PENDING or sale.email_sent_at for sale in in_a_state)


def test_failed_emails_are_the_failed_state(make_sale):
    failed = make_sale(status=SaleStatus.COMPLETED)
    EmailOutbox.objects.create(sale=failed, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED)
    retrying = make_sale(status=SaleStatus.COMPLETED)
    EmailOutbox.objects.create(sale=retrying, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.PENDING)

    assert list(selectors.failed_emails()) == [failed]
    assert selectors.email_state(failed, EmailStatus.FAILED) == "failed"
    assert selectors.email_state(retrying, EmailStatus.PENDING) == "retrying"
