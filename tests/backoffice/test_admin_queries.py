"""Every admin page costs the same number of SQL queries whether it shows 5 rows or 50."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gallery.models import EmailKind, EmailOutbox, EmailStatus
from payments import transitions
from payments.models import EventOutcome, PaymentEvent, Sale, SaleStatus
from payments.simulation import simulate_payment
from tests.support.factories import create_photo

pytestmark = pytest.mark.django_db


class World:
    """Machines, prices and sales (paid, with photos, emails and payment notifications), grown
    to a given number of rows of each; `star` is one sale with that many photos and events."""

    def __init__(self, make_sale, make_location, make_price):
        self.make_sale, self.make_location, self.make_price = make_sale, make_location, make_price
        self.count = 0
        self.star: Sale | None = None

    def grow(self, to: int) -> "World":
        for number in range(self.count, to):
            sale = self.make_sale(location=self.make_location(), price=self.make_price(40000 + number))
            simulate_payment(sale=sale)
            self._photo(sale, 1)
            EmailOutbox.objects.create(
                sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED, attempts=8, last_error="x"
            )
            PaymentEvent.objects.create(reference=f"TRX-UNKNOWN-{number}", outcome=EventOutcome.UNKNOWN_SALE, body="{}")
            if self.star is None:
                self.star = sale
                transitions.flag(sale=sale, reason="Amount mismatch")
            else:
                self._photo(self.star, number + 1)
                PaymentEvent.objects.create(sale=self.star, outcome=EventOutcome.DUPLICATE, body="{}", amount=40000)
        self.count = to
        return self

    @staticmethod
    def _photo(sale: Sale, position: int) -> None:
        create_photo(sale, position)


@pytest.fixture
def world(make_sale, make_location, make_price) -> World:
    return World(make_sale, make_location, make_price)


def sales_filtered(world: World) -> str:
    today = timezone.localdate().isoformat()
    params = {
        "status__in": "COMPLETED,PENDING",
        "location__id__in": ",".join(str(pk) for pk in Sale.objects.values_list("location_id", flat=True)),
        "date_from": "2020-01-01",
        "date_to": today,
        "paid_from": "2020-01-01",
        "paid_to": today,
        "o": "-4",
    }
    return reverse("admin:payments_sale_changelist") + "?" + urlencode(params)


def report(world: World, name: str = "report") -> str:
    since = timezone.localdate() - timedelta(days=300)
    return reverse(f"admin:payments_sale_{name}") + "?" + urlencode({"date_from": since.isoformat()})


PAGES = {
    "index": lambda w: reverse("admin:index"),
    "sale list": lambda w: reverse("admin:payments_sale_changelist"),
    "sale list, every filter": sales_filtered,
    "sale list, needing review and email given up": lambda w: (
        reverse("admin:payments_sale_changelist") + "?review=open&email_state=failed"
    ),
    "sale list, searching a machine": lambda w: reverse("admin:payments_sale_changelist") + "?q=Mall",
    "sale page": lambda w: reverse("admin:payments_sale_change", args=[w.star.pk]),
    "sale export (CSV)": lambda w: reverse("admin:payments_sale_export"),
    "sales report": report,
    "sales report (CSV)": lambda w: report(w, "report_csv"),
    "resend email page": lambda w: reverse("admin:payments_sale_resend-email", args=[w.star.pk]),
    "resolve review page": lambda w: reverse("admin:payments_sale_resolve-review", args=[w.star.pk]),
    "payment event list": lambda w: reverse("admin:payments_paymentevent_changelist"),
    "payment event list, unmatched": lambda w: (
        reverse("admin:payments_paymentevent_changelist") + "?attention=unmatched"
    ),
    "payment event page": lambda w: reverse(
        "admin:payments_paymentevent_change", args=[PaymentEvent.objects.filter(sale=w.star).first().pk]
    ),
    "email outbox list": lambda w: reverse("admin:gallery_emailoutbox_changelist"),
    "email outbox page": lambda w: reverse("admin:gallery_emailoutbox_change", args=[EmailOutbox.objects.first().pk]),
    "location list": lambda w: reverse("admin:locations_location_changelist"),
    "location page": lambda w: reverse("admin:locations_location_change", args=[w.star.location_id]),
    "location add": lambda w: reverse("admin:locations_location_add"),
    "location delete (has sales)": lambda w: reverse("admin:locations_location_delete", args=[w.star.location_id]),
    "price list": lambda w: reverse("admin:pricing_price_changelist"),
    "price page": lambda w: reverse("admin:pricing_price_change", args=[w.star.price_id]),
    "price add": lambda w: reverse("admin:pricing_price_add"),
}


def queries_to_render(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    return len(captured)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_uses_the_same_number_of_queries_for_5_and_50_rows(staff_client, world, page):
    url = PAGES[page]
    staff_client.get(url(world.grow(5)))  # fills the per-process caches (content types) first

    with_5 = queries_to_render(staff_client, url(world))
    with_50 = queries_to_render(staff_client, url(world.grow(50)))

    assert with_5 == with_50, f"{page}: {with_5} queries with 5 rows, {with_50} with 50"
    assert Sale.objects.filter(status=SaleStatus.COMPLETED).count() == 50
