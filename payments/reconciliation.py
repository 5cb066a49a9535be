"""Asking Xendit what its webhooks may not have told us: payments of sales about to expire, and of
sales the kiosk's poll expired without asking; refunds still waiting to be settled.

Xendit allows 60 calls a minute per endpoint in test mode and 600 in live mode. On its 429 a batch
stops calling until the wait it gave is over (kept in the shared cache, so every process and the
next cron run honour it) and logs one line; what it did not ask is asked on a later run.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from payments import events, transitions
from payments.gateways import GatewayError, GatewayRateLimited, GatewayRejected, get_gateway
from payments.gateways.pause import calls_paused_for, pause_calls
from payments.models import (
    UNASKED_STATUSES,
    EventOutcome,
    EventSource,
    Refund,
    RefundStatus,
    Sale,
    SaleCause,
    SaleStatus,
)
from payments.refunds import services as refunds

logger = logging.getLogger("payments")

# A refund just sent is left to its webhook for this long before the check asks about it.
REFUND_CHECK_AFTER = timedelta(minutes=5)
# At most this many sales or refunds are asked about per run and kind: the rest wait a minute.
BATCH = 200


# Sales Xendit can be asked about: not paid (yet), so the customer may have paid after all.
ASKABLE_STATUSES = (SaleStatus.PENDING, SaleStatus.FAILED, *UNASKED_STATUSES)


class CannotCheckPayment(Exception):
    """The sale cannot be checked with the gateway; the message says why, for staff."""


def _stop_for_rate_limit(job: str, exc: GatewayRateLimited, left: int) -> None:
    pause_calls(exc.retry_after)
    logger.warning(
        "Xendit rate limit: %s stopped calling for %.0f s; %s left for a later run", job, exc.retry_after, left
    )


# --- Sales -----------------------------------------------------------------------------------------
@dataclass
class ExpiryReport:
    checked: int = 0
    completed: int = 0
    expired: int = 0
    late_checked: int = 0
    late_completed: int = 0
    deferred: int = 0  # not asked: Xendit's rate limit
    check_failures: list[str] = field(default_factory=list)
    # Asked (or put off) in this run: a sale whose check failed just now waits for a later run.
    seen: set[int] = field(default_factory=set, repr=False)


def check_sale_with_gateway(*, sale: Sale) -> int:
    """Ask the gateway for payments of the sale's QR code and apply any we missed, each stored as
    an event and applied like its webhook (so one also delivered by webhook is applied once).
    Returns how many were newly applied. Raises GatewayError when the gateway cannot be asked."""
    gateway = get_gateway()
    if not gateway.reconciles or not sale.xendit_qr_id:
        return 0
    applied = 0
    for notice in gateway.list_payments(sale.xendit_qr_id):
        if notice.status != SaleStatus.COMPLETED:
            continue  # a failed or reversed payment in the list is no payment
        event = events.record_and_apply(source=EventSource.RECONCILIATION, notice=notice)
        applied += event.outcome == EventOutcome.APPLIED
    Sale.objects.filter(pk=sale.pk).update(gateway_checked_at=timezone.now())
    return applied


def _ask(sales, report: ExpiryReport, *, job: str, late: bool) -> None:
    sales = [sale for sale in sales if sale.pk not in report.seen]
    report.seen.update(sale.pk for sale in sales)
    for index, sale in enumerate(sales):
        if calls_paused_for():
            report.deferred += len(sales) - index
            return
        completed = 0
        try:
            completed = check_sale_with_gateway(sale=sale)
        except GatewayRateLimited as exc:
            _stop_for_rate_limit(job, exc, len(sales) - index)
            report.deferred += len(sales) - index
            return
        except GatewayRejected as exc:
            # Xendit will say the same next time (e.g. an unknown QR code): asked, and kept for staff.
            Sale.objects.filter(pk=sale.pk).update(gateway_checked_at=timezone.now())
            _check_failed(report, sale, exc)
        except GatewayError as exc:
            _check_failed(report, sale, exc)
        if late:
            report.late_checked += 1
            report.late_completed += completed
        else:
            report.checked += 1
            report.completed += completed


def _check_failed(report: ExpiryReport, sale: Sale, exc: GatewayError) -> None:
    logger.warning(
        "payment check failed external_id=%s error=%s",
        sale.external_id,
        exc.error_code or exc,
        extra={"external_id": sale.external_id},
    )
    report.check_failures.append(sale.external_id)


def expire_overdue_sales(*, now: datetime | None = None) -> ExpiryReport:
    """Expire every overdue PENDING sale, first asking the gateway whether it was paid; then ask
    once about sales that expired without being asked (the poll expired them) in the last
    LATE_PAYMENT_CHECK_HOURS. A payment found then completes the sale, flagged as a late payment.

    Safe to run concurrently with itself and with webhooks: payments go through the locked
    `apply_payment_notice`, and the expiry is one conditional UPDATE that skips any sale a payment
    completed in the meantime. A sale expired without being asked (the gateway could not be
    asked) is asked on a later run.
    """
    now = now or timezone.now()
    report = ExpiryReport()
    gateway = get_gateway()
    overdue = Sale.objects.filter(status=SaleStatus.PENDING, expires_at__lte=now)
    if gateway.reconciles:
        asking = overdue.exclude(xendit_qr_id="").only("pk", "external_id", "xendit_qr_id")
        _ask(asking.order_by("expires_at")[:BATCH], report, job="expire_sales", late=False)
    report.expired = len(transitions.expire(sales=overdue, cause=SaleCause.EXPIRE_SALES, now=now))
    if gateway.reconciles:
        # Past their expiry only: a cancelled sale's QR code stays payable at Xendit until then.
        unasked = Sale.objects.filter(
            status__in=UNASKED_STATUSES,
            gateway_checked_at__isnull=True,
            expires_at__gte=now - timedelta(hours=settings.LATE_PAYMENT_CHECK_HOURS),
            expires_at__lte=now,
        ).exclude(xendit_qr_id="")
        late = unasked.only("pk", "external_id", "xendit_qr_id").order_by("-expires_at")[:BATCH]
        _ask(late, report, job="expire_sales (expired sales never asked)", late=True)
    return report


def recheck_sale_payment(*, sale: Sale) -> bool:
    """Ask the gateway now whether a sale not (or no longer) awaiting payment was paid after all:
    the customer says they paid, the kiosk waits or gave up. A payment found is applied like its
    webhook. True when it completed the sale. Raises CannotCheckPayment, or GatewayError when the
    gateway cannot be asked."""
    if sale.status not in ASKABLE_STATUSES:
        raise CannotCheckPayment(f"{sale.external_id} is {sale.get_status_display().lower()}: there is nothing to ask.")
    if not get_gateway().reconciles:
        raise CannotCheckPayment("The payment simulator keeps no payment records to ask: use “Simulate payment”.")
    if not sale.xendit_qr_id:
        raise CannotCheckPayment(
            f"{sale.external_id} has no QR code at Xendit (it was never made): nobody could pay it."
        )
    return check_sale_with_gateway(sale=sale) > 0


# --- Refunds ---------------------------------------------------------------------------------------
@dataclass
class RefundCheckReport:
    checked: int = 0
    settled: int = 0
    resent: int = 0
    deferred: int = 0
    failures: list[int] = field(default_factory=list)


def check_pending_refunds(*, now: datetime | None = None) -> RefundCheckReport:
    """Settle PENDING refunds whose webhook did not come: ask Xendit for each refund it accepted;
    for one it never confirmed, look for it in the payment's refunds first and send it again
    (same idempotency key) only when Xendit has none, so it is never made twice."""
    now = now or timezone.now()
    report = RefundCheckReport()
    gateway = get_gateway()
    if not gateway.reconciles:
        return report
    due = list(
        Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=now - REFUND_CHECK_AFTER)
        .select_related("sale")
        .order_by("created_at")[:BATCH]
    )
    for index, refund in enumerate(due):
        if calls_paused_for():
            report.deferred += len(due) - index
            break
        try:
            report.checked += _check_refund(refund, report)
        except GatewayRateLimited as exc:
            _stop_for_rate_limit("the refund check", exc, len(due) - index)
            report.deferred += len(due) - index
            break
        except GatewayError as exc:
            logger.warning("refund check failed refund=%s error=%s", refund.pk, exc.error_code or exc)
            report.failures.append(refund.pk)
    return report


def _check_refund(refund: Refund, report: RefundCheckReport) -> bool:
    """Ask Xendit about one refund; False when another run has it (or asked it just now)."""
    gateway = get_gateway()
    now = timezone.now()
    # Claimed with a conditional UPDATE: overlapping runs (cron on several instances) never ask
    # about, or send again, the same refund at once; and it rests REFUND_CHECK_AFTER between asks.
    claimed = (
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING)
        .filter(Q(gateway_called_at__isnull=True) | Q(gateway_called_at__lte=now - REFUND_CHECK_AFTER))
        .update(gateway_called_at=now)
    )
    if not claimed:
        return False
    if refund.xendit_refund_id:
        notice = gateway.get_refund(payment_id=refund.payment_id, refund_id=refund.xendit_refund_id)
        if notice.status in refunds.FINAL:
            events.record_and_apply(source=EventSource.RECONCILIATION, notice=notice)
            report.settled += 1
        return True
    known = set(
        Refund.objects.filter(payment_id=refund.payment_id, xendit_refund_id__isnull=False).values_list(
            "xendit_refund_id", flat=True
        )
    )
    for notice in gateway.list_refunds(payment_id=refund.payment_id):
        if notice.refund_id not in known and notice.amount == refund.amount:
            # Ours, its answer lost: applying it adopts our refund (same payment and amount).
            events.record_and_apply(source=EventSource.RECONCILIATION, notice=notice)
            report.settled += notice.status in refunds.FINAL
            return True
    sent = refunds.send_refund(refund=refund, pays_the_sale=refund.payment_id == refund.sale.xendit_payment_id)
    report.resent += 1
    report.settled += sent.status != RefundStatus.PENDING
    return True
