"""The OpenAPI description of the kiosk API (drf-spectacular): shared components and hooks.

Each view documents itself with ``@extend_schema`` (payments/api.py, gallery/api.py), using the
serializers below for the exact JSON it sends: the success bodies, the error envelope
``{"success": false, "message", "details"}`` (422 validation errors with ``details.errors[]``),
and the encrypted variant ``{"data": "<base64>"}``. These serializers describe; they never run.

`postprocess` adds what drf-spectacular cannot see: plain Django views (GET /health, the QR
images), the X-Request-ID header on every operation, and the error envelope's open ``details``.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema_field,
)
from rest_framework import serializers

from payments.models import SaleStatus
from photobox.api import jakarta_iso, rupiah_number

# --- Building blocks --------------------------------------------------------------------------


@extend_schema_field({"type": "boolean", "enum": [True]})
class TrueField(serializers.BooleanField):
    pass


@extend_schema_field({"type": "boolean", "enum": [False]})
class FalseField(serializers.BooleanField):
    pass


class RupiahField(serializers.FloatField):
    """A JSON number of rupiah: an integer when whole (`40000`)."""

    def to_representation(self, value):
        return rupiah_number(value)


class JakartaDateTimeField(serializers.DateTimeField):
    """Asia/Jakarta with its offset, to the second: `2025-12-15T16:37:29+07:00`."""

    def to_representation(self, value):
        return jakarta_iso(value)


EXTERNAL_ID = OpenApiParameter(
    "external_id",
    str,
    OpenApiParameter.PATH,
    description="The sale's external id, as returned by POST /api/v1/transactions "
    "(`TRX-{location_id}-{YYYYmmddHHMMSS}-{8 hex}`).",
    pattern=r"^[A-Za-z0-9_-]{1,64}$",
)


# --- Errors ---------------------------------------------------------------------------------------


class ValidationErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The offending field (`body` for the body as a whole).")
    message = serializers.CharField()
    type = serializers.CharField(help_text="`missing`, `value_error`, `json_invalid`, `int_parsing`, ...")


class ErrorDetailsSerializer(serializers.Serializer):
    """Open object: what the failure is about (ids, limits); `errors` only for validation errors."""

    errors = ValidationErrorItemSerializer(many=True, required=False, help_text="Validation errors only.")


class ErrorSerializer(serializers.Serializer):
    """The error envelope every error response uses, from any layer."""

    success = FalseField()
    message = serializers.CharField(help_text="Human-readable; stable, so kiosks may match on it.")
    details = ErrorDetailsSerializer(help_text="Always an object, `{}` when there is nothing to add.")


class ValidationErrorDetailsSerializer(serializers.Serializer):
    errors = ValidationErrorItemSerializer(many=True)


class ValidationErrorSerializer(serializers.Serializer):
    """A request that does not validate: 422 with one entry per problem in `details.errors`."""

    success = FalseField()
    message = serializers.CharField(help_text="`Validation error`")
    details = ValidationErrorDetailsSerializer()


def example(status: int, message: str, details: dict | None = None, *, name: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name or message,
        value={"success": False, "message": message, "details": details or {}},
        status_codes=[str(status)],
        response_only=True,
    )


def validation_example(field: str, message: str, kind: str) -> OpenApiExample:
    return example(
        422,
        "Validation error",
        {"errors": [{"field": field, "message": message, "type": kind}]},
        name="Validation error",
    )


def error(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description, examples=list(examples))


def validation_error(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ValidationErrorSerializer, description=description, examples=list(examples))


# --- Kiosk keys and rate limits ---------------------------------------------------------------------

KIOSK_KEY_SCHEME = "kioskKey"


class KioskKeyScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer pbk_...` (locations/auth.py)."""

    target_class = "locations.auth.KioskKeyAuthentication"
    name = KIOSK_KEY_SCHEME

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pbk_ followed by 43 URL-safe Base64 characters",
            "description": "The kiosk's key, made by staff in the admin (Locations > a location > Generate kiosk "
            "key). It only works for its own location. With KIOSK_AUTH=required every kiosk request needs one; "
            "with KIOSK_AUTH=optional a request without the header is served, but a key that is sent must be "
            "valid. Unknown or revoked key: 401 `Invalid kiosk key`; missing (required): 401 `Kiosk key required`.",
        }


