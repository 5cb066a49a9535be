"""The sale and its payment, as the kiosk and staff ask for them: making a sale, failing it when
the gateway cannot make its QR code, cancelling and lazily expiring it, and staff's review notes.

Status changes themselves are `transitions` (one function each, each writing a history row).
Payment notices are applied in `completion` (reached through `events`), refunds in `refunds`, what
is asked of Xendit in `reconciliation`, the simulator's payments in `simulation`.
"""

import logging
import math
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import errors
from core.formats import JAKARTA
from core.sql import update_rows
from locations.models import Location
from locations.services import active_location
from payments import transitions
from payments.gateways import GatewayError, GatewayRateLimited, GatewayRejected, GatewayTimeout, get_gateway
from payments.models import (
    PAID_STATUSES,
    PaymentEvent,
    ReviewNote,
    Sale,
    SaleCause,
    SaleReview,
    SaleStatus,
)
from pricing import vouchers
from pricing.selectors import overdue_filter
from pricing.services import QuotaExceeded, explain_refusal, lock_price_for_sale, place_taking_sql

logger = logging.getLogger("payments")


# --- Errors the kiosk sees ------------------------------------------------------------------
class GatewayRefusedSale(errors.Refused):
    def __init__(self, error_code: str):
        super().__init__("Payment gateway rejected the request", details={"error_code": error_code})


class GatewayUnavailableForSale(errors.Unavailable):
    def __init__(self, *, retry_after: float | None = None):
        # Xendit's rate limit: the kiosk may offer a retry once its window is over.
        wait = math.ceil(retry_after) if retry_after is not None else None
        details = {"retry_after": wait} if wait is not None else None
        super().__init__("Payment gateway unavailable", details=details, retry_after=wait)


# --- Creating a sale ------------------------------------------------------------------------
def new_external_id(*, location_id: int, now: datetime) -> str:
    stamp = now.astimezone(JAKARTA).strftime("%Y%m%d%H%M%S")
    return f"TRX-{location_id}-{stamp}-{secrets.token_hex(4).upper()}"


def create_sale(
    *,
    location_id: int,
    price_id,
    email: str,
    send_invoice: bool,
    voucher_code: str | None = None,
    kiosk_location: Location | None = None,
) -> Sale:
    """Check the machine, reserve quota, redeem the voucher, record the sale, then ask the gateway
    for its QRIS code; or, when the voucher leaves nothing to pay, complete it at once (a free
    session: no QR code, never sent to the gateway).

    The checks run in this order and the first failure wins: the machine (unknown, inactive, out of
    service; locations.services.active_location), then the price (unknown, inactive, not offered at this
    machine, its quota used up; pricing.services.lock_price_for_sale), then
    the voucher (pricing.vouchers.redeem), counted under its row lock like the quota. A quota
    counts as used up only once the price's overdue unpaid sales are expired (below).
    The gateway call happens after the commit and outside any transaction: a slow gateway must not
    hold the price lock, and a late payment must find the sale even if the call times out.
    `kiosk_location`: the machine as the request's kiosk key found it (locations.services.find_active_key
    reads it with its heartbeat), so it is not read again.
    """
    location = active_location(location_id, selling=True, read=kiosk_location)
    now = timezone.now()

    def record() -> Sale:
        return _record_sale(
            location=location,
            price_id=price_id,
            email=email,
            send_invoice=send_invoice,
            voucher_code=voucher_code,
            now=now,
        )

    try:
        sale = record()
    except QuotaExceeded:
        # The price's count still holds sales past their expiry that nobody expired yet (cron runs
        # every minute): the customer must not be refused for them. They are expired first (under
        # their row locks, taken before the price's, the order every transition takes), then the
        # sale is tried once more. Only on this rare path: a price with quota left never looks at
        # its other sales.
        overdue = Sale.objects.filter(overdue_filter(now), price_id=price_id)
        if not transitions.expire(sales=overdue, cause=SaleCause.QUOTA_FULL, now=now):
            raise
        sale = record()
    logger.info(
        "sale created external_id=%s amount=%s voucher=%s",
        sale.external_id,
        sale.amount,
        sale.voucher_code or "-",
        extra={"external_id": sale.external_id},
    )
    if sale.is_free_session:
        return sale

    try:
        qr = get_gateway().create_qr_code(reference_id=sale.external_id, amount=sale.amount, expires_at=sale.expires_at)
    except GatewayTimeout:
        # Xendit may have made a QR code, but nobody can pay it: its string never reached the
        # kiosk. Fail the sale so its quota is free at once; should a payment arrive anyway, it
        # still finds the sale by its reference and completes it, flagged for review.
        fail_sale(sale=sale, reason="QR create timed out")
        raise GatewayUnavailableForSale() from None
    except GatewayRateLimited as exc:
        fail_sale(sale=sale, reason="Xendit's rate limit")
        raise GatewayUnavailableForSale(retry_after=exc.retry_after) from None
    except GatewayRejected as exc:
        fail_sale(sale=sale, reason=f"Gateway refused the QR code: {exc.error_code}")
        raise GatewayRefusedSale(exc.error_code) from None
    except GatewayError as exc:
        fail_sale(sale=sale, reason=f"Gateway unavailable: {exc.error_code or exc}")
        raise GatewayUnavailableForSale() from None

    # Not a state change: the QR fields are data, stored whatever the status has become meanwhile.
    qr_fields = {"xendit_qr_id": qr.id, "qr_string": qr.qr_string, "updated_at": timezone.now()}
    update_rows(Sale, where={"id": sale.pk}, values=qr_fields)
    sale.xendit_qr_id, sale.qr_string = qr.id, qr.qr_string
    return sale


