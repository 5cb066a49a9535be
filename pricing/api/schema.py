"""The menu endpoint's contract beyond its serializers (drf-spectacular): parameters, headers and
every error with its examples. The answer is pricing/api/serializers.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from core.openapi import error, example, too_many, validation_example
from locations.schema import KIOSK_KEY_401, kiosk_key_403
from pricing.api.serializers import PackagesSerializer

# Seconds a kiosk (or its HTTP cache) may keep the menu without asking again: short, since
# `remaining` changes with every sale.
MAX_AGE = 30

LOCATION_ID = OpenApiParameter(
    "location_id",
    {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    OpenApiParameter.QUERY,
    required=False,
    description="The kiosk's location. Required without a kiosk key (KIOSK_AUTH=optional); with a key it may be "
    "left out (the key names the location), and must be the key's own location when sent (else 403). Once.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The `ETag` of the menu the kiosk has: 304 when it is still the menu.",
)

CACHE_HEADERS = {
    "ETag": {
        "description": "The menu's version, changing with any of its prices, quotas or `remaining`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"`private, max-age={MAX_AGE}`: keep the menu up to {MAX_AGE} seconds, then ask again with "
        "If-None-Match.",
        "required": True,
        "schema": {"type": "string"},
    },
}
RESPONSE_HEADERS = {"200": CACHE_HEADERS, "304": CACHE_HEADERS}

PACKAGES_RESPONSES = {
    200: OpenApiResponse(PackagesSerializer, description="The active prices this kiosk may sell, cheapest first."),
    304: OpenApiResponse(description="Not modified: If-None-Match named the current ETag. No body."),
    401: KIOSK_KEY_401,
    403: kiosk_key_403(
        "`location_id` is another location than the kiosk key's.", {"location_id": 3, "kiosk_location_id": 2}
    ),
    404: error("Unknown location.", example(404, "Location not found", {"location_id": 2})),
    422: error(
        "`location_id` is missing (without a kiosk key) or not a positive whole number (`details.errors[]`), or the "
        "location is not active.",
        validation_example("location_id", "This field is required.", "missing"),
        example(422, "Location is not active", {"location_id": 2}),
    ),
    429: too_many(
        "This kiosk key (or IP address, without a key) had more than RATE_LIMIT_PHOTO_MISSES 404 answers (default "
        "20 a minute) from the photo, cancel and menu endpoints."
    ),
}
