"""Money rules that a planted bug once got past (issue 17): each test states one rule and fails
when the rule is broken.

The poll's race with a payment is forced, not left to luck: the webhook's transaction holds the
sale's row lock until PostgreSQL shows the poll's expiry UPDATE waiting for it, and only then
commits. The poll has read the sale as PENDING by then; its UPDATE is decided after the payment
committed, exactly the order in which a careless UPDATE would expire a paid sale.
"""

import json
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import EventOutcome, IdempotencyKey, PaymentEvent, Sale, SaleStatus
from payments.reconciliation import expire_overdue_sales
from payments.services import fail_sale
from tests.support.concurrency import run_concurrently, wait_until_another_query_waits_for_this_transaction
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

# How long a forced interleaving may take before the test gives up on it.
WAIT_SECONDS = 10


def payment_2022(sale: Sale, *, payment_id: str = "qrpy_001", amount: int | None = None) -> dict:
    return webhook_fixture(
        "qr_payment_2022.json",
        payment_id=payment_id,
        amount=int(sale.amount if amount is None else amount),
        qr_id=sale.xendit_qr_id,
        external_id=sale.external_id,
    )


def poll(client: APIClient, sale: Sale):
    return client.get(f"/api/v1/transactions/external/{sale.external_id}")


def sell(api, sale_request, **headers):
    return api.post("/api/v1/transactions", data=json.dumps(sale_request), content_type="application/json", **headers)


def overdue(sale: Sale) -> Sale:
    Sale.objects.filter(pk=sale.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    sale.refresh_from_db()
    return sale


def poll_while_a_payment_commits_between_its_read_and_its_expiry(sale: Sale):
    """The kiosk polls an overdue PENDING sale while Xendit's webhook pays it, in this order:

    1. the webhook (the real request) completes the sale in a transaction kept open, so it holds
       the sale's row lock and its payment is not yet visible;
    2. the poll (the real request) reads the sale, still PENDING and overdue, and sends its expiry
       UPDATE, which waits for the row lock;
    3. seeing that wait in pg_locks, the webhook commits; the UPDATE is decided after that.

    Returns (poll response, webhook response)."""
    body = payment_2022(sale, payment_id="qrpy_poll_race")
    payment_held_open = threading.Event()

    def kiosk():
        assert payment_held_open.wait(WAIT_SECONDS), "the webhook never paid the sale"
        return poll(APIClient(), sale)

    def xendit():
        with transaction.atomic():  # the webhook's work, committed only at the end of this block
            response = post_webhook(APIClient(), body)
            payment_held_open.set()
            wait_until_another_query_waits_for_this_transaction(seconds=WAIT_SECONDS)
        return response

    results = run_concurrently(lambda index: (kiosk, xendit)[index](), 2)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return tuple(results)


# --- 1. and 2. The poll's expiry loses to a payment -----------------------------------------
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_poll_expiry_never_overwrites_a_payment_committed_after_the_poll_read_the_sale(make_sale):
    sale = make_sale(xendit_qr_id="qr_poll_race", expires_at=timezone.now() - timedelta(seconds=1))

    _, webhook = poll_while_a_payment_commits_between_its_read_and_its_expiry(sale)

    assert webhook.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.xendit_payment_id == "qrpy_poll_race"
    assert sale.paid_at is not None
    assert PaymentEvent.objects.get().outcome == EventOutcome.APPLIED


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_poll_that_lost_the_race_to_a_payment_reports_the_stored_completed_sale(make_sale):
    sale = make_sale(xendit_qr_id="qr_poll_race", expires_at=timezone.now() - timedelta(seconds=1))

    answer, _ = poll_while_a_payment_commits_between_its_read_and_its_expiry(sale)

    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["status"] == "COMPLETED"
    assert data["paid_at"] is not None


# --- 3. Failing a sale ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "after"),
    [
        (SaleStatus.PENDING, SaleStatus.FAILED),
        (SaleStatus.COMPLETED, SaleStatus.COMPLETED),
        (SaleStatus.EXPIRED, SaleStatus.EXPIRED),
        (SaleStatus.CANCELLED, SaleStatus.CANCELLED),
        (SaleStatus.REFUNDED, SaleStatus.REFUNDED),
    ],
)
def test_fail_sale_changes_only_a_pending_sale(make_sale, status, after):
    sale = make_sale(status=status)

    changed = fail_sale(sale=sale, reason="Gateway unavailable")

    assert Sale.objects.get(pk=sale.pk).status == after
    assert (changed, sale.status) == (status == SaleStatus.PENDING, after)