def _record_sale(
    *, location: Location, price_id, email: str, send_invoice: bool, voucher_code: str | None, now: datetime
) -> Sale:
    """The sale, PENDING (or a free session, COMPLETED), in one transaction with its place of quota
    and its voucher's use; raises the price's or the voucher's refusal, changing nothing."""
    if not voucher_code and connection.vendor == "postgresql":
        return _start_without_voucher(
            location=location, price_id=price_id, email=email, send_invoice=send_invoice, now=now
        )
    with transaction.atomic():
        price = lock_price_for_sale(price_id=price_id, location_id=location.pk)
        voucher, discount = None, Decimal(0)
        if voucher_code:
            voucher = vouchers.lock_voucher(code=voucher_code)
            discount = vouchers.redeem(
                voucher=voucher,
                price=price,
                location_id=location.pk,
                now=now,
                used_by_email=voucher.one_per_email and _email_holds_voucher(email=email, voucher_id=voucher.pk),
            )
        sale = Sale.objects.create(
            external_id=new_external_id(location_id=location.pk, now=now),
            location=location,
            price=price,
            list_price=price.amount,
            discount=discount,
            amount=price.amount - discount,
            voucher=voucher,
            voucher_code=voucher.code if voucher else "",
            email=email,
            send_invoice=send_invoice,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.SALE_EXPIRY_MINUTES),
        )
        transitions.start(sale=sale, actor_text=location.machine_code)
        if sale.amount == 0:
            transitions.complete_free(sale=sale, now=now)
    return sale


def _start_without_voucher(*, location: Location, price_id, email: str, send_invoice: bool, now: datetime) -> Sale:
    """`_record_sale`'s common case in one statement and no transaction block (the kiosk's busiest
    write): its place of quota, the sale at the list price, its first history row
    (payments.transitions.start_taking_its_place). A refusal is explained as `_record_sale`'s is."""
    sale = Sale(
        external_id=new_external_id(location_id=location.pk, now=now),
        location=location,
        price_id=price_id,
        email=email,
        send_invoice=send_invoice,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.SALE_EXPIRY_MINUTES),
    )
    for last_try in (False, True):
        place = place_taking_sql(price_id=price_id, location_id=location.pk)
        if transitions.start_taking_its_place(sale=sale, place=place, actor_text=location.machine_code):
            return sale
        explain_refusal(price_id=price_id, location_id=location.pk, last_try=last_try)
    raise AssertionError("explain_refusal raises on the last try")


def _email_holds_voucher(*, email: str, voucher_id: int) -> bool:
    """This customer email already has a sale holding the voucher (awaiting payment, or paid)."""
    return (
        Sale.objects.filter(voucher_id=voucher_id, email__iexact=email)
        .exclude(status__in=transitions.ENDED_UNPAID)
        .exists()
    )


def fail_sale(*, sale: Sale, reason: str) -> bool:
    """PENDING -> FAILED because the gateway could not make the sale's QR code (`reason`, logged)."""
    failed = transitions.fail(sale=sale, cause=SaleCause.GATEWAY_ERROR)
    if failed:
        logger.warning(
            "sale failed external_id=%s reason=%s", sale.external_id, reason, extra={"external_id": sale.external_id}
        )
    return failed


