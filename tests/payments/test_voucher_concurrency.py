"""Vouchers under concurrency: twelve kiosks typing the same code at once, on PostgreSQL with real
threads released together by a barrier. Each scenario is repeated: a race lost once in a while is
still a lost race.

Each kiosk sells its own package: sales of one price already queue on the price's lock, so only
different prices prove the voucher's own lock."""

import json
from collections import Counter

import pytest
from rest_framework.test import APIClient

from pricing.models import Voucher, VoucherKind
from tests.support.concurrency import run_concurrently

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
REPEAT = range(5)


def create_sale(body: dict, **headers):
    return APIClient().post("/api/v1/transactions", data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.parametrize("attempt", REPEAT)
@pytest.mark.parametrize("kind", [VoucherKind.PERCENT, VoucherKind.FREE])
def test_a_voucher_of_three_uses_typed_at_twelve_kiosks_at_once_is_used_three_times(
    sale_request, make_voucher, make_price, kind, attempt
):
    voucher = make_voucher("HEMAT25", kind=kind, max_uses=3)
    prices = [str(make_price(30000 + i).pk) for i in range(12)]

    responses = run_concurrently(
        lambda i: create_sale(
            {**sale_request, "price_id": prices[i], "voucher_code": "HEMAT25", "email": f"c{i}@example.com"}
        ),
        12,
    )

    assert Counter(r.status_code for r in responses) == {201: 3, 422: 9}, responses
    assert {r.json()["message"] for r in responses if r.status_code == 422} == {"Voucher already used"}
    voucher.refresh_from_db()
    assert voucher.uses == 3
    assert voucher.sales.count() == 3


@pytest.mark.parametrize("attempt", REPEAT)
def test_one_use_per_email_holds_when_one_customer_tries_at_every_kiosk(
    sale_request, make_voucher, make_price, attempt
):
    make_voucher("HEMAT25", max_uses=None, one_per_email=True)
    prices = [str(make_price(30000 + i).pk) for i in range(12)]

    responses = run_concurrently(
        lambda i: create_sale({**sale_request, "price_id": prices[i], "voucher_code": "HEMAT25"}), 12
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 422: 11}, responses


@pytest.mark.parametrize("attempt", REPEAT)
def test_cancelling_and_selling_at_once_never_overuses_the_voucher(sale_request, make_voucher, make_price, attempt):
    voucher = make_voucher("HEMAT25", max_uses=1)
    first = create_sale({**sale_request, "voucher_code": "HEMAT25"}).json()["data"]["external_id"]
    prices = [str(make_price(30000 + i).pk) for i in range(6)]

    def contender(index: int):
        if index == 0:
            return APIClient().post(f"/api/v1/transactions/{first}/cancel")
        body = {**sale_request, "price_id": prices[index], "voucher_code": "HEMAT25", "email": f"c{index}@example.com"}
        return create_sale(body)

    responses = run_concurrently(contender, 6)

    assert responses[0].status_code == 200
    sold = sum(r.status_code == 201 for r in responses[1:])
    assert sold <= 1
    voucher.refresh_from_db()
    assert voucher.uses == sold
    assert voucher.sales.exclude(status="CANCELLED").count() == sold


@pytest.mark.parametrize("attempt", REPEAT)
def test_one_idempotency_key_sent_by_six_retries_at_once_uses_the_voucher_once(sale_request, make_voucher, attempt):
    voucher = make_voucher("HEMAT25", max_uses=10)
    body = {**sale_request, "voucher_code": "HEMAT25"}

    responses = run_concurrently(lambda _: create_sale(body, HTTP_IDEMPOTENCY_KEY="retry-storm"), 6)

    assert {r.status_code for r in responses} <= {201, 409}, responses
    assert Voucher.objects.get(pk=voucher.pk).uses == 1
    assert voucher.sales.count() == 1
