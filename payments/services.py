"""The sale and its payment: every state change of a `Transaction` happens here.

States: PENDING -> COMPLETED | FAILED | EXPIRED. Each change runs under a row lock or as a
conditional UPDATE, and changing into the state a sale already has is a no-op. One exception
protects money: a successful payment for a sale already EXPIRED (or FAILED) is applied and
flagged for review, because the customer paid.
"""

import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status as http_status

from locations.models import Location
from payments.gateways import GatewayError, GatewayRejected, GatewayTimeout, get_gateway
from payments.gateways.xendit import SUCCESSFUL_PAYMENT_STATUSES, parse_amount, parse_timestamp
from payments.models import EventOutcome, EventSource, PaymentEvent, ReviewNote, SaleStatus, Transaction
from photobox.api import JAKARTA, ApiError
from photobox.formatting import rupiah
from pricing.services import lock_price_for_sale

logger = logging.getLogger("payments")


# --- Errors the kiosk sees ------------------------------------------------------------------
class GatewayRefusedSale(ApiError):
    status_code = http_status.HTTP_502_BAD_GATEWAY

    def __init__(self, error_code: str):
        super().__init__("Payment gateway rejected the request", details={"error_code": error_code})


class GatewayUnavailableForSale(ApiError):
    status_code = http_status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self):
        super().__init__("Payment gateway unavailable")


class SimulatorDisabled(ApiError):
    status_code = http_status.HTTP_409_CONFLICT

    def __init__(self):
        super().__init__("Payments can only be simulated when PAYMENT_GATEWAY=simulator")


# --- Creating a sale ------------------------------------------------------------------------
def new_external_id(*, location_id: int, now: datetime) -> str:
    stamp = now.astimezone(JAKARTA).strftime("%Y%m%d%H%M%S")
    return f"TRX-{location_id}-{stamp}-{secrets.token_hex(4).upper()}"


def create_sale(*, location: Location, price_id, email: str, send_invoice: bool) -> Transaction:
    """Reserve quota, record the sale, then ask the gateway for its QRIS code.

    The gateway call happens after the commit and outside any transaction: a slow gateway must not
    hold the price lock, and a late payment must find the sale even if the call times out.
    """
    now = timezone.now()
    with transaction.atomic():
        price = lock_price_for_sale(price_id=price_id, now=now)
        sale = Transaction.objects.create(
            external_id=new_external_id(location_id=location.pk, now=now),
            location=location,
            price=price,
            amount=price.amount,
            email=email,
            send_invoice=send_invoice,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.SALE_EXPIRY_MINUTES),
        )
    logger.info(
        "sale created external_id=%s amount=%s", sale.external_id, sale.amount, extra={"external_id": sale.external_id}
    )

    try:
        qr = get_gateway().create_qr_code(reference_id=sale.external_id, amount=sale.amount, expires_at=sale.expires_at)
    except GatewayTimeout:
        # Xendit may have made a QR code, but nobody can pay it: its string never reached the
        # kiosk. Fail the sale so its quota is free at once; should a payment arrive anyway, it
        # still finds the sale by its reference and completes it, flagged for review.
        fail_sale(sale=sale, reason="QR create timed out")
        raise GatewayUnavailableForSale() from None
    except GatewayRejected as exc:
        fail_sale(sale=sale, reason=f"Gateway refused the QR code: {exc.error_code}")
        raise GatewayRefusedSale(exc.error_code) from None
    except GatewayError as exc:
        fail_sale(sale=sale, reason=f"Gateway unavailable: {exc.error_code or exc}")
        raise GatewayUnavailableForSale() from None

    # Not a state change: the QR fields are data, stored whatever the status has become meanwhile.
    Transaction.objects.filter(pk=sale.pk).update(xendit_qr_id=qr.id, qr_string=qr.qr_string, updated_at=timezone.now())
    sale.xendit_qr_id, sale.qr_string = qr.id, qr.qr_string
    return sale


