"""The quota counters under load: real threads on PostgreSQL, released together by a barrier,
making, paying, expiring and cancelling sales of one price at once. The counts never drift from
the sales, and the quota is never oversold."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from payments import transitions
from payments.models import Sale, SaleCause, SaleStatus
from payments.reconciliation import expire_overdue_sales
from pricing.models import Price
from pricing.selectors import HOLDING_QUOTA, quota_differences
from pricing.services import fix_quota_counts
from tests.support.concurrency import run_concurrently
from tests.support.webhooks import payment_webhook, post_webhook

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]
REPEAT = range(3)
KIOSKS = 12


@pytest.mark.parametrize("attempt", REPEAT)
def test_twelve_kiosks_selling_while_payments_expiries_and_cancels_run_never_drift_or_oversell(
    sale_request, make_sale, price, settings, attempt
):
    settings.RATE_LIMIT_SALE_CREATE = None  # one test client stands for twelve kiosks
    price.quota = 12
    price.save()
    overdue = [make_sale(expires_at=timezone.now() - timedelta(minutes=1)) for _ in range(4)]
    waiting = [make_sale() for _ in range(4)]  # 8 of 12 places held; 4 of them by overdue sales

    def kiosk(index: int) -> list[int]:
        client, answers = APIClient(), []
        for _ in range(3):
            response = client.post("/api/v1/transactions", sale_request, format="json")
            answers.append(response.status_code)
            if response.status_code == 201 and index % 3 == 0:  # a customer walks away
                external_id = response.json()["data"]["external_id"]
                answers.append(client.post(f"/api/v1/transactions/{external_id}/cancel").status_code)
        return answers

    def cron(_: int) -> list[int]:
        return [expire_overdue_sales().expired for _ in range(3)]

    def polls(_: int) -> list[int]:
        client = APIClient()
        return [client.get(f"/api/v1/transactions/external/{sale.external_id}").status_code for sale in overdue]

    def webhooks(_: int) -> list[int]:
        client = APIClient()
        return [post_webhook(client, payment_webhook(sale)).status_code for sale in waiting]

    others = [cron, polls, webhooks]
    results = run_concurrently(lambda i: kiosk(i) if i < KIOSKS else others[i - KIOSKS](i), KIOSKS + len(others))

    assert not [r for r in results if isinstance(r, Exception)], results
    answers = Counter(code for r in results[:KIOSKS] for code in r)
    assert set(answers) <= {200, 201, 422}, answers  # no 500: no deadlock, no lost lock
    assert answers[422], "the quota was never reached: the test proves nothing"
    assert results[-1] == [200] * 4  # every payment applied
    assert results[-2] == [200] * 4  # every poll answered
    assert quota_differences() == []
    price.refresh_from_db()
    holding = Sale.objects.filter(price=price, status__in=HOLDING_QUOTA).count()
    assert holding == price.quota_used <= price.quota
    assert price.paid_sales == 4
    assert not Sale.objects.filter(price=price, status=SaleStatus.PENDING, expires_at__lte=timezone.now()).exists()


def wait_until_waiting_for_a_lock(timeout: float = 10) -> None:
    """Until another backend of this test database waits for a row lock (pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction it would be read once
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("nobody waited for the lock")


def test_repairing_the_counts_while_a_sale_expires_counts_the_expiry_once(make_sale, price):
    """The repair holds the price's lock while it counts; an expiry made meanwhile has changed
    its sale but waits for that lock to count it, and is applied to the repaired count after."""
    sale = make_sale(expires_at=timezone.now() - timedelta(minutes=1))
    make_sale(status=SaleStatus.COMPLETED)
    Price.objects.filter(pk=price.pk).update(quota_used=9)  # drifted: the repair has work
    repair_holds_the_lock, expiry_waits = threading.Event(), threading.Event()

    def repair(_: int):
        with transaction.atomic():
            Price.objects.select_for_update().filter(pk=price.pk).values_list("pk").first()
            repair_holds_the_lock.set()
            expiry_waits.wait(timeout=10)
            wait_until_waiting_for_a_lock()
            # fix_quota_counts takes the same lock again (re-entrant in one transaction) and counts.
            return fix_quota_counts()

    def expiry(_: int):
        repair_holds_the_lock.wait(timeout=10)
        expiry_waits.set()
        due = Sale.objects.filter(pk=sale.pk)
        return transitions.expire(sales=due, cause=SaleCause.EXPIRE_SALES, now=timezone.now())

    fixed, expired = run_concurrently(lambda i: repair(i) if i == 0 else expiry(i), 2)

    assert expired == [sale.pk], expired
    assert [(count.quota_used, count.counted_quota_used) for count in fixed] == [(9, 2)]
    price.refresh_from_db()
    assert (price.quota_used, price.paid_sales) == (1, 1)
    assert quota_differences() == []


def test_the_migration_counts_every_price_from_its_sales(make_sale, price, make_price):
    from django.db.migrations.executor import MigrationExecutor

    other = make_price(30000)
    make_sale(status=SaleStatus.COMPLETED)
    make_sale()
    make_sale(status=SaleStatus.REFUNDED)
    Price.objects.update(quota_used=0, paid_sales=0)

    executor = MigrationExecutor(connection)
    executor.migrate([("pricing", "0004_merge_price_locations_and_vouchers")])
    executor.loader.build_graph()
    executor.migrate([("pricing", "0005_sale_counts")])

    assert {p.pk: (p.quota_used, p.paid_sales) for p in Price.objects.all()} == {price.pk: (2, 1), other.pk: (0, 0)}
    assert quota_differences() == []
