"""No paid sale ends EXPIRED unnoticed: a sale the kiosk's poll expired is asked about later.

A customer pays, Xendit's webhook is lost, the kiosk's next poll expires the sale. expire_sales
then asks Xendit once about it; a payment found completes the sale, flagged as a late payment.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments.models import Sale, SaleStatus
from payments.reconciliation import CannotCheckPayment, expire_overdue_sales, recheck_sale_payment

pytestmark = pytest.mark.django_db


def sell(api, sale_request) -> Sale:
    response = api.post("/api/v1/transactions", sale_request, format="json")
    assert response.status_code == 201, response.content
    return Sale.objects.get(external_id=response.json()["data"]["external_id"])


def poll(api, sale: Sale) -> dict:
    response = api.get(f"/api/v1/transactions/external/{sale.external_id}")
    assert response.status_code == 200
    return response.json()["data"]


def expire_in_the_past(sale: Sale, *, hours: float = 0.02) -> None:
    Sale.objects.filter(pk=sale.pk).update(expires_at=timezone.now() - timedelta(hours=hours))


def payment_lookups(fake, sale: Sale) -> int:
    return sum(1 for r in fake.requests if r.path == f"/qr_codes/{sale.xendit_qr_id}/payments")


def test_paid_at_xendit_webhook_lost_poll_expired_then_expire_sales_completes_it(api, sale_request, fake_xendit):
    sale = sell(api, sale_request)
    fake_xendit.pay(sale.xendit_qr_id)  # the customer paid; the webhook never arrives
    expire_in_the_past(sale)
    assert poll(api, sale)["status"] == "EXPIRED"  # the kiosk gives up

    call_command("expire_sales", stdout=StringIO())

    assert poll(api, sale)["status"] == "COMPLETED"
    sale.refresh_from_db()
    assert sale.needs_review
    assert "late payment" in sale.review_reason
    assert sale.gateway_checked_at is not None


def test_an_expired_sale_is_asked_once(api, sale_request, fake_xendit):
    sale = sell(api, sale_request)
    expire_in_the_past(sale)
    poll(api, sale)

    first = expire_overdue_sales()
    second = expire_overdue_sales()

    assert (first.late_checked, second.late_checked) == (1, 0)
    assert payment_lookups(fake_xendit, sale) == 1
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.EXPIRED


def test_a_sale_expire_sales_asked_before_expiring_is_not_asked_again(api, sale_request, fake_xendit):
    sale = sell(api, sale_request)
    expire_in_the_past(sale)

    report = expire_overdue_sales()
    expire_overdue_sales()

    assert (report.checked, report.expired, report.late_checked) == (1, 1, 0)
    assert payment_lookups(fake_xendit, sale) == 1


def test_sales_expired_more_than_a_day_ago_are_left_alone(api, sale_request, fake_xendit, settings):
    sale = sell(api, sale_request)
    expire_in_the_past(sale, hours=settings.LATE_PAYMENT_CHECK_HOURS + 1)
    poll(api, sale)

    report = expire_overdue_sales()

    assert report.late_checked == 0
    assert payment_lookups(fake_xendit, sale) == 0


def test_a_late_check_xendit_could_not_answer_is_asked_again_next_run(api, sale_request, fake_xendit):
    sale = sell(api, sale_request)
    expire_in_the_past(sale)
    poll(api, sale)
    fake_xendit.fail_next = [(503, {"error_code": "SERVER_ERROR", "message": "down"})] * 2  # GET is retried once

    first = expire_overdue_sales()
    fake_xendit.pay(sale.xendit_qr_id)
    second = expire_overdue_sales()

    assert first.check_failures == [sale.external_id]
    assert (second.late_checked, second.late_completed) == (1, 1)


def test_staff_can_ask_xendit_about_an_expired_sale(api, sale_request, fake_xendit):
    sale = sell(api, sale_request)
    fake_xendit.pay(sale.xendit_qr_id)
    expire_in_the_past(sale)
    poll(api, sale)
    sale.refresh_from_db()

    assert recheck_sale_payment(sale=sale) is True

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.needs_review


def test_staff_can_ask_xendit_about_a_failed_sale(make_sale, fake_xendit):
    sale = make_sale(status=SaleStatus.FAILED, xendit_qr_id="qr_unknown")
    fake_xendit.qr_codes["qr_unknown"] = {"id": "qr_unknown", "amount": 40000, "qr_string": "x", "reference_id": ""}

    assert recheck_sale_payment(sale=sale) is False


def test_a_sale_without_a_qr_code_cannot_be_asked_about(make_sale, fake_xendit):
    sale = make_sale(status=SaleStatus.FAILED, xendit_qr_id="")

    with pytest.raises(CannotCheckPayment, match="no QR code"):
        recheck_sale_payment(sale=sale)


def test_a_paid_sale_is_not_asked_about(make_sale, fake_xendit):
    sale = make_sale(status=SaleStatus.COMPLETED)

    with pytest.raises(CannotCheckPayment, match="nothing to ask"):
        recheck_sale_payment(sale=sale)
