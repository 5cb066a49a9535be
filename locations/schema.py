"""The kiosk key in the OpenAPI schema (drf-spectacular): its security scheme, its 401 and 403.

Defining `KioskKeyScheme` registers it with drf-spectacular, so every view authenticating with
locations.auth.KioskKeyAuthentication is documented as taking the key.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from core.openapi import error, example
from locations.auth import kiosk_key_required

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


WWW_AUTHENTICATE_HEADER = {
    "description": '`Bearer realm="photobox"`: the API expects a kiosk key.',
    "required": True,
    "schema": {"type": "string"},
}


def postprocess(result, generator, request, public):
    """drf-spectacular lists the kiosk key and, for AllowAny, also "no authentication" ({}): true
    with KIOSK_AUTH=optional only. With `required` the key is the only way in. Runs before
    core.openapi.postprocess, so a 401's WWW-Authenticate comes before its X-Request-ID."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security")
            if not security or not any(KIOSK_KEY_SCHEME in requirement for requirement in security):
                continue
            if kiosk_key_required():
                operation["security"] = [requirement for requirement in security if requirement]
            if "401" in operation.get("responses", {}):
                operation["responses"]["401"].setdefault("headers", {})["WWW-Authenticate"] = WWW_AUTHENTICATE_HEADER
    return result