# --- 4. Reconciliation ------------------------------------------------------------------------
@pytest.mark.parametrize("listed_status", ["FAILED", "PENDING"])
def test_reconciliation_never_takes_an_unsuccessful_listed_payment_for_a_payment(
    api, sale_request, fake_xendit, listed_status
):
    created = sell(api, sale_request)
    assert created.status_code == 201, created.content
    sale = Sale.objects.get(external_id=created.json()["data"]["external_id"])
    fake_xendit.pay(sale.xendit_qr_id, status=listed_status)
    overdue(sale)

    report = expire_overdue_sales()

    sale.refresh_from_db()
    assert sale.status == SaleStatus.EXPIRED  # unpaid: neither completed nor failed by the listing
    assert (sale.paid_at, sale.xendit_payment_id) == (None, None)
    assert not PaymentEvent.objects.exists()  # a failed or pending payment is no payment: nothing to apply
    assert (report.checked, report.completed, report.expired) == (1, 0, 1)


# --- 5. What a 2022-07-31 notice calls paid ---------------------------------------------------
@pytest.mark.parametrize(
    "data_status", ["PENDING", "REVERSED", "", None], ids=["PENDING", "REVERSED", "empty", "missing"]
)
def test_a_2022_07_31_notice_not_succeeded_never_completes_the_sale(api, make_sale, data_status):
    sale = make_sale(xendit_qr_id="qr_status")
    body = payment_2022(sale)
    if data_status is None:
        del body["data"]["status"]
    else:
        body["data"]["status"] = data_status

    response = post_webhook(api, body)

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert (sale.paid_at, sale.xendit_payment_id) == (None, None)
    assert PaymentEvent.objects.get().outcome == EventOutcome.IGNORED


# --- 6. One payment id, two sales -------------------------------------------------------------
def test_a_payment_id_already_on_another_sale_is_answered_200_as_a_double_payment(api, make_sale):
    api.raise_request_exception = False  # a server error is answered 500, as Xendit would see it
    paid = make_sale(xendit_qr_id="qr_first")
    other = make_sale(xendit_qr_id="qr_second")
    assert post_webhook(api, payment_2022(paid, payment_id="qrpy_shared")).status_code == 200

    response = post_webhook(api, payment_2022(other, payment_id="qrpy_shared"))

    assert response.status_code == 200
    other.refresh_from_db()
    assert other.status == SaleStatus.PENDING
    assert (other.paid_at, other.xendit_payment_id) == (None, None)
    assert Sale.objects.get(xendit_payment_id="qrpy_shared") == paid
    event = PaymentEvent.objects.get(reference=other.external_id)
    assert (event.outcome, event.sale) == (EventOutcome.DOUBLE_PAYMENT, other)
    assert "already belongs to another sale" in event.outcome_detail


# --- 7. Idempotency and gateway failures -----------------------------------------------------
@pytest.mark.parametrize(
    ("xendit_answer", "our_answer"),
    [
        ((503, {"error_code": "SERVICE_UNAVAILABLE", "message": "Xendit is down"}), 503),
        ((400, {"error_code": "API_VALIDATION_ERROR", "message": "Xendit refused it"}), 502),
    ],
    ids=["outage-503", "refused-502"],
)
def test_a_retry_after_xendit_failed_makes_a_new_attempt_instead_of_replaying_the_5xx(
    api, sale_request, fake_xendit, xendit_answer, our_answer
):
    fake_xendit.fail_next = [xendit_answer]
    failed = sell(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-1-sale-42")
    assert failed.status_code == our_answer

    retry = sell(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-1-sale-42")

    assert retry.status_code == 201, retry.content
    assert len([r for r in fake_xendit.requests if r.path == "/qr_codes"]) == 2
    assert sorted(Sale.objects.values_list("status", flat=True)) == [SaleStatus.FAILED, SaleStatus.PENDING]
    # From now on the key answers with the sale it made.
    assert IdempotencyKey.objects.get().status_code == 201
    assert sell(api, sale_request, HTTP_IDEMPOTENCY_KEY="kiosk-1-sale-42").content == retry.content


# --- Overpayment (once caught only by a fuzz regression, with an amount of 1e300) -------------
def test_an_overpayment_never_completes_the_sale_and_is_flagged_for_staff(api, make_sale):
    sale = make_sale(xendit_qr_id="qr_over")  # Rp 40.000

    response = post_webhook(api, payment_2022(sale, amount=50000))

    assert response.status_code == 200
    sale.refresh_from_db()
    assert sale.status == SaleStatus.PENDING
    assert (sale.paid_at, sale.xendit_payment_id) == (None, None)
    assert sale.needs_review
    assert "Amount mismatch" in sale.review_reason
    assert "Rp 50.000" in sale.review_reason
    assert PaymentEvent.objects.get().outcome == EventOutcome.AMOUNT_MISMATCH
