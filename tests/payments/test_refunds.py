"""Refunds end to end, against the fake Xendit over real HTTP: requested, sent once, settled once.

A refund is committed before Xendit is called and sent with a key derived from it; Xendit's
`qr.refund` webhook (or the refund check in cron) settles it. A whole payment given back makes
the sale REFUNDED; a part leaves it COMPLETED.
"""

import logging
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.events import record_and_apply
from payments.gateways import RefundNotice
from payments.gateways.pause import pause_calls
from payments.models import (
    EventOutcome,
    EventSource,
    PaymentEvent,
    Refund,
    RefundOrigin,
    RefundStatus,
    Sale,
    SaleStatus,
)
from payments.reconciliation import check_pending_refunds
from payments.refunds.services import OUTSIDE_REASON, RefundRefused, refund_failure_text, request_refund
from tests.support.uploads import jpeg
from tests.support.webhooks import post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(api, sale_request, fake_xendit):
    """Sell a session through the API and pay it at Xendit; its webhook completes the sale."""

    def pay(*, source: str = "DANA") -> Sale:
        response = api.post("/api/v1/transactions", sale_request, format="json")
        assert response.status_code == 201, response.content
        sale = Sale.objects.get(external_id=response.json()["data"]["external_id"])
        payment = fake_xendit.pay(sale.xendit_qr_id, source=source)
        assert post_webhook(api, fake_xendit.payment_webhook(payment)).status_code == 200
        sale.refresh_from_db()
        assert sale.status == SaleStatus.COMPLETED
        return sale

    return pay


def refund(sale, **fields) -> Refund:
    fields.setdefault("reason", "Printer jammed, no photos")
    return request_refund(sale=sale, requested_by=None, **fields)


def settle(api, fake, refund: Refund, **how):
    return post_webhook(api, fake.settle_refund(refund.xendit_refund_id, **how))


def poll_status(api, sale) -> str:
    return api.get(f"/api/v1/transactions/external/{sale.external_id}").json()["data"]["status"]


