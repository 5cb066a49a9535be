"""Xendit's JSON, read in one place: callbacks, listed payments and refund objects become notices.

Xendit posts QR payments *and* refunds to the one callback URL ("QR code paid & refunded" is one
setting in its dashboard), so a callback is dispatched on its `event` first:

- `qr.payment`: the 2022-07-31 shape (`data` = the payment) or the legacy one (`qr_code` = the QR);
- no `event` and `{external_id, status}`: the earlier service's flat body (its README's curl);
- `qr.refund`, and defensively `refund.succeeded` / `refund.failed` of the newer /refunds API:
  a refund, never a payment, whatever its `status` or `reference_id` say;
- anything else (Payments API v3 `payment.capture`, unknown events, another business's QR code)
  is an `IgnoredNotice` with the reason.

Reference: xendit.md §4 (payments), §11.4 (refund webhook), §11.2 (the refund object).
"""

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from payments.gateways.base import IgnoredNotice, InvalidCallback, Notice, PaymentNotice, RefundNotice

# Xendit reports a successful QR payment as SUCCEEDED (2022-07-31) or COMPLETED (legacy).
SUCCESSFUL_PAYMENT_STATUSES = {"SUCCEEDED", "COMPLETED"}
# The flat body's statuses: the earlier service's contract.
FLAT_STATUSES = {"COMPLETED", "FAILED", "EXPIRED"}
PAYMENT_EVENTS = {"qr.payment"}
REFUND_EVENTS = {"qr.refund", "refund.succeeded", "refund.failed"}


def parse_timestamp(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC: an offset PostgreSQL cannot store (+23:59), or a moment outside the years 1-9999
        # once in UTC, is no usable time.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_amount(value) -> Decimal | None:
    """A JSON number or numeric string; None for anything else (null, "abc", [40000], true)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _amount(holder: dict, key: str) -> tuple[Decimal | None, str]:
    """The amount under `key` and, when there is none, why: staff read it in the review reason."""
    if key not in holder or holder[key] is None:
        return None, "no amount"
    amount = parse_amount(holder[key])
    if amount is None:
        return None, f"unreadable amount {_text(json.dumps(holder[key]), 40)}"
    return amount, ""


def _text(value, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; payload strings come from the outside world.
    return str(value).replace("\x00", "")[:limit] if value is not None else ""


def _status(value) -> str:
    status = _text(value, 30).upper()
    return "COMPLETED" if status in SUCCESSFUL_PAYMENT_STATUSES else status


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def read_callback(body: bytes | str, *, business_id: str = "") -> Notice:
    """What a callback body says. `business_id`, when configured, is ours: a notice for another
    business's QR code is ignored. Raises InvalidCallback for a body that says nothing usable."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCallback(f"The body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidCallback("The body must be a JSON object")
    event = _text(payload.get("event"), 50)
    data = payload.get("data")
    theirs = _text(payload.get("business_id") or _dict(data).get("business_id"), 100)
    if business_id and theirs and theirs != business_id:
        return IgnoredNotice(f"For another Xendit business ({theirs}), not ours ({business_id})", event=event)
    if event in REFUND_EVENTS:
        if not isinstance(data, dict) or not data.get("id"):
            raise InvalidCallback(f"A {event} notice without data.id")
        return read_refund(data, event=event)
    if event and event not in PAYMENT_EVENTS:
        return IgnoredNotice(f"Event {event!r} is not a QR payment or refund", event=event)
    wire = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if isinstance(data, dict):
        return _payment_2022(data, event=event or "qr.payment", wire=wire)
    if isinstance(payload.get("qr_code"), dict):
        return _payment_legacy(payload, event=event or "qr.payment", wire=wire)
    if not event and "external_id" in payload and "status" in payload:
        return _payment_flat(payload, wire=wire)
    raise InvalidCallback("Not a QR payment notification (expected Xendit's qr.payment or {external_id, status})")


def _payment(*, shape: str, event: str, item: dict, reference, qr_id, wire: str) -> PaymentNotice:
    """A payment object: the 2022-07-31 `data`, the legacy body, or a listed item (same fields)."""
    detail = _dict(item.get("payment_detail") or item.get("payment_details"))
    amount, problem = _amount(item, "amount")
    return PaymentNotice(
        shape=shape,
        event=event,
        reference=_text(reference, 200),
        qr_id=_text(qr_id, 100),
        payment_id=_text(item.get("id"), 100),
        status=_status(item.get("status")),
        amount=amount,
        amount_problem=problem,
        currency=_text(item.get("currency"), 10).upper(),
        paid_at=parse_timestamp(item.get("created")),
        channel=_text(detail.get("source") or item.get("channel_code"), 50),
        receipt_id=_text(detail.get("receipt_id"), 100),
        wire=wire,
    )


def _payment_2022(data: dict, *, event: str, wire: str) -> PaymentNotice:
    return _payment(
        shape="2022-07-31",
        event=event,
        item=data,
        reference=data.get("reference_id"),
        qr_id=data.get("qr_id"),
        wire=wire,
    )


def _payment_legacy(payload: dict, *, event: str, wire: str) -> PaymentNotice:
    qr_code = payload["qr_code"]
    return _payment(
        shape="legacy",
        event=event,
        item=payload,
        reference=qr_code.get("external_id"),
        qr_id=qr_code.get("id"),
        wire=wire,
    )


def _payment_flat(payload: dict, *, wire: str) -> PaymentNotice:
    status = _text(payload.get("status"), 30).upper()
    if status not in FLAT_STATUSES:
        raise InvalidCallback("status must be COMPLETED, FAILED or EXPIRED")
    if not isinstance(payload.get("external_id"), str) or not payload["external_id"]:
        raise InvalidCallback("external_id must be a non-empty string")
    # The one shape allowed to state no amount; one it states must still be readable and right.
    amount, problem = _amount(payload, "amount") if payload.get("amount") is not None else (None, "")
    return PaymentNotice(
        shape="flat",
        reference=_text(payload["external_id"], 200),
        qr_id="",
        payment_id=_text(payload.get("xendit_id"), 100),
        status=status,
        amount=amount,
        amount_problem=problem,
        currency=_text(payload.get("currency"), 10).upper(),
        wire=wire,
    )


def read_listed_payment(item: dict, *, qr_id: str) -> PaymentNotice:
    """One item of `GET /qr_codes/{qr_id}/payments`: the 2022-07-31 payment object, or the legacy
    one (its QR under `qr_code`), since the listing's shape is undocumented."""
    qr_code = _dict(item.get("qr_code"))
    return _payment(
        shape="listing",
        event="qr.payment",
        item=item,
        reference=item.get("reference_id") or qr_code.get("external_id"),
        qr_id=item.get("qr_id") or qr_code.get("id") or qr_id,
        wire=json.dumps(item, ensure_ascii=False),
    )


def read_refund(data: dict, *, event: str = "") -> RefundNotice:
    """A QR refund object (§11.2), or the /refunds API's (its payment is `payment_id`, its amount
    `amount`): read with defaults, since absent fields may be missing or null."""
    amount = parse_amount(data.get("refund_amount"))
    if amount is None:
        amount = parse_amount(data.get("amount"))
    return RefundNotice(
        refund_id=_text(data.get("id"), 100),
        payment_id=_text(data.get("qrpy_id") or data.get("payment_id"), 100),
        status=_text(data.get("status"), 30).upper(),
        amount=amount,
        failure_code=_text(data.get("failure_code"), 100),
        refunded_at=parse_timestamp(data.get("refunded_at")),
        event=event,
        wire=json.dumps(data, ensure_ascii=False),
    )