def fail_sale(*, sale: Transaction, reason: str) -> bool:
    updated = Transaction.objects.filter(pk=sale.pk, status=SaleStatus.PENDING).update(
        status=SaleStatus.FAILED, updated_at=timezone.now()
    )
    if updated:
        sale.status = SaleStatus.FAILED
        logger.warning(
            "sale failed external_id=%s reason=%s", sale.external_id, reason, extra={"external_id": sale.external_id}
        )
    return bool(updated)


# --- Expiry ---------------------------------------------------------------------------------
def expire_if_overdue(*, sale: Transaction, now: datetime | None = None) -> Transaction:
    """Lazily expire a PENDING sale past its expiry (the poll endpoint)."""
    now = now or timezone.now()
    if sale.status != SaleStatus.PENDING or sale.expires_at > now:
        return sale
    updated = Transaction.objects.filter(pk=sale.pk, status=SaleStatus.PENDING, expires_at__lte=now).update(
        status=SaleStatus.EXPIRED, updated_at=now
    )
    if updated:
        sale.status = SaleStatus.EXPIRED
        logger.info("sale expired external_id=%s", sale.external_id, extra={"external_id": sale.external_id})
    else:
        # A payment won the race: report what is stored.
        sale.refresh_from_db(fields=["status", "paid_at", "updated_at"])
    return sale


@dataclass
class ExpiryReport:
    checked: int = 0
    completed: int = 0
    expired: int = 0
    check_failures: list[str] = field(default_factory=list)


def expire_overdue_sales(*, now: datetime | None = None) -> ExpiryReport:
    """Expire every overdue PENDING sale, first asking the gateway whether it was paid.

    Safe to run concurrently with itself and with webhooks: payments go through the locked
    `apply_payment_event`, and the expiry is one conditional UPDATE that skips any sale a payment
    completed in the meantime.
    """
    now = now or timezone.now()
    report = ExpiryReport()
    gateway = get_gateway()
    overdue = Transaction.objects.filter(status=SaleStatus.PENDING, expires_at__lte=now)
    if gateway.reconciles:
        for sale in overdue.exclude(xendit_qr_id="").only("pk", "external_id", "xendit_qr_id").iterator():
            report.checked += 1
            try:
                report.completed += check_sale_with_gateway(sale=sale)
            except GatewayError as exc:
                # Expire anyway: a late webhook still completes an EXPIRED sale (flagged for review).
                logger.warning(
                    "payment check failed external_id=%s error=%s",
                    sale.external_id,
                    exc.error_code or exc,
                    extra={"external_id": sale.external_id},
                )
                report.check_failures.append(sale.external_id)
    report.expired = overdue.update(status=SaleStatus.EXPIRED, updated_at=now)
    return report


def check_sale_with_gateway(*, sale: Transaction) -> int:
    """Ask the gateway for payments of the sale's QR code and apply any we missed.

    Each payment found is stored as a PaymentEvent and applied like a webhook, so a payment that
    also arrives by webhook is applied once. Returns how many payments were newly applied.
    Raises GatewayError when the gateway cannot be asked.
    """
    gateway = get_gateway()
    if not gateway.reconciles or not sale.xendit_qr_id:
        return 0
    applied = 0
    for payment in gateway.list_payments(sale.xendit_qr_id):
        if payment.status != SaleStatus.COMPLETED:
            continue
        # Stored in the 2022-07-31 webhook shape, built from the client's normalised payment (the
        # listing's own shape is undocumented and may be the legacy one), with the raw item kept.
        data = {
            "id": payment.id,
            "qr_id": payment.qr_id or sale.xendit_qr_id,
            "reference_id": payment.reference_id or sale.external_id,
            "amount": str(payment.amount),
            "status": "SUCCEEDED",
            "created": payment.paid_at.isoformat() if payment.paid_at else None,
            "payment_detail": {"source": payment.channel, "receipt_id": payment.receipt_id},
        }
        event = record_payment_event(
            source=EventSource.RECONCILIATION,
            headers={},
            body=json.dumps(
                {"event": "qr.payment", "api_version": "2022-07-31", "data": data, "listed": payment.raw}
            ).encode(),
        )
        if process_payment_event(event).outcome == EventOutcome.APPLIED:
            applied += 1
    return applied


