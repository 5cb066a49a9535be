"""The sale API's contract beyond its serializers (drf-spectacular): parameters, every error with
its examples, and the paths drf-spectacular cannot see (the QR images, plain Django views).

The answers themselves are the output serializers in payments/api/serializers.py; the webhook's
body is payments/api/webhook_schema.py.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from core.openapi import error, error_response, example, maybe_encrypted, too_many, validation_error, validation_example
from locations.schema import KIOSK_KEY_401, kiosk_key_403
from payments.api.serializers import (
    IDEMPOTENCY_KEY_PATTERN,
    SaleCancelledSerializer,
    SaleCreatedSerializer,
    SaleStatusSerializer,
    SimulatePaymentResultSerializer,
    WebhookAckSerializer,
)
from payments.schema import EXTERNAL_ID, SALE_NOT_FOUND

# --- Sales ------------------------------------------------------------------------------------------

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=IDEMPOTENCY_KEY_PATTERN.pattern,
    description="1-255 printable ASCII characters. A retry with the same key and body gets the first answer "
    "again (a 5xx answer is not kept, so a retry tries again); the same key with another body gets 409.",
)

# Sale creation's own waits, sent with some answers of a status only: optional there (for
# core.openapi.postprocess, through extend_schema's extensions).
CREATE_SALE_HEADERS = {
    "503": {
        "Retry-After": {
            "description": "Only when Xendit refused the call for its rate limit: seconds until its window is over "
            "(also in `details.retry_after`). Absent when Xendit could not be reached.",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
    "409": {
        "Retry-After": {
            "description": "`1`, only while the first request with this Idempotency-Key is still being processed.",
            "required": False,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


CREATE_SALE_RESPONSES = {
    201: OpenApiResponse(
        SaleCreatedSerializer,
        description="The sale, PENDING, with its QRIS string; or, when a voucher leaves nothing to pay, a free "
        "session: COMPLETED with `paid_at` set and `qr_string` null (skip the payment, go on to the photos).",
    ),
    400: error(
        "The price is inactive, or the Idempotency-Key header is malformed.",
        example(400, "Price is inactive", {"price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50"}),
        example(400, "Invalid Idempotency-Key header", {"reason": "1-255 printable ASCII characters"}),
    ),
    404: error(
        "Unknown location or price.",
        example(404, "Location not found", {"location_id": 2}),
        example(404, "Price not found", {"price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50"}),
    ),
    409: error(
        "The Idempotency-Key was used with another body, or its first request is still being processed "
        "(then with `Retry-After: 1`).",
        example(409, "Idempotency key reused with a different request"),
        example(409, "A request with this Idempotency-Key is still being processed"),
    ),
    422: error(
        "The body does not validate (`details.errors[]`), the location is not active or out of service (taken out "
        "by staff, or reported so by its kiosk's heartbeat), the price is limited to other locations (it is not on "
        "this kiosk's menu), the price's quota is used up, or the voucher cannot be used (`details.voucher_code`). "
        "Checked in this order: body, location (active, then in service), price, the price's locations, quota, "
        "voucher (found, within its dates, for this package, at this location, uses left).",
        validation_example("location_id", "This field is required.", "missing"),
        example(422, "Location is not active", {"location_id": 2}),
        example(422, "Location is out of service", {"location_id": 2}),
        example(
            422,
            "Price is not offered at this location",
            {"price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50", "location_id": 2},
        ),
        example(
            422, "Price quota exceeded", {"price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50", "quota": 3, "used": 3}
        ),
        example(422, "Voucher not found", {"voucher_code": "HEMAT25"}),
        example(
            422,
            "Voucher expired",
            {"voucher_code": "HEMAT25", "valid_from": "2026-01-01T00:00:00+07:00", "valid_until": None},
        ),
        example(
            422,
            "Voucher not valid for this package",
            {"voucher_code": "HEMAT25", "price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50"},
        ),
        example(422, "Voucher not valid at this location", {"voucher_code": "HEMAT25", "location_id": 2}),
        example(422, "Voucher already used", {"voucher_code": "HEMAT25", "max_uses": 1}),
    ),
    502: error(
        "Xendit refused to make the QR code; the sale is FAILED and its quota free.",
        example(502, "Payment gateway rejected the request", {"error_code": "API_VALIDATION_ERROR"}),
    ),
    503: error(
        "Xendit could not be reached, did not answer in time, or refused the call for its rate limit; the sale is "
        "FAILED and its quota free, and a retry (with the same Idempotency-Key) makes a new sale. On Xendit's rate "
        "limit the answer also carries `Retry-After` and `details.retry_after` (seconds): offer a retry after that.",
        example(503, "Payment gateway unavailable"),
        example(503, "Payment gateway unavailable", {"retry_after": 42}, name="Xendit's rate limit"),
    ),
    401: KIOSK_KEY_401,
    403: kiosk_key_403(
        "The kiosk key is for another location than `location_id` (checked right after the body).",
        {"location_id": 3, "kiosk_location_id": 2},
    ),
    429: too_many("More than RATE_LIMIT_SALE_CREATE sales (default 30 a minute) from this kiosk key, or IP address."),
}


CANCEL_SALE_RESPONSES = {
    200: OpenApiResponse(
        SaleCancelledSerializer,
        description="The sale, now CANCELLED (the same answer again when it already was). Its quota is free at once "
        "and its QR image answers 410. The QR code stays payable at Xendit until `expires_at`: a payment that still "
        "comes completes the sale (flagged for staff), so keep polling until then if the customer may have paid.",
    ),
    404: error("No such sale.", SALE_NOT_FOUND),
    409: error(
        "The sale ended otherwise: paid (go on to the photos), expired or failed.",
        example(
            409, "Transaction already paid", {"external_id": "TRX-2-20251215162229-57283A15", "status": "COMPLETED"}
        ),
        example(
            409,
            "Transaction already expired",
            {"external_id": "TRX-2-20251215162229-57283A15", "status": "EXPIRED"},
            name="expired",
        ),
    ),
    401: KIOSK_KEY_401,
    403: kiosk_key_403(
        "The sale belongs to another location than the kiosk key's.",
        {"external_id": "TRX-3-20251215162229-57283A15", "location_id": 3, "kiosk_location_id": 2},
    ),
    429: too_many(
        "This kiosk key (or IP address, without a key) had more than RATE_LIMIT_PHOTO_MISSES 404 answers (default "
        "20 a minute) from the photo and cancel endpoints."
    ),
}

SALE_STATUS_RESPONSES = {
    200: OpenApiResponse(
        maybe_encrypted("SaleStatusResponse", SaleStatusSerializer),
        description='The sale; `{"data": "<base64>"}` instead when ENCRYPTION_ENABLED=true.',
    ),
    404: error("No such sale (never encrypted).", SALE_NOT_FOUND),
}


# --- Xendit's webhook -------------------------------------------------------------------------------

CALLBACK_TOKEN = OpenApiParameter(
    "x-callback-token",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The callback verification token from the Xendit dashboard (XENDIT_CALLBACK_TOKEN), compared in "
    "constant time. Missing: 401; wrong: 403.",
)


def _ack(message: str, name: str) -> OpenApiExample:
    return OpenApiExample(name, value={"success": True, "message": message}, status_codes=["200"], response_only=True)


WEBHOOK_RESPONSES = {
    200: OpenApiResponse(
        WebhookAckSerializer,
        description="Stored and dealt with, whatever the outcome, so Xendit stops retrying: a payment applied, a "
        "duplicate, one for an unknown sale, or one not applied (wrong amount or currency: the sale is flagged for "
        "staff and not completed); a refund settled or recorded; any other event ignored.",
        examples=[
            _ack("Transaction updated", "payment"),
            _ack("Refund updated", "refund"),
            _ack("Notification stored and ignored", "other event"),
        ],
    ),
    401: error("No x-callback-token header.", example(401, "Missing x-callback-token header")),
    403: error("Wrong token.", example(403, "Invalid callback token")),
    413: error(
        "The body is over 64 KB (Xendit's notices are about 1 KB): refused before it is read.",
        example(413, "Request body too large", {"max_bytes": 65536}),
    ),
    429: too_many(
        "This IP address sent more than RATE_LIMIT_WEBHOOK_BAD_TOKEN requests with a missing or wrong token (default "
        "10 a minute): until the minute is over its requests without the right token are refused (kept in brief: "
        "headers, size, SHA-256, the body's first 4 KB). A request with the right token is never counted nor refused."
    ),
    422: validation_error(
        "The body is none of the shapes: not a JSON object, a `qr.payment` with neither `data` nor `qr_code`, a flat "
        "body whose `status` is not COMPLETED, FAILED or EXPIRED, a refund event without `data.id`.",
        validation_example(
            "body",
            "Not a QR payment notification (expected Xendit's qr.payment or {external_id, status})",
            "value_error",
        ),
    ),
}


# --- Simulator --------------------------------------------------------------------------------------

SIMULATE_RESPONSES = {
    200: OpenApiResponse(SimulatePaymentResultSerializer, description="Paid through the webhook's path."),
    404: error(
        "No such sale, or not DEBUG with the simulator.",
        SALE_NOT_FOUND,
        example(404, "Not found", name="simulator off"),
    ),
    422: validation_error(
        "`amount` is not a positive whole number.",
        validation_example("amount", "A whole number of rupiah.", "int_type"),
    ),
}


# --- Plain Django views -------------------------------------------------------------------------------------


def _qr_paths() -> dict:
    """GET .../qr.svg and .../qr.png (payments/qr.py: plain Django views), when they exist."""
    paths = {}
    for kind, media_type in (("svg", "image/svg+xml"), ("png", "image/png")):
        try:
            path = reverse(f"sale-qr-{kind}", kwargs={"external_id": "EXTERNAL_ID"})
        except NoReverseMatch:
            continue
        paths[path.replace("EXTERNAL_ID", "{external_id}")] = {
            "get": {
                "operationId": f"sale_qr_{kind}",
                "summary": f"The sale's QRIS code as a QR image ({kind.upper()})",
                "description": "For kiosks that cannot draw the QR code themselves. Cacheable (with an ETag) until "
                "the sale expires; once the sale is no longer PENDING (paid, expired, failed or refunded): 410.",
                "tags": ["sales"],
                "parameters": [
                    {
                        "in": "path",
                        "name": "external_id",
                        "required": True,
                        "schema": {"type": "string", "pattern": EXTERNAL_ID.pattern},
                    },
                    {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "The QR code.",
                        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                    "404": error_response(
                        "`Transaction not found`, or `QR code not available yet` (the gateway call is under way)."
                    ),
                    "410": error_response(
                        "`QR code is no longer payable`: the sale is paid, expired, failed or refunded "
                        "(`details.status` says which)."
                    ),
                },
            }
        }
    return paths


def postprocess(result, generator, request, public):
    """Adds the QR image paths; runs before core.openapi.postprocess (X-Request-ID, 414, /health after them)."""
    result.setdefault("paths", {}).update(_qr_paths())
    return result