KIOSK_KEY_401 = error(
    "The kiosk key is unknown or revoked, or missing while KIOSK_AUTH=required (with `WWW-Authenticate: Bearer`).",
    example(401, "Invalid kiosk key"),
    example(401, "Kiosk key required"),
)


def kiosk_key_403(description: str, details: dict) -> OpenApiResponse:
    return error(description, example(403, "Kiosk key does not belong to this location", details))


def too_many(description: str) -> OpenApiResponse:
    return error(
        description + " Wait the `Retry-After` seconds.",
        example(429, "Too many requests", {"retry_after": 42}),
    )


# --- Encryption -------------------------------------------------------------------------------------


class EncryptedSerializer(serializers.Serializer):
    """With ENCRYPTION_ENABLED=true: the body that would have been sent, encrypted."""

    data = serializers.CharField(
        help_text="ENCRYPTION_MODE=cbc (the default, for deployed kiosks): Base64 of AES-256-CBC (PKCS#7) of the "
        "exact plaintext JSON body, with ENCRYPTION_KEY (32 characters) and ENCRYPTION_IV (16 characters). "
        "ENCRYPTION_MODE=gcm: Base64 of nonce (12 bytes) || ciphertext || tag (16 bytes), AES-256-GCM with the "
        "64-hex-character ENCRYPTION_KEY and the request's path as associated data. See docs/kiosk-contract.md."
    )
    alg = serializers.ChoiceField(
        choices=[("A256GCM", "A256GCM")],
        required=False,
        help_text="`A256GCM` with ENCRYPTION_MODE=gcm; absent with cbc.",
    )


def maybe_encrypted(name: str, plain) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=name, serializers=[plain, EncryptedSerializer], resource_type_field_name=None
    )


# --- Sales ---------------------------------------------------------------------------------------------


class SaleLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    machine_code = serializers.CharField(help_text="The kiosk's machine code, e.g. `PB-001`.")


class SalePriceSerializer(serializers.Serializer):
    # Read from the sale itself (`source="*"`): its price's id and its own amount.
    id = serializers.UUIDField(source="price_id")
    price = RupiahField(source="amount", help_text="Rupiah, a JSON number: `40000`.")


class SaleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(help_text="`TRX-{location_id}-{YYYYmmddHHMMSS in Asia/Jakarta}-{8 hex}`")
    location_id = serializers.IntegerField()
    location = SaleLocationSerializer()
    price_id = serializers.UUIDField()
    price = SalePriceSerializer(source="*")
    status = serializers.ChoiceField(choices=SaleStatus.choices)
    qr_string = serializers.CharField(help_text="The QRIS payload to draw as a QR code.")
    expires_at = JakartaDateTimeField(help_text="Asia/Jakarta with offset: `2025-12-15T16:37:29+07:00`.")
    created_at = JakartaDateTimeField()


class SaleWithPaymentSerializer(serializers.Serializer):
    """The sale as polled: `paid_at` comes before `created_at`."""

    # The poll writes its answer by hand (payments/sale_status.py); tests/payments/test_poll.py
    # checks that this serializer, run on the sale, renders the same bytes.

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    location_id = serializers.IntegerField()
    location = SaleLocationSerializer()
    price_id = serializers.UUIDField()
    price = SalePriceSerializer(source="*")
    status = serializers.ChoiceField(
        choices=SaleStatus.choices,
        help_text="Keep polling while PENDING; every other status is final for the kiosk: COMPLETED (take the "
        "photos), FAILED, EXPIRED, REFUNDED (the whole payment was given back by staff; photos are refused with 409). "
        "A PENDING sale past `expires_at` is answered (and stored) as EXPIRED.",
    )
    qr_string = serializers.CharField()
    expires_at = JakartaDateTimeField()
    paid_at = JakartaDateTimeField(allow_null=True, help_text="null until paid.")
    created_at = JakartaDateTimeField()


