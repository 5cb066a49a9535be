"""Money under concurrency: real threads on PostgreSQL, released together by a barrier.

Each scenario is repeated, since a race that is lost once in a while is still a lost race.
"""

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import EventOutcome, IdempotencyKey, PaymentEvent, Sale, SaleStatus
from payments.reconciliation import expire_overdue_sales
from tests.support.concurrency import run_concurrently
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
REPEAT = range(5)


def create_sale(body: dict, **headers):
    return APIClient().post("/api/v1/transactions", data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize("attempt", REPEAT)
def test_quota_of_three_with_twelve_simultaneous_sales_sells_exactly_three(sale_request, price, attempt):
    price.quota = 3
    price.save()

    responses = run_concurrently(lambda _: create_sale(sale_request), 12)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 422: 9}, responses
    assert Sale.objects.filter(price=price).count() == 3
    refused = next(r for r in responses if r.status_code == 422).json()
    assert refused["message"] == "Price quota exceeded"
    assert refused["details"]["used"] == 3


@pytest.mark.parametrize("attempt", REPEAT)
def test_eight_identical_webhooks_at_once_complete_the_sale_once(make_sale, attempt):
    sale = make_sale(xendit_qr_id="qr_race")
    body = webhook_fixture(
        "qr_payment_2022.json", payment_id="qrpy_race", amount=40000, qr_id="qr_race", external_id=sale.external_id
    )

    responses = run_concurrently(lambda _: post_webhook(APIClient(), body), 8)

    assert [r.status_code for r in responses] == [200] * 8, responses
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert Sale.objects.filter(xendit_payment_id="qrpy_race").count() == 1
    outcomes = Counter(PaymentEvent.objects.values_list("outcome", flat=True))
    assert outcomes == {EventOutcome.APPLIED: 1, EventOutcome.DUPLICATE: 7}


@pytest.mark.parametrize("attempt", REPEAT)
def test_expiry_racing_a_payment_never_loses_the_payment(make_sale, attempt):
    sale = make_sale(xendit_qr_id="qr_late", expires_at=timezone.now() - timedelta(seconds=1))
    body = webhook_fixture(
        "qr_payment_2022.json", payment_id="qrpy_late", amount=40000, qr_id="qr_late", external_id=sale.external_id
    )

    def contender(index: int):
        return expire_overdue_sales() if index == 0 else post_webhook(APIClient(), body)

    report, webhook = run_concurrently(contender, 2)

    assert webhook.status_code == 200, webhook
    sale.refresh_from_db()
    # Whoever wins, the customer's payment stands and is applied exactly once.
    assert sale.status == SaleStatus.COMPLETED
    assert sale.xendit_payment_id == "qrpy_late"
    assert PaymentEvent.objects.get().outcome == EventOutcome.APPLIED
    # The sale was expired first exactly when staff are asked to look at it.
    assert report.expired in (0, 1)
    assert sale.needs_review == (report.expired == 1)


@pytest.mark.parametrize("attempt", REPEAT)
def test_simultaneous_retries_with_one_idempotency_key_make_one_sale(sale_request, attempt):
    responses = run_concurrently(lambda _: create_sale(sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-retry"), 6)

    assert Sale.objects.count() == 1
    created = [r for r in responses if r.status_code == 201]
    assert created, responses
    assert len({r.content for r in created}) == 1
    assert all(r.status_code in (201, 409) for r in responses), responses
    assert IdempotencyKey.objects.get().status_code == 201


@pytest.mark.parametrize("attempt", REPEAT)
def test_concurrent_expiry_runs_expire_each_sale_once(make_sale, attempt):
    for _ in range(20):
        make_sale(expires_at=timezone.now() - timedelta(seconds=1))

    reports = run_concurrently(lambda _: expire_overdue_sales(), 3)

    assert sum(r.expired for r in reports) == 20
    assert set(Sale.objects.values_list("status", flat=True)) == {SaleStatus.EXPIRED}


@pytest.mark.parametrize("attempt", REPEAT)
def test_two_staff_refunding_the_same_sale_at_once_make_one_refund(make_sale, settings, attempt):
    from payments.models import Refund
    from payments.refunds.services import RefundRefused, request_refund

    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id=f"qrpy_twice_{attempt}", paid_amount=40000)

    results = run_concurrently(lambda i: request_refund(sale=sale, reason=f"staff {i}", requested_by=None), 4)

    made = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, RefundRefused)]
    assert (len(made), len(refused)) == (1, 3), results
    assert "Nothing is left to refund" in refused[0].message
    assert Refund.objects.filter(sale=sale).count() == 1


@pytest.mark.parametrize("attempt", REPEAT)
def test_partial_refunds_at_once_never_exceed_what_was_paid(make_sale, settings, attempt):
    from decimal import Decimal

    from django.db.models import Sum

    from payments.models import Refund
    from payments.refunds.services import request_refund

    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id=f"qrpy_parts_{attempt}", paid_amount=40000)

    run_concurrently(lambda i: request_refund(sale=sale, reason="part", requested_by=None, amount=Decimal(15000)), 4)

    assert Refund.objects.filter(sale=sale).count() == 2
    assert Refund.objects.filter(sale=sale).aggregate(total=Sum("amount"))["total"] == Decimal(30000)


@pytest.mark.parametrize("attempt", REPEAT)
def test_the_same_refund_webhook_at_once_settles_it_once(make_sale, settings, attempt):
    from payments.models import Refund
    from payments.refunds.services import request_refund

    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id=f"qrpy_hook_{attempt}", paid_amount=40000)
    refund = request_refund(sale=sale, reason="x", requested_by=None)
    body = {
        "event": "qr.refund",
        "data": {
            "id": refund.xendit_refund_id,
            "qrpy_id": sale.xendit_payment_id,
            "status": "SUCCEEDED",
            "refund_amount": 40000,
        },
    }

    responses = run_concurrently(lambda _: post_webhook(APIClient(), body), 6)

    assert [r.status_code for r in responses] == [200] * 6
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == (SaleStatus.REFUNDED, 40000)
    outcomes = Counter(PaymentEvent.objects.filter(refund=refund).values_list("outcome", flat=True))
    assert outcomes == {EventOutcome.APPLIED: 1, EventOutcome.DUPLICATE: 5}
    assert Refund.objects.get(pk=refund.pk).status == "SUCCEEDED"


@pytest.mark.parametrize("attempt", REPEAT)
def test_overlapping_refund_checks_send_an_unconfirmed_refund_once(make_sale, fake_xendit, attempt):
    from payments.models import Refund
    from payments.reconciliation import check_pending_refunds

    fake_xendit.honour_idempotency_key = False  # a Xendit that would make a second refund
    qr = f"qr_check_{attempt}"
    fake_xendit.qr_codes[qr] = {"id": qr, "amount": 40000, "qr_string": "x", "reference_id": "", "expires_at": None}
    payment = fake_xendit.pay(qr)
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id=payment["id"], paid_amount=40000)
    old = timezone.now() - timedelta(minutes=10)
    Refund.objects.create(sale=sale, payment_id=payment["id"], amount=40000, reason="x", created_at=old)

    run_concurrently(lambda _: check_pending_refunds(), 4)

    assert len(fake_xendit.refunds) == 1
    assert Refund.objects.get(sale=sale).xendit_refund_id in fake_xendit.refunds