# --- Payment notifications ------------------------------------------------------------------
class InvalidNotice(Exception):
    pass


@dataclass(frozen=True)
class PaymentNotice:
    """A payment notification in any of the shapes Xendit (or the seed) sends, normalised."""

    shape: str
    reference: str  # our external id
    qr_id: str
    payment_id: str
    status: str  # COMPLETED, FAILED, EXPIRED or whatever else was reported
    amount: Decimal | None
    paid_at: datetime | None
    channel: str
    receipt_id: str
    event: str = ""


def _text(value, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; payload strings come from the outside world.
    return str(value).replace("\x00", "")[:limit] if value is not None else ""


def parse_payment_notice(payload) -> PaymentNotice:
    if not isinstance(payload, dict):
        raise InvalidNotice("The body must be a JSON object")
    data = payload.get("data")
    if isinstance(data, dict):
        detail = data.get("payment_detail") or {}
        detail = detail if isinstance(detail, dict) else {}
        status = _text(data.get("status"), 30).upper()
        return PaymentNotice(
            shape="2022-07-31",
            event=_text(payload.get("event"), 50),
            reference=_text(data.get("reference_id"), 200),
            qr_id=_text(data.get("qr_id"), 100),
            payment_id=_text(data.get("id"), 100),
            status="COMPLETED" if status in SUCCESSFUL_PAYMENT_STATUSES else status,
            amount=parse_amount(data.get("amount")),
            paid_at=parse_timestamp(data.get("created")),
            channel=_text(detail.get("source") or data.get("channel_code"), 50),
            receipt_id=_text(detail.get("receipt_id"), 100),
        )
    qr_code = payload.get("qr_code")
    if isinstance(qr_code, dict):
        detail = payload.get("payment_details") or payload.get("payment_detail") or {}
        detail = detail if isinstance(detail, dict) else {}
        status = _text(payload.get("status"), 30).upper()
        return PaymentNotice(
            shape="legacy",
            event=_text(payload.get("event"), 50),
            reference=_text(qr_code.get("external_id"), 200),
            qr_id=_text(qr_code.get("id"), 100),
            payment_id=_text(payload.get("id"), 100),
            status="COMPLETED" if status in SUCCESSFUL_PAYMENT_STATUSES else status,
            amount=parse_amount(payload.get("amount")),
            paid_at=parse_timestamp(payload.get("created")),
            channel=_text(detail.get("source"), 50),
            receipt_id=_text(detail.get("receipt_id"), 100),
        )
    if "external_id" in payload and "status" in payload:
        status = _text(payload.get("status"), 30).upper()
        if status not in (SaleStatus.COMPLETED, SaleStatus.FAILED, SaleStatus.EXPIRED):
            raise InvalidNotice("status must be COMPLETED, FAILED or EXPIRED")
        if not isinstance(payload.get("external_id"), str) or not payload["external_id"]:
            raise InvalidNotice("external_id must be a non-empty string")
        return PaymentNotice(
            shape="flat",
            reference=_text(payload["external_id"], 200),
            qr_id="",
            payment_id=_text(payload.get("xendit_id"), 100),
            status=status,
            amount=parse_amount(payload.get("amount")),
            paid_at=None,
            channel="",
            receipt_id="",
        )
    raise InvalidNotice("Not a QR payment notification (expected Xendit's qr.payment or {external_id, status})")


SECRET_HEADERS = {"x-callback-token", "authorization", "cookie"}


def record_payment_event(
    *, source: str, headers: dict[str, str], body: bytes, remote_addr: str | None = None
) -> PaymentEvent:
    """Store a notification exactly as received, before anything is decided about it."""
    safe_headers = {_text(k, 100): _text(v, 1000) for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    return PaymentEvent.objects.create(
        source=source,
        headers=safe_headers,
        body=body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        remote_addr=remote_addr or None,
        webhook_id=_text(headers.get("webhook-id") or headers.get("Webhook-Id"), 200),
    )


def reject_payment_event(*, event: PaymentEvent, reason: str) -> None:
    PaymentEvent.objects.filter(pk=event.pk).update(
        outcome=EventOutcome.REJECTED, outcome_detail=reason, processed_at=timezone.now()
    )


def _storable_amount(amount: Decimal | None) -> Decimal | None:
    """The reported amount as the event's column holds it (15 digits, 2 after the point), or None
    when it cannot (the raw body keeps it; the amount check still sees the real value)."""
    field = PaymentEvent._meta.get_field("amount")
    if amount is None or abs(amount) >= Decimal(10) ** (field.max_digits - field.decimal_places):
        return None
    return amount.quantize(Decimal(1).scaleb(-field.decimal_places), rounding=ROUND_HALF_UP)


def process_payment_event(event: PaymentEvent) -> PaymentEvent:
    """Parse a stored notification and apply it; the outcome is kept on the event."""
    try:
        payload = json.loads(event.body)
        notice = parse_payment_notice(payload)
    except (ValueError, InvalidNotice) as exc:
        _finish_event(event, EventOutcome.INVALID, str(exc))
        return event
    event.shape, event.reference, event.xendit_payment_id = notice.shape, notice.reference, notice.payment_id
    event.reported_status, event.amount = notice.status, _storable_amount(notice.amount)
    try:
        with transaction.atomic():
            outcome, detail = apply_payment_notice(event=event, notice=notice)
    except Exception as exc:
        logger.exception(
            "payment event %s failed reference=%s",
            event.pk,
            notice.reference,
            extra={"external_id": notice.reference or None},
        )
        _finish_event(event, EventOutcome.ERROR, f"{type(exc).__name__}: {exc}")
        raise
    _finish_event(event, outcome, detail)
    return event


def _finish_event(event: PaymentEvent, outcome: str, detail: str) -> None:
    event.outcome, event.outcome_detail, event.processed_at = outcome, detail, timezone.now()
    event.save(
        update_fields=[
            "shape",
            "reference",
            "xendit_payment_id",
            "reported_status",
            "amount",
            "transaction",
            "outcome",
            "outcome_detail",
            "processed_at",
        ]
    )


def _locked_sale(notice: PaymentNotice) -> Transaction | None:
    locked = Transaction.objects.select_for_update()
    sale = locked.filter(external_id=notice.reference).first() if notice.reference else None
    if sale is None and notice.qr_id:
        sale = locked.filter(xendit_qr_id=notice.qr_id).first()
    return sale


def _flag_for_review(sale: Transaction, reason: str) -> None:
    if reason not in sale.review_reason:
        sale.review_reason = f"{sale.review_reason}\n{reason}".strip()
    sale.needs_review = True


def _rupiah(amount: Decimal | None) -> str:
    return "unknown" if amount is None else rupiah(amount)


def apply_payment_notice(*, event: PaymentEvent, notice: PaymentNotice) -> tuple[str, str]:
    """Apply a notification to its sale under the sale's row lock. Call inside a transaction.

    Xendit retries until it gets a 2xx and may deliver the same payment several times, in any
    order, even after the QR code expired: duplicates are recognised by the payment id.
    """
    sale = _locked_sale(notice)
    if sale is None:
        return EventOutcome.UNKNOWN_SALE, f"No sale with reference {notice.reference!r} or QR id {notice.qr_id!r}"
    event.transaction = sale
    now = timezone.now()

    if notice.status in (SaleStatus.FAILED, SaleStatus.EXPIRED):
        if sale.status != SaleStatus.PENDING:
            return EventOutcome.IGNORED, f"Sale is already {sale.status}"
        sale.status = notice.status
        sale.save(update_fields=["status", "updated_at"])
        logger.info(
            "sale %s by notice external_id=%s",
            notice.status.lower(),
            sale.external_id,
            extra={"external_id": sale.external_id},
        )
        return EventOutcome.APPLIED, f"PENDING -> {notice.status}"

    if notice.status != SaleStatus.COMPLETED:
        return EventOutcome.IGNORED, f"Status {notice.status or '(none)'} is not a successful payment"

    if notice.payment_id and sale.xendit_payment_id == notice.payment_id:
        return EventOutcome.DUPLICATE, f"Payment {notice.payment_id} was already applied"
    if sale.status == SaleStatus.COMPLETED:
        if notice.payment_id and sale.xendit_payment_id:
            _flag_for_review(sale, f"Second payment {notice.payment_id} received for an already paid sale (refund?)")
            sale.save(update_fields=["needs_review", "review_reason", "updated_at"])
            logger.warning(
                "double payment external_id=%s payment=%s",
                sale.external_id,
                notice.payment_id,
                extra={"external_id": sale.external_id},
            )
            return EventOutcome.DOUBLE_PAYMENT, "Sale was already paid by another payment"
        return EventOutcome.DUPLICATE, "Sale was already paid"
    if notice.amount is not None and notice.amount != sale.amount:
        _flag_for_review(
            sale,
            f"Amount mismatch: payment {notice.payment_id or '(no id)'} of {_rupiah(notice.amount)} "
            f"for a sale of {_rupiah(sale.amount)}",
        )
        sale.save(update_fields=["needs_review", "review_reason", "updated_at"])
        logger.warning(
            "amount mismatch external_id=%s paid=%s expected=%s",
            sale.external_id,
            notice.amount,
            sale.amount,
            extra={"external_id": sale.external_id},
        )
        return EventOutcome.AMOUNT_MISMATCH, f"Paid {notice.amount}, expected {sale.amount}; sale not completed"

    previous = sale.status
    if previous != SaleStatus.PENDING:
        _flag_for_review(
            sale, f"Paid after the sale was marked {previous} (payment {notice.payment_id or 'without id'})"
        )
    sale.status = SaleStatus.COMPLETED
    sale.paid_at = notice.paid_at if notice.paid_at and notice.paid_at <= now else now
    sale.xendit_payment_id = notice.payment_id or None
    sale.payment_channel, sale.payment_receipt_id = notice.channel, notice.receipt_id
    try:
        with transaction.atomic():
            sale.save(
                update_fields=[
                    "status",
                    "paid_at",
                    "xendit_payment_id",
                    "payment_channel",
                    "payment_receipt_id",
                    "needs_review",
                    "review_reason",
                    "updated_at",
                ]
            )
    except IntegrityError:
        # The payment id is already on another sale: never apply one payment twice.
        return EventOutcome.DOUBLE_PAYMENT, f"Payment {notice.payment_id} already belongs to another sale"
    logger.info(
        "sale completed external_id=%s payment=%s previous=%s",
        sale.external_id,
        notice.payment_id,
        previous,
        extra={"external_id": sale.external_id},
    )
    return EventOutcome.APPLIED, f"{previous} -> COMPLETED"


# --- Simulator ------------------------------------------------------------------------------
def simulate_payment(*, sale: Transaction, amount: Decimal | None = None) -> PaymentEvent:
    """Pay a sale through the simulator, along the same path as a real Xendit webhook."""
    if settings.PAYMENT_GATEWAY != "simulator":
        raise SimulatorDisabled()
    payment = {
        "id": f"qrpy_sim_{uuid.uuid4()}",
        "currency": "IDR",
        "amount": int(sale.amount if amount is None else amount),
        "status": "SUCCEEDED",
        "created": timezone.now().isoformat(),
        "qr_id": sale.xendit_qr_id,
        "reference_id": sale.external_id,
        "type": "DYNAMIC",
        "channel_code": "SIMULATOR",
        "payment_detail": {"receipt_id": secrets.token_hex(6), "source": "SIMULATOR"},
    }
    body = json.dumps({"event": "qr.payment", "api_version": "2022-07-31", "data": payment}).encode()
    event = record_payment_event(source=EventSource.SIMULATOR, headers={}, body=body)
    return process_payment_event(event)


# --- Staff: payment problems --------------------------------------------------------------
class NothingToResolve(Exception):
    """The sale or payment is not (or no longer) waiting for staff: someone else may have resolved it."""


class EventNotReprocessable(Exception):
    """This stored payment event must not be applied again; the message says why, for staff."""


def resolve_review(*, sale: Transaction, note: str, user) -> ReviewNote:
    """Close a sale's payment problem with staff's note of what was done.

    The problem text and the note are kept as a ReviewNote with the sale; the sale leaves the
    review list. Under the sale's row lock, so two staff resolving at once record one note, and a
    payment webhook arriving meanwhile waits (a problem it raises afterwards flags the sale again).
    """
    note = note.strip()
    if not note:
        raise ValueError("A note is required: say what was done.")
    with transaction.atomic():
        locked = Transaction.objects.select_for_update().get(pk=sale.pk)
        if not locked.needs_review:
            raise NothingToResolve(f"{locked.external_id} is not waiting for review.")
        resolution = ReviewNote.objects.create(sale=locked, problem=locked.review_reason, note=note, resolved_by=user)
        locked.needs_review, locked.review_reason = False, ""
        locked.save(update_fields=["needs_review", "review_reason", "updated_at"])
    sale.needs_review, sale.review_reason = False, ""
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
        if locked.outcome != EventOutcome.UNKNOWN_SALE or locked.reviewed_at is not None:
            raise NothingToResolve("This payment is not an open unmatched payment.")
        resolution = ReviewNote.objects.create(
            payment_event=locked, problem=locked.outcome_detail, note=note, resolved_by=user
        )
        locked.reviewed_at = resolution.resolved_at
        locked.save(update_fields=["reviewed_at"])
    event.reviewed_at = locked.reviewed_at
    return resolution


# Only events that passed the callback-token check may be applied again: a webhook still RECEIVED
# may be one whose token was never checked (the process died first), and a REJECTED one came
# without a valid token at all. Applied, duplicate, ignored and mismatched events are final.
REPROCESSABLE_OUTCOMES = (EventOutcome.UNKNOWN_SALE, EventOutcome.ERROR, EventOutcome.INVALID)


def reprocess_payment_event(*, event: PaymentEvent) -> PaymentEvent:
    """Run a stored payment event through processing again, e.g. after the sale it names turned up
    or a processing error was fixed. Idempotent: a payment already applied is recognised by its
    payment id and recorded as a duplicate. An error is recorded on the event, not raised."""
    with transaction.atomic():
        # Locked so two staff re-running the same event cannot overwrite each other's outcome.
        locked = PaymentEvent.objects.select_for_update().get(pk=event.pk)
        trusted_source = locked.source in (EventSource.RECONCILIATION, EventSource.SIMULATOR)
        if locked.outcome not in REPROCESSABLE_OUTCOMES and not (
            trusted_source and locked.outcome == EventOutcome.RECEIVED
        ):
            if locked.outcome in (EventOutcome.REJECTED, EventOutcome.RECEIVED):
                raise EventNotReprocessable(
                    "This notification's callback token was missing, wrong or never checked: it may not "
                    "come from Xendit, so it is never applied."
                )
            raise EventNotReprocessable(f"Its outcome is final: {locked.get_outcome_display()}.")
        try:
            process_payment_event(locked)
        except Exception:
            # process_payment_event kept the error on the event (staff read it there) and logged it.
            logger.warning("payment event %s failed again when reprocessed", locked.pk)
    logger.info("payment event %s reprocessed outcome=%s", locked.pk, locked.outcome)
    return locked


class CannotCheckPayment(Exception):
    """The sale cannot be checked with the gateway; the message says why, for staff."""


def recheck_sale_payment(*, sale: Transaction) -> bool:
    """Ask the gateway now whether a sale awaiting payment was paid (the customer says they paid,
    the kiosk still waits): a payment found is applied like its webhook. True when it completed
    the sale. Raises CannotCheckPayment, or GatewayError when the gateway cannot be reached."""
    if sale.status != SaleStatus.PENDING:
        raise CannotCheckPayment(
            f"{sale.external_id} is {sale.get_status_display().lower()}: only sales awaiting payment are checked."
        )
    if not get_gateway().reconciles:
        raise CannotCheckPayment("The payment simulator keeps no payment records to ask: use “Simulate payment”.")
    return check_sale_with_gateway(sale=sale) > 0