class SaleCreatedSerializer(serializers.Serializer):
    success = TrueField()
    message = serializers.CharField(help_text="`Transaction created successfully`")
    data = SaleSerializer()


class SaleStatusSerializer(serializers.Serializer):
    success = TrueField()
    message = serializers.CharField(help_text="`Transaction retrieved successfully`")
    data = SaleWithPaymentSerializer()


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[\x21-\x7e]{1,255}$",
    description="1-255 printable ASCII characters. A retry with the same key and body gets the first answer "
    "again (a 5xx answer is not kept, so a retry tries again); the same key with another body gets 409.",
)

SALE_NOT_FOUND = example(404, "Transaction not found", {"external_id": "TRX-2-20251215162229-57283A15"})

CREATE_SALE_RESPONSES = {
    201: OpenApiResponse(SaleCreatedSerializer, description="The sale, PENDING, with its QRIS string."),
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
        "The body does not validate (`details.errors[]`), the location is not active, or the price's "
        "quota is used up. Checked in this order: body, location, price, quota.",
        validation_example("location_id", "This field is required.", "missing"),
        example(422, "Location is not active", {"location_id": 2}),
        example(
            422, "Price quota exceeded", {"price_id": "8c6f1f9e-4f55-4a53-9a7e-0f1c2d3e4f50", "quota": 3, "used": 3}
        ),
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


class SaleCancelledSerializer(serializers.Serializer):
    success = TrueField()
    message = serializers.CharField(help_text="`Transaction cancelled`")
    data = SaleWithPaymentSerializer()


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


# --- Photos ------------------------------------------------------------------------------------------------


class PhotoUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        help_text="One part named `files` per photo: JPEG or PNG (checked by content), at most 10 MB each.",
    )


class UploadedPhotoSerializer(serializers.Serializer):
    filename = serializers.CharField(help_text="The name the kiosk sent.")
    url = serializers.URLField()
    size = serializers.IntegerField(help_text="Bytes.")


class PhotoUploadResultSerializer(serializers.Serializer):
    uploaded_count = serializers.IntegerField()
    folder_url = serializers.URLField(help_text="The customer's gallery link (the one emailed).")
    email_sent = serializers.BooleanField(help_text="false: the photos are kept and the email is retried.")
    email_sent_at = serializers.DateTimeField(allow_null=True)
    photos = UploadedPhotoSerializer(many=True)


class ListedPhotoSerializer(serializers.Serializer):
    url = serializers.URLField()


class PhotoListSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    photo_count = serializers.IntegerField()
    email_sent_at = serializers.DateTimeField(allow_null=True)
    expiry_date = serializers.DateTimeField(allow_null=True, help_text="When the photos will be deleted.")
    photos = ListedPhotoSerializer(many=True, help_text="In upload order.")


