"""Xendit's webhook body in the OpenAPI schema: the shapes the webhook really accepts.

The notice serializers only seed drf-spectacular's `PaymentNoticeRequest`; `postprocess` then
replaces it with PAYMENT_NOTICE_SHAPES, hand-written JSON Schema, since Xendit's payloads are read
leniently (payments.gateways.xendit_wire.read_callback) in ways a serializer cannot say.
"""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


class FlatPaymentNoticeSerializer(serializers.Serializer):
    """The earlier service's shape."""

    external_id = serializers.CharField()
    status = serializers.CharField(help_text="COMPLETED, FAILED or EXPIRED.")
    xendit_id = serializers.CharField(required=False)


class LegacyQrCodeSerializer(serializers.Serializer):
    id = serializers.CharField()
    external_id = serializers.CharField(help_text="Our sale's external id.")


class LegacyQrPaymentSerializer(serializers.Serializer):
    """Xendit's legacy `qr.payment` callback."""

    event = serializers.CharField(help_text="`qr.payment`")
    id = serializers.CharField(help_text="The payment's id, `qrpy_...`.")
    amount = serializers.FloatField()
    status = serializers.CharField(help_text="`COMPLETED`")
    qr_code = LegacyQrCodeSerializer()


class QrPaymentDataSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The payment's id, `qrpy_...`.")
    qr_id = serializers.CharField()
    reference_id = serializers.CharField(help_text="Our sale's external id.")
    status = serializers.CharField(help_text="`SUCCEEDED`")
    amount = serializers.FloatField()


class QrPaymentSerializer(serializers.Serializer):
    """Xendit's `qr.payment` callback, API version 2022-07-31."""

    event = serializers.CharField(help_text="`qr.payment`")
    data = QrPaymentDataSerializer()


WEBHOOK_REQUEST = PolymorphicProxySerializer(
    component_name="PaymentNotice",
    serializers=[QrPaymentSerializer, LegacyQrPaymentSerializer, FlatPaymentNoticeSerializer],
    resource_type_field_name=None,
)


def _any_case(*words: str) -> str:
    """A JSON Schema pattern (no flags there) matching any of `words` in any case."""
    return "^(?:" + "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in word) for word in words) + ")$"


def _any(description: str) -> dict:
    """A field the webhook reads whatever its JSON type (it keeps the text of it)."""
    return {"description": description}


