"""Kiosk keys on the API: `Authorization: Bearer pbk_...` (README, "Kiosk keys").

KIOSK_AUTH=required: every request to a kiosk endpoint (sale creation, photo upload, photo list)
needs an active key (the default without DEBUG). KIOSK_AUTH=optional (chosen explicitly, for kiosks
deployed before keys existed; the demo's default):
a request without the header is served as before, but a request *with* one must carry a valid
key. Either way a key only works for its own location: creating a sale for another location, or
uploading to or listing another location's sale, is refused with 403.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from core import errors
from locations import services
from locations.models import KioskKey

# How a kiosk is told to authenticate (the WWW-Authenticate value of a 401).
CHALLENGE = 'Bearer realm="photobox"'
INVALID_KEY = "Invalid kiosk key"
KEY_REQUIRED = "Kiosk key required"
WRONG_LOCATION = "Kiosk key does not belong to this location"


class AuthenticatedKiosk:
    """request.user for a request with a valid kiosk key (request.auth is the KioskKey)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: KioskKey) -> None:
        self.key = key
        self.location_id = key.location_id

    def __str__(self) -> str:
        return f"kiosk {self.key.prefix}"


def kiosk_key_required() -> bool:
    """KIOSK_AUTH=required: a kiosk endpoint refuses a request without a key."""
    return settings.KIOSK_AUTH == "required"


class KioskKeyAuthentication(BaseAuthentication):
    """Unknown, malformed or revoked key: 401 `Invalid kiosk key`; no key with KIOSK_AUTH=required:
    401 `Kiosk key required`. Both with `WWW-Authenticate: Bearer`."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            if kiosk_key_required():
                raise errors.Unauthenticated(KEY_REQUIRED, challenge=CHALLENGE)
            return None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.Unauthenticated(INVALID_KEY, challenge=CHALLENGE)
        key = services.find_active_key(token)
        if key is None:
            raise errors.Unauthenticated(INVALID_KEY, challenge=CHALLENGE)
        services.touch_last_used(key)
        return AuthenticatedKiosk(key), key

    def authenticate_header(self, request) -> str:
        return CHALLENGE


class HasKioskKey(BasePermission):
    """For endpoints where the key is how the request says which machine it is about (the heartbeat):
    401 `Kiosk key required` without one, whatever KIOSK_AUTH says."""

    def has_permission(self, request, view) -> bool:
        if kiosk_key(request) is None:
            raise errors.Unauthenticated(KEY_REQUIRED, challenge=CHALLENGE)
        return True


def kiosk_key(request) -> KioskKey | None:
    key = getattr(request, "auth", None)
    return key if isinstance(key, KioskKey) else None


def check_kiosk_location(request, location_id: int, **details) -> None:
    """403 unless the request's kiosk key (if any) belongs to `location_id`."""
    key = kiosk_key(request)
    if key is not None and key.location_id != location_id:
        raise errors.Forbidden(
            WRONG_LOCATION,
            details={**details, "location_id": location_id, "kiosk_location_id": key.location_id},
        )