UPLOAD_RESPONSES = {
    200: OpenApiResponse(PhotoUploadResultSerializer, description="Every photo is stored."),
    400: error(
        "A file is not a real JPEG/PNG, is too large, or the session would hold too many photos. "
        "Nothing of the request is stored.",
        example(
            400,
            "File 'x.gif' has invalid format. Allowed: JPG, JPEG, PNG",
            {"filename": "x.gif", "format": "GIF"},
            name="invalid format",
        ),
        example(
            400,
            "File 'big.jpg' exceeds maximum size of 10MB (size: 10.00MB)",
            {"filename": "big.jpg", "size": 10485761, "max_size": 10485760},
            name="too large",
        ),
        example(
            400,
            "Too many photos: a session holds at most 30 (already stored 0, this upload adds 31)",
            {"max_count": 30, "stored": 0, "uploading": 31},
            name="too many",
        ),
    ),
    404: error("No such sale.", SALE_NOT_FOUND),
    409: error(
        "The session is closed: the sale was refunded in full (status REFUNDED), or the customer's email already went "
        "out.",
        example(
            409,
            "Transaction was refunded",
            {"external_id": "TRX-2-20251215162229-57283A15", "status": "REFUNDED"},
        ),
        example(
            409,
            "Photos already uploaded and email sent for this transaction",
            {"external_id": "TRX-2-20251215162229-57283A15", "email_sent_at": "2025-12-15T17:00:00+07:00"},
        ),
    ),
    422: error(
        "No `files` part (`details.errors[]`), or the sale is not paid (PENDING, FAILED or EXPIRED).",
        validation_example("files", "At least one file is required", "missing"),
        example(
            422,
            "Transaction payment not completed yet",
            {"external_id": "TRX-2-20251215162229-57283A15", "status": "PENDING"},
        ),
    ),
    502: error(
        "Storing some photos failed; the stored ones are kept and the same request again stores only what is missing.",
        example(502, "Failed to upload photo: a.jpg", {"filename": "a.jpg", "filenames": ["a.jpg"]}),
    ),
}

PHOTO_KEY_403 = kiosk_key_403(
    "The sale belongs to another location than the kiosk key's.",
    {"external_id": "TRX-3-20251215162229-57283A15", "location_id": 3, "kiosk_location_id": 2},
)
PHOTO_MISSES_429 = too_many(
    "This kiosk key (or IP address, without a key) had more than RATE_LIMIT_PHOTO_MISSES 404 answers (default 20 "
    "a minute) from the photo endpoints; until the minute is over every photo request of it gets 429."
)
UPLOAD_RESPONSES.update({401: KIOSK_KEY_401, 403: PHOTO_KEY_403, 429: PHOTO_MISSES_429})
UPLOAD_RESPONSES[413] = error(
    "The body's Content-Length is over the most a session may upload, PHOTO_MAX_COUNT x (PHOTO_MAX_BYTES + 4 KB) "
    "+ 64 KB (314,761,216 bytes by default): refused unread, after the kiosk key and the sale are checked.",
    example(413, "Request body too large", {"max_bytes": 314761216}),
)

PHOTO_LIST_RESPONSES = {
    200: OpenApiResponse(
        maybe_encrypted("PhotoListResponse", PhotoListSerializer),
        description='The stored photos; `{"data": "<base64>"}` instead when ENCRYPTION_ENABLED=true.',
    ),
    404: error(
        "No such sale, or it has no photos (none uploaded, or cleaned up).",
        SALE_NOT_FOUND,
        example(404, "No photos found for transaction", {"external_id": "TRX-2-20251215162229-57283A15"}),
    ),
    401: KIOSK_KEY_401,
    403: PHOTO_KEY_403,
    429: PHOTO_MISSES_429,
}


# --- Xendit's webhook ---------------------------------------------------------------------------------------


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

CALLBACK_TOKEN = OpenApiParameter(
    "x-callback-token",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The callback verification token from the Xendit dashboard (XENDIT_CALLBACK_TOKEN), compared in "
    "constant time. Missing: 401; wrong: 403.",
)


WEBHOOK_ACK_MESSAGES = ("Transaction updated", "Refund updated", "Notification stored and ignored")


@extend_schema_field({"type": "string", "enum": list(WEBHOOK_ACK_MESSAGES)})
class WebhookAckMessageField(serializers.CharField):
    pass