# What the webhook really accepts (payments.gateways.xendit_wire.read_callback), dispatched on
# `event`: Xendit's payloads are read leniently, never refused for a field they lack or type
# differently (a refused callback is retried by Xendit for a day); what it cannot use is stored and
# answered 200 as ignored. The shapes say exactly which bodies are answered 200 and which 422.
REFUND_EVENTS = ["qr.refund", "refund.succeeded", "refund.failed"]
# `event` absent, null or "": the notice is read by its shape (`data`, `qr_code`, or flat).
NO_EVENT = ["", None]
PAYMENT_EVENT = {"enum": ["qr.payment", *NO_EVENT], "description": "`qr.payment` (or absent)."}
PAYMENT_NOTICE_SHAPES = {
    "QrPaymentRequest": {
        "type": "object",
        "description": "Xendit's `qr.payment` callback, API version 2022-07-31: recognised by its `data` object. "
        "Applied only when the currency (if stated) is IDR and the amount is the sale's.",
        "properties": {
            "event": PAYMENT_EVENT,
            "api_version": _any("`2022-07-31`."),
            "business_id": _any("Xendit's business id; with XENDIT_BUSINESS_ID set, another one's notice is ignored."),
            "created": _any("When Xendit sent it."),
            "data": {
                "type": "object",
                "properties": {
                    "id": _any("The payment's id, `qrpy_...`."),
                    "qr_id": _any("The QR code's id."),
                    "reference_id": _any("Our sale's external id."),
                    "status": _any("`SUCCEEDED` completes the sale; anything else is stored and ignored."),
                    "currency": _any("`IDR`; any other currency is not applied (the sale is flagged for staff)."),
                    "amount": _any(
                        "Rupiah; required, and must equal the sale's amount (otherwise the sale is flagged for staff "
                        "and not completed)."
                    ),
                    "created": _any(
                        "When it was paid: kept as `paid_at` if within the sale's life (5 minutes' clock skew), "
                        "else the time it was received."
                    ),
                    "channel_code": _any("The QR partner, e.g. `ID_DANA`."),
                    "payment_detail": _any("`source` (the customer's bank or wallet) and `receipt_id`."),
                },
            },
        },
        "required": ["data"],
    },
    "LegacyQrPaymentRequest": {
        "type": "object",
        "description": "Xendit's legacy `qr.payment` callback: recognised by its `qr_code` object. Applied under the "
        "same rules as the 2022-07-31 shape.",
        "properties": {
            "event": PAYMENT_EVENT,
            "id": _any("The payment's id, `qrpy_...`."),
            "amount": _any("Rupiah; required, and must equal the sale's amount."),
            "currency": _any("`IDR` when stated."),
            "status": _any("`COMPLETED` completes the sale; anything else is stored and ignored."),
            "created": _any("When it was paid (bounded as in the 2022-07-31 shape)."),
            "qr_code": {
                "type": "object",
                "properties": {"id": _any("The QR code's id."), "external_id": _any("Our sale's external id.")},
            },
            "payment_details": _any("`source` (the customer's bank or wallet) and `receipt_id`."),
        },
        "required": ["qr_code"],
    },
    "FlatPaymentNoticeRequest": {
        "type": "object",
        "description": "The earlier service's shape: no `event`, neither a `data` nor a `qr_code` object. FAILED and "
        "EXPIRED end a sale still awaiting payment.",
        "properties": {
            "event": {"enum": NO_EVENT, "description": "Absent."},
            "external_id": {"type": "string", "minLength": 1, "description": "Our sale's external id."},
            "status": {
                "type": "string",
                "pattern": _any_case("COMPLETED", "FAILED", "EXPIRED"),
                "description": "COMPLETED, FAILED or EXPIRED (any case).",
            },
            "amount": _any("Optional (this shape only); when stated it must be readable and equal the sale's amount."),
            "xendit_id": _any("Xendit's payment id."),
        },
        "required": ["external_id", "status"],
    },
    "QrRefundRequest": {
        "type": "object",
        "description": "Xendit's `qr.refund` callback (and, defensively, the /refunds API's `refund.succeeded` / "
        "`refund.failed`): settles a refund, never changes whether a sale was paid. A refund Photobox did not ask "
        "for (made in Xendit's dashboard) is recorded. Answered `Refund updated`.",
        "properties": {
            "event": {"enum": REFUND_EVENTS},
            "api_version": _any("`2022-07-31`."),
            "business_id": _any("Xendit's business id; with XENDIT_BUSINESS_ID set, another one's notice is ignored."),
            "created": _any("When Xendit sent it."),
            "data": {
                "type": "object",
                "description": "The QR refund object.",
                "properties": {
                    "id": {
                        "not": {"enum": [None, "", 0, False, [], {}]},
                        "description": "The refund's id, `qrrf_...` (required).",
                    },
                    "qrpy_id": _any("The refunded payment's id, `qrpy_...` (`payment_id` in the /refunds API)."),
                    "status": _any("`SUCCEEDED` or `FAILED` settle the refund; `PENDING` records it."),
                    "currency": _any("`IDR`."),
                    "payment_amount": _any("The refunded payment's amount."),
                    "refund_amount": _any("This refund's amount, rupiah (`amount` in the /refunds API)."),
                    "channel_code": _any("The QR partner, e.g. `ID_DANA`."),
                    "reason": _any("As sent: `REQUESTED_BY_CUSTOMER`, `DUPLICATE`, ..."),
                    "failure_code": _any("Only when FAILED, e.g. `INSUFFICIENT_BALANCE`, `REFUND_NOT_SUPPORTED`."),
                    "created": _any("ISO 8601, UTC."),
                    "updated": _any("ISO 8601, UTC."),
                    "refunded_at": _any("When the refund went through; null when it failed."),
                },
                "required": ["id"],
            },
        },
        "required": ["event", "data"],
    },
    "OtherXenditEventRequest": {
        "type": "object",
        "description": "Any other event (e.g. the Payments API's `payment.capture`): stored and answered "
        "`Notification stored and ignored`.",
        "properties": {
            "event": {"not": {"enum": ["qr.payment", *REFUND_EVENTS, *NO_EVENT]}, "description": "Not a QR event."},
        },
        "required": ["event"],
    },
}


def _webhook_ack_message(schemas: dict) -> None:
    """drf-spectacular's enum hook names the acknowledgement's messages `MessageEnum`: say whose."""
    message = schemas.get("WebhookAck", {}).get("properties", {}).get("message", {})
    for ref in message.get("allOf", []):
        if ref.get("$ref") == "#/components/schemas/MessageEnum" and "MessageEnum" in schemas:
            schemas["WebhookAckMessageEnum"] = schemas.pop("MessageEnum")
            ref["$ref"] = "#/components/schemas/WebhookAckMessageEnum"


def _payment_notice(schemas: dict) -> None:
    if "PaymentNoticeRequest" not in schemas:
        return
    schemas.update(PAYMENT_NOTICE_SHAPES)
    schemas.pop("LegacyQrCodeRequest", None)
    schemas.pop("QrPaymentDataRequest", None)
    # A body may fit more than one shape (the webhook reads `data` first, then `qr_code`): anyOf.
    schemas["PaymentNoticeRequest"] = {
        "anyOf": [{"$ref": f"#/components/schemas/{name}"} for name in PAYMENT_NOTICE_SHAPES],
        "description": "What Xendit posts to the one callback URL, dispatched on `event`: its two `qr.payment` "
        "shapes and the earlier service's flat one are payments, `qr.refund` a refund, any other event is ignored; "
        "anything else is 422. With XENDIT_BUSINESS_ID set, a notice naming another business (`business_id`) is "
        "stored and ignored.",
    }


def postprocess(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    _payment_notice(schemas)
    _webhook_ack_message(schemas)
    return result
