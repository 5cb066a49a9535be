"""Xendit's rate limit (60 calls a minute per endpoint in test mode, 600 live): a 429 is a typed
error with the wait; batches stop calling until it is over; a kiosk is told when to retry."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.gateways import GatewayRateLimited
from payments.gateways.pause import pause_calls
from payments.gateways.xendit import XenditClient
from payments.models import Sale, SaleStatus
from payments.reconciliation import expire_overdue_sales

pytestmark = pytest.mark.django_db


def client_for(settings) -> XenditClient:
    return XenditClient(
        base_url=settings.XENDIT_API_URL, api_key=settings.XENDIT_API_KEY, connect_timeout=1, read_timeout=1
    )


def overdue_sales(make_sale, fake, count: int) -> list[Sale]:
    """Sales past their expiry whose QR codes Xendit knows."""
    sales = []
    for number in range(count):
        sale = make_sale(xendit_qr_id=f"qr_rl_{number}", expires_at=timezone.now() - timedelta(minutes=1))
        fake.qr_codes[sale.xendit_qr_id] = {
            "id": sale.xendit_qr_id,
            "amount": 40000,
            "qr_string": "x",
            "reference_id": sale.external_id,
            "expires_at": sale.expires_at.isoformat(),
        }
        sales.append(sale)
    return sales


def test_a_429_is_a_typed_error_carrying_rate_limit_reset(fake_xendit, settings):
    fake_xendit.rate_limits = {"/qr_codes": 1}
    fake_xendit.rate_limit_reset = 41.27
    client = client_for(settings)
    fake_xendit.qr_codes["qr_a"] = {"id": "qr_a", "amount": 1, "qr_string": "x", "reference_id": ""}
    client.list_payments("qr_a")

    with pytest.raises(GatewayRateLimited) as raised:
        client.list_payments("qr_a")

    assert raised.value.retry_after == pytest.approx(41.27)
    assert raised.value.error_code == "RATE_LIMIT_EXCEEDED"
    assert raised.value.http_status == 429


def test_a_429_without_headers_waits_a_minute(fake_xendit, settings):
    fake_xendit.fail_next = [(429, {"error_code": "RATE_LIMIT_EXCEEDED", "message": "slow down"})]

    with pytest.raises(GatewayRateLimited) as raised:
        client_for(settings).list_payments("qr_a")

    assert raised.value.retry_after == 60


def test_a_429_is_never_retried(fake_xendit, settings):
    fake_xendit.rate_limits = {"/qr_codes": 1}
    fake_xendit.qr_codes["qr_a"] = {"id": "qr_a", "amount": 1, "qr_string": "x", "reference_id": ""}
    client = client_for(settings)
    client.list_payments("qr_a")

    with pytest.raises(GatewayRateLimited):
        client.list_payments("qr_a")

    assert len(fake_xendit.requests) == 2


def test_expire_sales_stops_calling_on_a_429_and_logs_one_line(make_sale, fake_xendit, caplog):
    sales = overdue_sales(make_sale, fake_xendit, 6)
    fake_xendit.rate_limits = {"/qr_codes": 2}
    fake_xendit.rate_limit_reset = 30

    with caplog.at_level(logging.WARNING, logger="payments"):
        report = expire_overdue_sales()

    assert len(fake_xendit.requests) == 3  # two answered, the third refused, then no more calls
    assert (report.checked, report.deferred) == (2, 4)
    assert report.expired == 6  # expired anyway; the ones not asked are asked on a later run
    lines = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert len(lines) == 1
    assert "30 s" in lines[0]
    assert Sale.objects.filter(gateway_checked_at__isnull=True).count() == 4
    assert all(Sale.objects.get(pk=s.pk).status == SaleStatus.EXPIRED for s in sales)


def test_the_next_run_before_the_reset_does_not_call_xendit(make_sale, fake_xendit):
    overdue_sales(make_sale, fake_xendit, 3)
    fake_xendit.fail_next = [(429, {"error_code": "RATE_LIMIT_EXCEEDED", "message": "x"})]
    expire_overdue_sales()
    calls = len(fake_xendit.requests)

    report = expire_overdue_sales()

    assert len(fake_xendit.requests) == calls
    assert report.deferred == 3


def test_after_the_reset_the_sales_not_asked_are_asked(make_sale, fake_xendit):
    sales = overdue_sales(make_sale, fake_xendit, 3)
    fake_xendit.pay(sales[2].xendit_qr_id)
    fake_xendit.fail_next = [(429, {"error_code": "RATE_LIMIT_EXCEEDED", "message": "x"})]
    expire_overdue_sales()
    pause_calls(0)  # the wait is over

    report = expire_overdue_sales()

    assert (report.late_checked, report.late_completed) == (3, 1)
    assert Sale.objects.get(pk=sales[2].pk).status == SaleStatus.COMPLETED


def test_a_kiosk_is_answered_503_with_retry_after_on_xendits_rate_limit(api, sale_request, fake_xendit):
    fake_xendit.rate_limits = {"/qr_codes": 1}
    fake_xendit.rate_limit_reset = 12.3
    assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 201

    response = api.post("/api/v1/transactions", sale_request, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "13"
    assert response.json() == {
        "success": False,
        "message": "Payment gateway unavailable",
        "details": {"retry_after": 13},
    }
    refused = Sale.objects.latest("created_at")
    assert refused.status == SaleStatus.FAILED  # its quota is free at once