def refund_calls(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/refunds")]


def answer_lost(fake, sale, **fields) -> Refund:
    """Xendit makes the refund but its answer comes after the client stopped waiting."""
    fake.delay = 1.5
    lost = refund(sale, **fields)
    fake.delay = 0
    deadline = time.monotonic() + 5
    while not fake.refunds and time.monotonic() < deadline:  # the fake finishes its slow answer
        time.sleep(0.05)
    return lost


def age(refund: Refund, minutes: int = 6) -> None:
    """As if the refund was asked of Xendit `minutes` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    Refund.objects.filter(pk=refund.pk).update(created_at=then, gateway_called_at=then)


# --- A full refund ---------------------------------------------------------------------------------
def test_a_full_refund_is_sent_once_and_settled_by_xendits_webhook(api, paid, fake_xendit):
    sale = paid()

    pending = refund(sale)

    assert (pending.status, pending.amount) == (RefundStatus.PENDING, Decimal(40000))
    assert pending.xendit_refund_id.startswith("qrrf_")
    [call] = refund_calls(fake_xendit)
    assert call.path == f"/qr_codes/payments/{sale.xendit_payment_id}/refunds"
    assert call.json() == {"amount": 40000, "reason": "REQUESTED_BY_CUSTOMER"}
    assert call.headers["idempotency-key"] == f"photobox-refund-{pending.pk}"
    assert poll_status(api, sale) == "COMPLETED"  # nothing changes until Xendit says it went through

    response = settle(api, fake_xendit, pending)

    assert response.json() == {"success": True, "message": "Refund updated"}
    pending.refresh_from_db()
    sale.refresh_from_db()
    assert pending.status == RefundStatus.SUCCEEDED
    assert pending.settled_at is not None
    assert (sale.status, sale.refunded_amount) == (SaleStatus.REFUNDED, Decimal(40000))
    assert poll_status(api, sale) == "REFUNDED"
    event = PaymentEvent.objects.latest("pk")
    assert (event.outcome, event.refund, event.sale) == (EventOutcome.APPLIED, pending, sale)


def test_a_duplicate_refund_webhook_is_applied_once(api, paid, fake_xendit):
    sale = paid()
    pending = refund(sale)
    settle(api, fake_xendit, pending)

    again = post_webhook(api, fake_xendit.refund_webhook(pending.xendit_refund_id))

    assert again.status_code == 200
    sale.refresh_from_db()
    assert sale.refunded_amount == Decimal(40000)
    assert PaymentEvent.objects.latest("pk").outcome == EventOutcome.DUPLICATE


def test_a_refunded_sale_takes_no_photos(api, paid, fake_xendit, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sale = paid()
    settle(api, fake_xendit, refund(sale))

    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": [jpeg()]}, format="multipart")

    assert response.status_code == 409
    assert response.json()["message"] == "Transaction was refunded"


def test_a_refunded_sale_no_longer_counts_against_its_quota(api, paid, fake_xendit, price, sale_request):
    sale = paid()
    price.quota = 1
    price.save()
    assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 422

    settle(api, fake_xendit, refund(sale))

    assert api.post("/api/v1/transactions", sale_request, format="json").status_code == 201


# --- Partial refunds and limits ----------------------------------------------------------------
def test_a_partial_refund_leaves_the_sale_paid_and_the_rest_can_follow(api, paid, fake_xendit):
    sale = paid()
    settle(api, fake_xendit, refund(sale, amount=Decimal(15000)))
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == (SaleStatus.COMPLETED, Decimal(15000))

    rest = refund(sale)

    assert rest.amount == Decimal(25000)
    settle(api, fake_xendit, rest)
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == (SaleStatus.REFUNDED, Decimal(40000))


def test_never_more_than_was_paid_less_what_is_refunded_or_pending(paid, fake_xendit):
    sale = paid()
    refund(sale, amount=Decimal(30000))  # waiting for Xendit

    with pytest.raises(RefundRefused, match=r"At most Rp 10\.000"):
        refund(sale, amount=Decimal(20000))

    assert Refund.objects.count() == 1
    assert len(refund_calls(fake_xendit)) == 1


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-5), Decimal("100.50")])
def test_an_amount_that_is_not_whole_positive_rupiah_is_refused(paid, amount):
    with pytest.raises(RefundRefused, match="whole number of rupiah"):
        refund(paid(), amount=amount)


@pytest.mark.parametrize("status", [SaleStatus.PENDING, SaleStatus.EXPIRED, SaleStatus.FAILED])
def test_an_unpaid_sale_is_never_refunded(make_sale, fake_xendit, status):
    sale = make_sale(status=status)

    with pytest.raises(RefundRefused, match="never paid"):
        refund(sale)

    assert not Refund.objects.exists()
    assert not refund_calls(fake_xendit)


def test_a_reason_is_required(paid):
    with pytest.raises(RefundRefused, match="reason is required"):
        refund(paid(), reason="  ")


def test_the_same_refund_form_sent_twice_makes_one_refund(paid, fake_xendit):
    sale = paid()

    first = refund(sale, amount=Decimal(1000), request_key="form-1")
    second = refund(sale, amount=Decimal(1000), request_key="form-1")

    assert first.pk == second.pk
    assert len(refund_calls(fake_xendit)) == 1


# --- Xendit's answers --------------------------------------------------------------------------
def test_xendits_refusal_fails_the_refund_and_says_what_to_do(paid, fake_xendit):
    sale = paid(source="GOPAY")

    refused = refund(sale)

    assert (refused.status, refused.failure_code) == (RefundStatus.FAILED, "REFUND_NOT_SUPPORTED")
    assert "GoPay" in refund_failure_text(refused)
    assert Sale.objects.get(pk=sale.pk).needs_review
    assert "another way" in refund_failure_text(refused)
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == (SaleStatus.COMPLETED, 0)
    assert refund(sale, amount=Decimal(1)).status == RefundStatus.FAILED  # a failed refund uses up nothing


def test_a_refund_that_fails_at_xendit_gives_the_amount_back_to_refund(api, paid, fake_xendit):
    sale = paid()
    pending = refund(sale)

    settle(api, fake_xendit, pending, status="FAILED", failure_code="INSUFFICIENT_BALANCE")

    pending.refresh_from_db()
    assert (pending.status, pending.failure_code) == (RefundStatus.FAILED, "INSUFFICIENT_BALANCE")
    assert "Top up" in refund_failure_text(pending)
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.needs_review  # the money is still the customer's: on staff's list until dealt with
    assert "INSUFFICIENT_BALANCE" in sale.review_reason
    assert refund(sale).amount == Decimal(40000)


def test_a_final_state_is_never_changed_by_a_contrary_report(api, paid, fake_xendit):
    sale = paid()
    pending = refund(sale)
    settle(api, fake_xendit, pending)
    contrary = fake_xendit.refund_webhook(pending.xendit_refund_id)
    contrary["data"].update(status="FAILED", failure_code="INSUFFICIENT_BALANCE")

    assert post_webhook(api, contrary).status_code == 200

    pending.refresh_from_db()
    sale.refresh_from_db()
    assert pending.status == RefundStatus.SUCCEEDED
    assert sale.status == SaleStatus.REFUNDED
    assert sale.needs_review
    assert "FAILED after SUCCEEDED" in sale.review_reason


def test_a_refund_made_in_xendits_dashboard_is_recorded_as_requested_by_xendit(api, paid, fake_xendit):
    sale = paid()

    post_webhook(api, fake_xendit.refund_outside(sale.xendit_payment_id, amount=10000))

    outside = Refund.objects.get()
    assert (outside.origin, outside.requested_by_name) == (RefundOrigin.XENDIT, "Xendit")
    assert (outside.status, outside.amount) == (RefundStatus.SUCCEEDED, Decimal(10000))
    sale.refresh_from_db()
    assert (sale.status, sale.refunded_amount) == (SaleStatus.COMPLETED, Decimal(10000))
    with pytest.raises(RefundRefused, match=r"At most Rp 30\.000"):
        refund(sale, amount=Decimal(40000))


def test_a_webhook_before_xendits_answer_settles_the_refund_it_belongs_to(api, paid, fake_xendit):
    sale = paid()
    lost = answer_lost(fake_xendit, sale)
    assert (lost.status, lost.xendit_refund_id) == (RefundStatus.PENDING, None)
    [made] = fake_xendit.refunds

    post_webhook(api, fake_xendit.settle_refund(made))

    lost.refresh_from_db()
    assert (lost.xendit_refund_id, lost.status) == (made, RefundStatus.SUCCEEDED)
    assert Refund.objects.count() == 1
    sale.refresh_from_db()
    assert sale.status == SaleStatus.REFUNDED


# --- The refund check in cron ------------------------------------------------------------------
def test_the_check_settles_a_refund_whose_webhook_was_lost(paid, fake_xendit):
    sale = paid()
    pending = refund(sale)
    fake_xendit.settle_refund(pending.xendit_refund_id)  # webhook_url unset: nothing is delivered
    age(pending)

    out = StringIO()
    call_command("check_refunds", stdout=out)

    pending.refresh_from_db()
    sale.refresh_from_db()
    assert pending.status == RefundStatus.SUCCEEDED
    assert sale.status == SaleStatus.REFUNDED
    assert "settled 1" in out.getvalue()


def test_the_check_leaves_a_fresh_refund_to_its_webhook(paid, fake_xendit):
    refund(paid())
    calls = len(fake_xendit.requests)

    report = check_pending_refunds()

    assert report.checked == 0
    assert len(fake_xendit.requests) == calls


def test_an_unconfirmed_refund_is_found_in_xendits_list_not_sent_twice(paid, fake_xendit):
    sale = paid()
    lost = answer_lost(fake_xendit, sale)
    age(lost)

    report = check_pending_refunds()

    lost.refresh_from_db()
    assert lost.xendit_refund_id in fake_xendit.refunds
    assert (report.resent, len(fake_xendit.refunds)) == (0, 1)
    assert len(refund_calls(fake_xendit)) == 1


def test_a_refund_xendit_never_got_is_sent_again_with_the_same_key(paid, fake_xendit):
    sale = paid()
    fake_xendit.fail_next = [(503, {"error_code": "SERVER_ERROR", "message": "down"})]
    unsent = refund(sale)
    assert (unsent.status, unsent.xendit_refund_id) == (RefundStatus.PENDING, None)
    age(unsent)

    report = check_pending_refunds()

    unsent.refresh_from_db()
    assert report.resent == 1
    assert unsent.xendit_refund_id in fake_xendit.refunds
    first, second = refund_calls(fake_xendit)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == f"photobox-refund-{unsent.pk}"


def test_the_check_stops_on_xendits_rate_limit(paid, fake_xendit):
    sale = paid()
    pendings = [refund(sale, amount=Decimal(1000)) for _ in range(3)]
    for pending in pendings:
        age(pending)
    fake_xendit.rate_limits = {"/qr_codes/payments": 1}
    fake_xendit.rate_limit_reset = 20
    calls = len(fake_xendit.requests)

    report = check_pending_refunds()

    assert (report.checked, report.deferred) == (1, 2)
    assert len(fake_xendit.requests) == calls + 2


# --- Extra payments ----------------------------------------------------------------------------
def test_a_double_payment_is_refunded_by_its_payment_id_and_the_sale_stays_paid(api, paid, fake_xendit):
    sale = paid()
    second = fake_xendit.pay(sale.xendit_qr_id)
    post_webhook(api, fake_xendit.payment_webhook(second))
    assert PaymentEvent.objects.latest("pk").outcome == EventOutcome.DOUBLE_PAYMENT

    extra = refund(sale, payment_id=second["id"], reason="Paid twice")
    settle(api, fake_xendit, extra)

    assert refund_calls(fake_xendit)[-1].json()["reason"] == "DUPLICATE"
    extra.refresh_from_db()
    sale.refresh_from_db()
    assert extra.status == RefundStatus.SUCCEEDED
    assert (sale.status, sale.refunded_amount) == (SaleStatus.COMPLETED, 0)
    assert refund(sale).amount == Decimal(40000)  # the sale's own payment is untouched


def test_a_payment_of_another_sale_cannot_be_refunded_from_this_one(paid):
    first, other = paid(), paid()

    with pytest.raises(RefundRefused, match="not a payment of"):
        refund(first, payment_id=other.xendit_payment_id)


# --- The command -------------------------------------------------------------------------------
def test_refund_sale_prints_the_refund(paid, fake_xendit):
    sale = paid()
    out = StringIO()

    call_command("refund_sale", sale.external_id, "--reason", "Customer asked", "--amount", "5000", stdout=out)

    made = Refund.objects.get()
    assert out.getvalue().startswith(f"refund {made.pk} ({made.xendit_refund_id}): PENDING, Rp 5.000")


def test_refund_sale_fails_in_plain_words_when_refused(paid, fake_xendit):
    sale = paid()

    with pytest.raises(CommandError, match=r"At most Rp 40\.000"):
        call_command("refund_sale", sale.external_id, "--reason", "x", "--amount", "50000", stdout=StringIO())


def test_refund_sale_fails_when_xendit_refuses(paid, fake_xendit):
    sale = paid(source="GOPAY")

    with pytest.raises(CommandError, match="does not accept refunds"):
        call_command("refund_sale", sale.external_id, "--reason", "x", stdout=StringIO())


def test_a_refund_asked_while_xendit_rate_limits_is_kept_and_sent_by_the_check(paid, fake_xendit):
    sale = paid()
    fake_xendit.fail_next = [(429, {"error_code": "RATE_LIMIT_EXCEEDED", "message": "slow down"})]

    waiting = refund(sale)

    assert (waiting.status, waiting.xendit_refund_id) == (RefundStatus.PENDING, None)
    age(waiting)
    assert check_pending_refunds().deferred == 1  # Xendit's wait is not over yet
    pause_calls(0)
    check_pending_refunds()
    waiting.refresh_from_db()
    assert waiting.xendit_refund_id in fake_xendit.refunds


def test_refund_sale_takes_digits_only(paid, fake_xendit):
    sale = paid()

    with pytest.raises(CommandError, match="digits only"):
        call_command("refund_sale", sale.external_id, "--reason", "x", "--amount", "25.000", stdout=StringIO())

    assert not Refund.objects.exists()


def test_the_check_leaves_a_refund_it_asked_about_just_now(paid, fake_xendit):
    pending = refund(paid())
    age(pending)
    check_pending_refunds()
    calls = len(fake_xendit.requests)

    report = check_pending_refunds()

    assert report.checked == 0
    assert len(fake_xendit.requests) == calls


# --- A refund made outside Photobox, as its notice states it (mutation survivors, issue 17) --------


def outside_refund(sale, amount: int):
    notice = RefundNotice(
        refund_id="rfd_outside_1", payment_id=sale.xendit_payment_id, status="SUCCEEDED", amount=Decimal(amount)
    )
    return record_and_apply(source=EventSource.RECONCILIATION, notice=notice)


def test_a_refund_made_outside_is_recorded_with_xendits_id_and_the_reason_and_logged(make_sale, caplog):
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_1", paid_amount=Decimal(40000))
    caplog.set_level(logging.WARNING, logger="payments")

    outside_refund(sale, 1)

    refund = Refund.objects.get()
    assert (refund.amount, refund.xendit_refund_id, refund.reason) == (Decimal(1), "rfd_outside_1", OUTSIDE_REASON)
    [record] = [r for r in caplog.records if r.getMessage().startswith("refund made outside")]
    assert record.getMessage() == f"refund made outside Photobox external_id={sale.external_id} refund=rfd_outside_1"
    assert record.external_id == sale.external_id


def test_a_refund_notice_of_rp_0_made_outside_is_not_recorded(make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_1", paid_amount=Decimal(40000))

    event = outside_refund(sale, 0)

    assert (Refund.objects.exists(), event.outcome) == (False, EventOutcome.IGNORED)