class WebhookAckSerializer(serializers.Serializer):
    success = TrueField()
    message = WebhookAckMessageField(
        help_text="`Transaction updated`: a payment notice (applied, a duplicate, for an unknown sale, or not "
        "applied and flagged for staff); `Refund updated`: a refund notice; `Notification stored and ignored`: any "
        "other event, or another Xendit business's notice."
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


# --- Maintenance ---------------------------------------------------------------------------------------------


class CleanupReportSerializer(serializers.Serializer):
    deleted_count = serializers.IntegerField()
    folders = serializers.ListField(child=serializers.CharField(), help_text="External ids of the sales cleaned.")
    failed_count = serializers.IntegerField()
    failed_folders = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField(help_text="`5 folders deleted successfully`")


MAINTENANCE_TOKEN = OpenApiParameter(
    "X-Maintenance-Token",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="MAINTENANCE_TOKEN. Missing: 401; wrong (or MAINTENANCE_TOKEN unset): 403.",
)
CLEANUP_DAYS = OpenApiParameter(
    "days",
    {"type": "integer", "minimum": 1, "maximum": 3650},
    OpenApiParameter.QUERY,
    required=False,
    description="Delete the photos of sales whose email went out more than this many days ago (1-3650; "
    "default PHOTO_RETENTION_DAYS, 14).",
)

CLEANUP_RESPONSES = {
    200: OpenApiResponse(CleanupReportSerializer, description="What was deleted; a sale cleaned before is not listed."),
    401: error("No X-Maintenance-Token header.", example(401, "Missing X-Maintenance-Token header")),
    403: error("Wrong token.", example(403, "Invalid maintenance token")),
    429: too_many(
        "This IP address sent more than RATE_LIMIT_WEBHOOK_BAD_TOKEN requests with a missing or wrong maintenance "
        "token (default 10 a minute): until the minute is over its requests without the right token are refused."
    ),
    422: validation_error(
        "`days` is not a whole number from 1 to 3650.",
        validation_example("days", "A whole number of days from 1 to 3650", "int_parsing"),
    ),
}


# --- Simulator --------------------------------------------------------------------------------------------------


class SimulatePaymentRequestSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False, min_value=1, help_text="Rupiah; default the sale's amount (another amount tests a mismatch)."
    )


class SimulatedPaymentSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=SaleStatus.choices)
    outcome = serializers.CharField(help_text="What the payment did: `applied`, `duplicate`, `amount_mismatch`, ...")


class SimulatePaymentResultSerializer(serializers.Serializer):
    success = TrueField()
    message = serializers.CharField(help_text="`Payment simulated`")
    data = SimulatedPaymentSerializer()


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


# --- Hooks ---------------------------------------------------------------------------------------------------------

# The cleanup view answers both methods on both paths; the contract names POST .../cleanup and
# the earlier cron's DELETE .../cleanup-old-folders.
_UNDOCUMENTED = {
    ("/api/v1/maintenance/cleanup", "DELETE"),
    ("/api/v1/maintenance/cleanup-old-folders", "POST"),
}


def preprocess(endpoints, **kwargs):
    return [
        (path, regex, method, view) for path, regex, method, view in endpoints if (path, method) not in _UNDOCUMENTED
    ]


