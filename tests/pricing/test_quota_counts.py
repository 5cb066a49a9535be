"""A price counts its sales that hold quota and its paid sales as they change, so the quota check
reads one row. Each sale transition moves the counts as a customer or staff would expect, and
`check_quotas` finds (and repairs) counts that differ from the sales."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments import services
from payments.models import Sale, SaleCause, SaleStatus
from payments.reconciliation import expire_overdue_sales
from payments.refunds.services import request_refund
from payments.simulation import simulate_payment, simulate_refund_webhook
from pricing.models import Price, VoucherKind
from tests.support.webhooks import payment_webhook, post_webhook

pytestmark = pytest.mark.django_db

PENDING, COMPLETED, EXPIRED = SaleStatus.PENDING, SaleStatus.COMPLETED, SaleStatus.EXPIRED


def counts(price: Price) -> tuple[int, int]:
    """(quota used, paid sales) as the price holds them."""
    price.refresh_from_db()
    return price.quota_used, price.paid_sales


def create(api, sale_request, **fields):
    return api.post("/api/v1/transactions", {**sale_request, **fields}, format="json")


def test_a_new_sale_takes_a_place_of_its_prices_quota(api, sale_request, price):
    assert create(api, sale_request).status_code == 201

    assert counts(price) == (1, 0)


def test_a_sale_refused_for_its_voucher_takes_no_place(api, sale_request, price):
    response = create(api, sale_request, voucher_code="NOSUCHCODE")

    assert response.status_code == 422
    assert counts(price) == (0, 0)


def test_a_free_session_holds_its_place_and_counts_as_paid(api, sale_request, price, make_voucher):
    make_voucher("GRATIS", kind=VoucherKind.FREE)

    assert create(api, sale_request, voucher_code="GRATIS").json()["data"]["status"] == COMPLETED

    assert counts(price) == (1, 1)


def test_a_cancelled_sale_frees_its_quota_at_once(api, sale_request, price):
    price.quota = 1
    price.save()
    external_id = create(api, sale_request).json()["data"]["external_id"]

    api.post(f"/api/v1/transactions/{external_id}/cancel")
    api.post(f"/api/v1/transactions/{external_id}/cancel")  # again: nothing more to free

    assert counts(price) == (0, 0)
    assert create(api, sale_request).status_code == 201


def test_a_sale_the_gateway_could_not_make_frees_its_place(make_sale, price):
    sale = make_sale()

    services.fail_sale(sale=sale, reason="Gateway unavailable")

    assert counts(price) == (0, 0)


def test_expiring_frees_the_place_once_whether_cron_or_the_poll_expires_it(api, make_sale, price):
    polled = make_sale(expires_at=timezone.now() - timedelta(minutes=1))
    left = make_sale(expires_at=timezone.now() - timedelta(minutes=1))
    waiting = make_sale()
    assert counts(price) == (3, 0)

    api.get(f"/api/v1/transactions/external/{polled.external_id}")
    expire_overdue_sales()
    expire_overdue_sales()
    api.get(f"/api/v1/transactions/external/{left.external_id}")

    assert counts(price) == (1, 0)
    assert Sale.objects.get(pk=waiting.pk).status == PENDING


def test_a_payment_keeps_the_place_and_counts_the_sale_paid_once(api, make_sale, price):
    sale = make_sale()

    post_webhook(api, payment_webhook(sale))
    post_webhook(api, payment_webhook(sale))  # Xendit's retry

    assert counts(price) == (1, 1)


def test_a_late_payment_takes_the_place_back_even_past_the_quota_and_later_sales_are_refused(
    api, sale_request, make_sale, price
):
    # A late payment is money received: the sale completes whatever the quota says.
    price.quota = 1
    price.save()
    expired = make_sale(status=EXPIRED, expires_at=timezone.now() - timedelta(minutes=1))
    assert create(api, sale_request).status_code == 201  # its place was free

    post_webhook(api, payment_webhook(expired, payment_id="qrpy_late"))

    assert Sale.objects.get(pk=expired.pk).status == COMPLETED
    assert counts(price) == (2, 1)
    refused = create(api, sale_request)
    assert refused.status_code == 422
    assert refused.json()["details"] == {"price_id": str(price.pk), "quota": 1, "used": 2}


def test_a_refund_in_full_frees_the_place_and_the_paid_sale(make_sale, price):
    sale = make_sale()
    simulate_payment(sale=sale)
    refund = request_refund(sale=Sale.objects.get(pk=sale.pk), reason="Printer jammed", requested_by=None)

    simulate_refund_webhook(refund=refund)
    simulate_refund_webhook(refund=refund)  # settled once

    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.REFUNDED
    assert counts(price) == (0, 0)


def test_a_change_that_does_not_apply_moves_no_count(make_sale, price):
    paid = make_sale(status=COMPLETED, expires_at=timezone.now() - timedelta(minutes=1))

    expire_overdue_sales()
    services.fail_sale(sale=paid, reason="too late")

    assert counts(price) == (1, 1)


def test_an_unpaid_sale_past_its_expiry_never_keeps_a_customer_from_the_last_place(api, sale_request, make_sale, price):
    price.quota = 1
    price.save()
    forgotten = make_sale(expires_at=timezone.now() - timedelta(minutes=1))  # cron has not run yet
    menu = api.get("/api/v1/kiosk/packages", {"location_id": sale_request["location_id"]}).json()["data"]

    response = create(api, sale_request)

    assert menu[0]["remaining"] == 1
    assert response.status_code == 201
    assert Sale.objects.get(pk=forgotten.pk).status == EXPIRED
    assert forgotten.history.latest("pk").cause == SaleCause.QUOTA_FULL
    assert counts(price) == (1, 0)


def test_the_menu_and_the_check_agree_when_the_quota_is_used_up(api, sale_request, make_sale, price):
    price.quota = 1
    price.save()
    make_sale()
    menu = api.get("/api/v1/kiosk/packages", {"location_id": sale_request["location_id"]}).json()["data"]

    response = create(api, sale_request)

    assert menu[0]["remaining"] == 0
    assert response.status_code == 422


def test_check_quotas_reports_counts_that_differ_and_fix_repairs_them(make_sale, price, capsys):
    make_sale(status=COMPLETED)
    make_sale()
    # Changed behind the transitions' back (SQL by hand): the counts no longer match.
    Sale.objects.filter(status=PENDING).update(status=COMPLETED, paid_at=timezone.now())
    Price.objects.filter(pk=price.pk).update(quota_used=7)

    with pytest.raises(CommandError, match="1 price"):
        call_command("check_quotas")
    reported = capsys.readouterr().out
    call_command("check_quotas", "--fix")
    fixed = capsys.readouterr().out
    call_command("check_quotas")

    assert "quota used is 7, counted 2; paid sales is 1, counted 2" in reported
    assert "quota used was 7, counted 2" in fixed
    assert counts(price) == (2, 2)
    assert "match" in capsys.readouterr().out
