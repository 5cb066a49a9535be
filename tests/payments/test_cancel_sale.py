"""POST /api/v1/transactions/{external_id}/cancel: the kiosk gives up a sale the customer left.

The sale becomes CANCELLED and frees its quota at once; its QR code stays payable at Xendit until
it expires, so a payment that still comes completes it (flagged), and expire_sales asks once.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations.services import issue_kiosk_key
from payments.models import Sale, SaleStatus
from payments.reconciliation import expire_overdue_sales
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db


def cancel(api, sale, **headers):
    return api.post(f"/api/v1/transactions/{sale.external_id}/cancel", **headers)


def test_a_pending_sale_is_cancelled_and_answered_as_the_poll_shows_it(api, make_sale):
    sale = make_sale()

    response = cancel(api, sale)

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Transaction cancelled")
    assert body["data"]["status"] == "CANCELLED"
    assert body["data"] == api.get(f"/api/v1/transactions/external/{sale.external_id}").json()["data"]
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.CANCELLED


def test_cancelling_twice_answers_the_same(api, make_sale):
    sale = make_sale()
    first = cancel(api, sale)

    second = cancel(api, sale)

    assert (second.status_code, second.json()) == (first.status_code, first.json())


def test_a_cancelled_sale_frees_its_quota_at_once(api, sale_request, price):
    price.quota = 1
    price.save()
    created = api.post("/api/v1/transactions", sale_request, format="json").json()["data"]
    assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 422

    cancel(api, Sale.objects.get(external_id=created["external_id"]))

    assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 201


def test_its_qr_image_is_gone(api, make_sale):
    sale = make_sale(qr_string="00020101021226")
    cancel(api, sale)

    response = api.get(f"/api/v1/transactions/external/{sale.external_id}/qr.svg")

    assert response.status_code == 410


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (SaleStatus.COMPLETED, "Transaction already paid"),
        (SaleStatus.REFUNDED, "Transaction already paid"),
        (SaleStatus.EXPIRED, "Transaction already expired"),
        (SaleStatus.FAILED, "Transaction already failed"),
    ],
)
def test_a_sale_that_ended_otherwise_is_not_cancelled(api, make_sale, status, message):
    sale = make_sale(status=status)

    response = cancel(api, sale)

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "message": message,
        "details": {"external_id": sale.external_id, "status": status},
    }
    assert Sale.objects.get(pk=sale.pk).status == status


def test_an_unknown_sale_is_404(api, db):
    response = api.post("/api/v1/transactions/TRX-1-20990101000000-AAAAAAAA/cancel")

    assert response.status_code == 404
    assert response.json()["message"] == "Transaction not found"


def test_a_payment_after_cancelling_still_completes_the_sale_flagged(api, make_sale):
    sale = make_sale()
    cancel(api, sale)
    body = webhook_fixture(
        "qr_payment_2022.json", external_id=sale.external_id, qr_id=sale.xendit_qr_id, amount=40000, payment_id="qrpy_c"
    )

    post_webhook(api, body)

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.needs_review
    assert "CANCELLED" in sale.review_reason


def test_expire_sales_asks_xendit_about_a_cancelled_sale_once_after_its_expiry(api, sale_request, fake_xendit):
    created = api.post("/api/v1/transactions", sale_request, format="json").json()["data"]
    sale = Sale.objects.get(external_id=created["external_id"])
    cancel(api, sale)
    fake_xendit.pay(sale.xendit_qr_id)  # the customer paid after all; the webhook is lost

    before_expiry = expire_overdue_sales()
    Sale.objects.filter(pk=sale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    after_expiry = expire_overdue_sales()

    assert before_expiry.late_checked == 0  # still payable: asking now could miss a later payment
    assert (after_expiry.late_checked, after_expiry.late_completed) == (1, 1)
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.COMPLETED


def test_with_kiosk_keys_only_the_sales_kiosk_may_cancel(api, make_sale, make_location, settings):
    settings.KIOSK_AUTH = "required"
    sale = make_sale()
    other = make_location()
    _, own_token = issue_kiosk_key(location=sale.location, label="own")
    _, other_token = issue_kiosk_key(location=other, label="other")

    assert cancel(api, sale).status_code == 401
    assert cancel(api, sale, HTTP_AUTHORIZATION=f"Bearer {other_token}").status_code == 403
    assert cancel(api, sale, HTTP_AUTHORIZATION=f"Bearer {own_token}").status_code == 200
