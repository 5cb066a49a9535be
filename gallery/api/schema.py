"""The photo and cleanup endpoints' contract beyond their serializers (drf-spectacular): parameters
and every error with its examples. The answers are gallery/api/serializers.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from core.openapi import error, example, maybe_encrypted, too_many, validation_error, validation_example
from gallery.api.serializers import CleanupReportSerializer, PhotoListSerializer, PhotoUploadResultSerializer
from locations.schema import KIOSK_KEY_401, kiosk_key_403
from payments.schema import SALE_NOT_FOUND

# --- Photos -----------------------------------------------------------------------------------------------

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


# --- Maintenance ---------------------------------------------------------------------------------------------

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
