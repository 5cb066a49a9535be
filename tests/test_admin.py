"""Staff run the kiosks from the Django admin."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from payments.models import EventOutcome, PaymentEvent, SaleStatus, Transaction
from payments.services import simulate_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def some_of_everything(make_sale, price, location):
    sale = make_sale()
    simulate_payment(sale=sale)
    make_sale(status=SaleStatus.EXPIRED)
    return sale


CHANGELISTS = [
    "admin:locations_location_changelist",
    "admin:pricing_price_changelist",
    "admin:payments_transaction_changelist",
    "admin:payments_paymentevent_changelist",
    "admin:gallery_emailoutbox_changelist",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_every_list_page_renders(staff_client, some_of_everything, name):
    assert staff_client.get(reverse(name)).status_code == 200


def test_every_change_and_add_page_renders(staff_client, some_of_everything, location, price):
    sale = some_of_everything
    event = PaymentEvent.objects.first()
    pages = [
        reverse("admin:locations_location_add"),
        reverse("admin:locations_location_change", args=[location.pk]),
        reverse("admin:pricing_price_add"),
        reverse("admin:pricing_price_change", args=[price.pk]),
        reverse("admin:payments_transaction_change", args=[sale.pk]),
        reverse("admin:payments_paymentevent_change", args=[event.pk]),
    ]
    for page in pages:
        assert staff_client.get(page).status_code == 200, page


def test_sales_and_payment_events_cannot_be_added_or_edited(staff_client, some_of_everything):
    assert staff_client.get(reverse("admin:payments_transaction_add")).status_code == 403
    sale = some_of_everything
    response = staff_client.post(
        reverse("admin:payments_transaction_change", args=[sale.pk]), {"amount": "1", "status": "PENDING"}
    )
    assert response.status_code == 403
    sale.refresh_from_db()
    assert (sale.amount, sale.status) == (40000, SaleStatus.COMPLETED)


def test_price_list_shows_used_and_remaining_quota(staff_client, price, make_sale):
    price.quota = 5
    price.save()
    make_sale(status=SaleStatus.COMPLETED)
    make_sale(status=SaleStatus.PENDING)
    make_sale(status=SaleStatus.PENDING, expires_at=timezone.now() - timedelta(minutes=1))

    response = staff_client.get(reverse("admin:pricing_price_changelist"))

    row = response.context["cl"].result_list[0]
    assert (row.quota_used, row.sales_count) == (2, 1)
    assert b">3<" in response.content  # remaining


def test_new_price_must_be_whole_rupiah(staff_client):
    response = staff_client.post(
        reverse("admin:pricing_price_add"), {"amount": "40000.50", "description": "x", "is_active": "on"}
    )
    assert response.status_code == 200
    assert b"whole rupiah" in response.content


def test_location_with_sales_cannot_be_deleted(staff_client, location, make_sale):
    make_sale()
    response = staff_client.post(reverse("admin:locations_location_delete", args=[location.pk]), {"post": "yes"})

    assert response.status_code == 200
    assert b"Cannot delete location" in response.content
    assert location.__class__.objects.filter(pk=location.pk).exists()


def test_sale_search_finds_external_id_and_gateway_ids(staff_client, make_sale):
    sale = make_sale(xendit_qr_id="qr_findme")
    make_sale()
    url = reverse("admin:payments_transaction_changelist")

    for term in (sale.external_id, "qr_findme"):
        result = staff_client.get(url, {"q": term}).context["cl"].result_list
        assert [s.pk for s in result] == [sale.pk]


def test_simulate_payment_action_pays_the_selected_sale(staff_client, make_sale):
    sale = make_sale()

    staff_client.post(
        reverse("admin:payments_transaction_changelist"),
        {"action": "simulate_payment", "_selected_action": [sale.pk]},
    )

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert PaymentEvent.objects.get().outcome == EventOutcome.APPLIED


def test_check_with_gateway_action_completes_a_sale_xendit_saw_paid(staff_client, fake_xendit, api, sale_request):
    external_id = api.post("/api/v1/transactions", sale_request, format="json").json()["data"]["external_id"]
    sale = Transaction.objects.get(external_id=external_id)
    fake_xendit.pay(sale.xendit_qr_id)

    staff_client.post(
        reverse("admin:payments_transaction_changelist"),
        {"action": "check_with_gateway", "_selected_action": [sale.pk]},
    )

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED


def queries_to_render(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "name",
    [
        "admin:payments_transaction_changelist",
        "admin:payments_paymentevent_changelist",
        "admin:pricing_price_changelist",
    ],
)
def test_list_pages_use_the_same_number_of_queries_for_5_and_50_rows(staff_client, make_sale, make_price, name):
    def add_rows(count):
        for _ in range(count):
            simulate_payment(sale=make_sale(price=make_price(40000)))

    add_rows(5)
    with_5 = queries_to_render(staff_client, reverse(name))
    add_rows(45)
    with_50 = queries_to_render(staff_client, reverse(name))

    assert with_5 == with_50


def test_sale_page_shows_its_photos_and_email(staff_client, make_sale, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    sale = make_sale(status=SaleStatus.COMPLETED)
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "JPEG")
    files = [SimpleUploadedFile("booth.jpg", buffer.getvalue(), "image/jpeg")]
    staff_client.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files})

    page = staff_client.get(reverse("admin:payments_transaction_change", args=[sale.pk])).content.decode()

    assert "booth.jpg" in page
    assert f"/media/photos/{sale.external_id}/" in page
    assert "Photos (and invoice) to the customer" in page
