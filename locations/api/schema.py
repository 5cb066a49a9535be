"""The fleet API's contract beyond its serializers (drf-spectacular): every error with its examples."""

from drf_spectacular.utils import OpenApiResponse

from core.openapi import error, example, too_many, validation_error, validation_example
from locations.api.serializers import ActivatedAnswerSerializer, HeartbeatAnswerSerializer
from locations.auth import KEY_REQUIRED

# Heartbeats and activation are a few hundred bytes: anything over this is refused unread.
MAX_BODY = 4096

TOO_LARGE = error(
    f"The body is over {MAX_BODY} bytes: refused before it is read.",
    example(413, "Request body too large", {"max_bytes": MAX_BODY}),
)

HEARTBEAT_RESPONSES = {
    200: OpenApiResponse(HeartbeatAnswerSerializer, description="Stored; whether the machine may sell now."),
    401: error(
        "No kiosk key (always required here, whatever KIOSK_AUTH says: the key names the machine), or an unknown "
        "or revoked one (with `WWW-Authenticate: Bearer`).",
        example(401, KEY_REQUIRED),
        example(401, "Invalid kiosk key"),
    ),
    413: TOO_LARGE,
    422: validation_error(
        "The body does not validate (`details.errors[]`): `status` missing, a value not among the choices, a "
        "string too long, a negative `prints_left`.",
        validation_example("status", "This field is required.", "missing"),
    ),
}

ACTIVATE_RESPONSES = {
    201: OpenApiResponse(
        ActivatedAnswerSerializer,
        description="The machine's new kiosk key, shown this once (`Cache-Control: no-store`); the code is used up.",
    ),
    409: error(
        "The code was used already (sent twice?), or the machine has its two active kiosk keys (staff revoke one "
        "first; the code stays usable until then).",
        example(409, "Activation code already used"),
        example(
            409,
            "PB-001 already has 2 active kiosk keys: revoke one before making another.",
            {"location_id": 2},
            name="two keys",
        ),
    ),
    413: TOO_LARGE,
    422: error(
        "The body does not validate (`code` must be 6 digits, `device_name` 1-100 characters), or no open code "
        "is this one (wrong, expired, or replaced by a newer one): counted as a wrong code.",
        validation_example("code", "6 digits.", "value_error"),
        example(422, "Invalid activation code"),
    ),
    429: too_many(
        "Over RATE_LIMIT_ACTIVATION_WRONG wrong codes (default 5 in 15 minutes) from this client network, or while "
        "this machine's code was open (its codes are locked until the window ends)."
    ),
}