REQUEST_ID_HEADER = {
    "description": "The caller's X-Request-ID echoed (when 1-128 safe characters), or a new UUID.",
    "schema": {"type": "string"},
}
REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": "X-Request-ID",
    "required": False,
    # Any value is accepted (nothing is refused for it): one that is not 1-128 of these characters
    # is replaced, not echoed.
    "description": "Your id for the request, echoed in the response and written in our logs when it is 1-128 of "
    "`A-Z a-z 0-9 . _ : @ / + = -`; any other value is replaced by a new UUID.",
    "schema": {"type": "string"},
}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _health_path() -> dict:
    schema = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "database": {"type": "string", "enum": ["ok", "error"]},
            "version": {"type": "string", "description": "APP_VERSION"},
        },
        "required": ["status", "timestamp", "database", "version"],
    }
    return {
        "get": {
            "operationId": "health",
            "summary": "Is the service up and its database reachable?",
            "description": "Never redirected to HTTPS, so a load balancer may call it over plain HTTP.",
            "tags": ["health"],
            "responses": {
                "200": {"description": "Up.", "content": {"application/json": {"schema": schema}}},
                "503": {
                    "description": "The database is unreachable (`status` and `database` are `error`).",
                    "content": {"application/json": {"schema": schema}},
                },
            },
        }
    }


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
                    "404": _error_response(
                        "`Transaction not found`, or `QR code not available yet` (the gateway call is under way)."
                    ),
                    "410": _error_response(
                        "`QR code is no longer payable`: the sale is paid, expired, failed or refunded "
                        "(`details.status` says which)."
                    ),
                },
            }
        }
    return paths


RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
# Sale creation's own waits, sent with some answers of a status only: optional there.
CREATE_SALE_RETRY_AFTER = {
    "503": {
        "description": "Only when Xendit refused the call for its rate limit: seconds until its window is over "
        "(also in `details.retry_after`). Absent when Xendit could not be reached.",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
    },
    "409": {
        "description": "`1`, only while the first request with this Idempotency-Key is still being processed.",
        "required": False,
        "schema": {"type": "integer", "minimum": 1},
    },
}
WWW_AUTHENTICATE_HEADER = {
    "description": '`Bearer realm="photobox"`: the API expects a kiosk key.',
    "required": True,
    "schema": {"type": "string"},
}


def _kiosk_key_security(operation: dict) -> None:
    """drf-spectacular lists the kiosk key and, for AllowAny, also "no authentication" ({}): true
    with KIOSK_AUTH=optional only. With `required` the key is the only way in."""
    security = operation.get("security")
    if not security or not any(KIOSK_KEY_SCHEME in requirement for requirement in security):
        return
    if getattr(settings, "KIOSK_AUTH", "optional") == "required":
        operation["security"] = [requirement for requirement in security if requirement]
    if "401" in operation.get("responses", {}):
        operation["responses"]["401"].setdefault("headers", {})["WWW-Authenticate"] = WWW_AUTHENTICATE_HEADER


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


# The HTTP server (gunicorn: 4094 bytes; nginx: 8 KB) refuses an over-long request line before
# the app sees it, with its own page: documented on every operation, since any URL can be too long.
REQUEST_LINE_TOO_LONG = {
    "description": "The request line (method, path and query) is too long: refused by the HTTP server in front of "
    "the API (gunicorn or nginx), with its own short page rather than the error envelope."
}

# Operations that answer 422 to a request without a body.
BODY_REQUIRED = {"create_sale", "upload_photos", "xendit_webhook"}


def postprocess(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    _payment_notice(schemas)
    _webhook_ack_message(schemas)
    # `details` names whatever the failure is about: an open object.
    if "ErrorDetails" in schemas:
        schemas["ErrorDetails"]["additionalProperties"] = {}
    paths = result.setdefault("paths", {})
    paths.update(_qr_paths())
    paths["/health"] = _health_path()
    result.setdefault("components", {}).setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
    for path_item in paths.values():
        for operation in path_item.values():
            if operation.get("operationId") in BODY_REQUIRED and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            operation.setdefault("parameters", []).append(REQUEST_ID_PARAMETER)
            _kiosk_key_security(operation)
            for code, response in operation.get("responses", {}).items():
                response.setdefault("headers", {})["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
                if code == "429":
                    response["headers"]["Retry-After"] = RETRY_AFTER_HEADER
                elif operation.get("operationId") == "create_sale" and code in CREATE_SALE_RETRY_AFTER:
                    response["headers"]["Retry-After"] = CREATE_SALE_RETRY_AFTER[code]
            operation["responses"]["414"] = REQUEST_LINE_TOO_LONG
    return result