# --- Cancelling -----------------------------------------------------------------------------
class SaleAlreadyEnded(errors.Conflict):
    def __init__(self, sale: Sale):
        ended = "paid" if sale.status in PAID_STATUSES else sale.status.lower()
        super().__init__(
            f"Transaction already {ended}", details={"external_id": sale.external_id, "status": sale.status}
        )


def cancel_sale(*, sale: Sale) -> Sale:
    """PENDING -> CANCELLED: the kiosk gives the sale up (the customer walked away), freeing its
    quota at once. Cancelling again is a no-op; a sale that ended otherwise raises SaleAlreadyEnded.
    Xendit's QR code stays payable until it expires: a payment that still comes completes the
    sale, flagged for review, and expire_sales asks Xendit about the sale once after its expiry."""
    cancelled = transitions.cancel(sale=sale)
    sale.refresh_from_db(fields=["status", "paid_at", "updated_at"])
    if cancelled:
        logger.info("sale cancelled external_id=%s", sale.external_id, extra={"external_id": sale.external_id})
    elif sale.status != SaleStatus.CANCELLED:
        raise SaleAlreadyEnded(sale)
    return sale


# --- Expiry ---------------------------------------------------------------------------------
def expire_if_overdue(*, sale: Sale, now: datetime | None = None, cause: str = SaleCause.KIOSK_POLL) -> Sale:
    """Lazily expire a PENDING sale past its expiry (the kiosk's poll and QR code)."""
    now = now or timezone.now()
    if sale.status != SaleStatus.PENDING or sale.expires_at > now:
        return sale
    if transitions.expire(sales=Sale.objects.filter(pk=sale.pk, expires_at__lte=now), cause=cause, now=now):
        sale.status = SaleStatus.EXPIRED
        logger.info("sale expired external_id=%s", sale.external_id, extra={"external_id": sale.external_id})
    else:
        # A payment won the race: report what is stored.
        sale.refresh_from_db(fields=["status", "paid_at", "updated_at"])
    return sale


# --- Staff: payment problems --------------------------------------------------------------
class NothingToResolve(Exception):
    """The sale or payment is not (or no longer) waiting for staff: someone else may have resolved it."""


def resolve_review(*, sale: Sale, note: str, user) -> ReviewNote:
    """Close a sale's payment problem with staff's note of what was done.

    The note is kept as a ReviewNote with the sale (with the problem as it stood); the sale's open
    reviews point to it and the sale leaves the review list. Under the sale's row lock, so two
    staff resolving at once record one note, and a payment webhook arriving meanwhile waits (a
    problem it raises afterwards flags the sale again).
    """
    note = note.strip()
    if not note:
        raise ValueError("A note is required: say what was done.")
    with transaction.atomic():
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
        if not locked.needs_review:
            raise NothingToResolve(f"{locked.external_id} is not waiting for review.")
        open_reviews = locked.reviews.filter(resolution__isnull=True)
        problem = "\n".join(open_reviews.values_list("reason", flat=True))
        resolution = ReviewNote.objects.create(sale=locked, problem=problem, note=note, resolved_by=user)
        if not open_reviews.update(resolution=resolution):
            # Flagged without a reason (by hand, in the database): the note still needs a review to
            # hang on, or the sale's history (which reads notes through reviews) would not show it.
            SaleReview.objects.create(sale=locked, reason="", resolution=resolution)
        locked.needs_review = False
        locked.save(update_fields=["needs_review", "updated_at"])
    sale.needs_review = False
    logger.info(
        "review resolved external_id=%s by=%s",
        locked.external_id,
        getattr(user, "pk", None),
        extra={"external_id": locked.external_id},
    )
    return resolution


def resolve_unmatched_payment(*, event: PaymentEvent, note: str, user) -> ReviewNote:
    """Record what staff did about a payment that matched no sale (e.g. refunded it), so it leaves
    the problem list. The event itself stays as received."""
    note = note.strip()
    if not note:
        raise ValueError("A note is required: say what was done.")
    with transaction.atomic():
        locked = PaymentEvent.objects.select_for_update().get(pk=event.pk)
        if not locked.is_open_unmatched:
            raise NothingToResolve("This payment is not an open unmatched payment.")
        resolution = ReviewNote.objects.create(
            payment_event=locked, problem=locked.outcome_detail, note=note, resolved_by=user
        )
        locked.reviewed_at = resolution.resolved_at
        locked.save(update_fields=["reviewed_at"])
    event.reviewed_at = locked.reviewed_at
    return resolution
