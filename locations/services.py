"""Machines and their kiosk keys: the machine a kiosk sells at; switch machines on and off, take
them out of service and back; issue, revoke, and find the key a request carries."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import errors
from locations.models import KioskKey, Location
from locations.selectors import is_out_of_service, location_with_status

KEY_PREFIX = "pbk_"
# 32 random bytes, URL-safe Base64 without padding: 43 characters after the prefix.
KEY_BYTES = 32
SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 8
MAX_ACTIVE_KEYS = 2
# last_used_at is written at most this often per key: not a database write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class LocationNotFound(errors.NotFound):
    def __init__(self, location_id: int):
        super().__init__("Location not found", details={"location_id": location_id})


class LocationInactive(errors.Invalid):
    def __init__(self, location: Location):
        super().__init__("Location is not active", details={"location_id": location.pk})


class LocationOutOfService(errors.Invalid):
    def __init__(self, location: Location):
        super().__init__("Location is out of service", details={"location_id": location.pk})


def active_location(location_id: int, *, selling: bool = False, read: Location | None = None) -> Location:
    """The machine a kiosk sells at (its menu; with `selling`, a new sale): it must exist and be
    active (staff switch a machine off); a sale also needs it in service
    (locations.selectors.is_out_of_service). One query: its last heartbeat comes along; none when
    the request's kiosk key brought the same machine along (`read`: `find_active_key` reads both)."""
    if read is not None and read.pk == location_id:
        location: Location | None = read
    else:
        location = location_with_status(location_id)
    if location is None:
        raise LocationNotFound(location_id)
    if not location.is_active:
        raise LocationInactive(location)
    if selling and is_out_of_service(location):
        raise LocationOutOfService(location)
    return location


class KioskKeyLimitReached(Exception):
    """The location already has its two active keys: revoke one first."""


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def issue_kiosk_key(*, location: Location, label: str, user=None, device_name: str = "") -> tuple[KioskKey, str]:
    """Make a new key for `location`; returns the row and the plaintext, which is never stored
    and cannot be shown again. Refused when the location has MAX_ACTIVE_KEYS active keys already
    (checked under a row lock on the location, so two staff clicking at once cannot make three)."""
    label = label.strip() or "kiosk"
    with transaction.atomic():
        locked = Location.objects.select_for_update().get(pk=location.pk)
        active = KioskKey.objects.filter(location=locked, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_KEYS:
            raise KioskKeyLimitReached(
                f"{locked.machine_code} already has {active} active kiosk keys: revoke one before making another."
            )
        plaintext = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        key = KioskKey.objects.create(
            location=locked,
            label=label[:100],
            prefix=plaintext[:SHOWN_PREFIX_LENGTH],
            key_hash=hash_key(plaintext),
            device_name=device_name[:100],
            created_by=user if getattr(user, "pk", None) else None,
        )
    return key, plaintext


def revoke_kiosk_key(*, key: KioskKey) -> KioskKey:
    """Revoke `key` at once (the next request carrying it gets 401). Revoking twice keeps the
    first revocation's time."""
    now = timezone.now()
    KioskKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    return key


def find_active_key(plaintext: str) -> KioskKey | None:
    """The active key whose secret is `plaintext`, with its location and the location's last
    heartbeat (what `active_location` checks, so a sale need not read them again); None for
    anything else.

    Looked up by its hash (a unique index), then the hashes compared in constant time."""
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    key = (
        KioskKey.objects.select_related("location__machine_status")
        .filter(key_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return key


def touch_last_used(key: KioskKey) -> None:
    """Record that the key was used, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    KioskKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    key.last_used_at = now


def set_locations_active(*, locations: QuerySet[Location], active: bool) -> int:
    """Let machines start sales again, or stop them; their sales stay. One UPDATE; the count changed."""
    return Location.objects.filter(pk__in=locations.values("pk")).update(is_active=active, updated_at=timezone.now())


class NoteRequired(errors.Invalid):
    def __init__(self):
        super().__init__("A note is required: say why the machine is out of service.")


def take_out_of_service(*, location: Location, note: str, user=None) -> bool:
    """Staff stop a machine's sales (a jam, a move, a repair), with a note of why; recorded with who and
    when on the machine. False when it was out of service already (the first note stays)."""
    note = note.strip()
    if not note:
        raise NoteRequired()
    now = timezone.now()
    return bool(
        Location.objects.filter(pk=location.pk, out_of_service_since__isnull=True).update(
            out_of_service_since=now,
            out_of_service_note=note[:500],
            out_of_service_by=user if getattr(user, "pk", None) else None,
            updated_at=now,
        )
    )


def put_back_in_service(*, location: Location) -> bool:
    """Staff let the machine sell again. False when staff had not taken it out of service (a kiosk
    reporting out of service stays so until its heartbeat says otherwise)."""
    return bool(
        Location.objects.filter(pk=location.pk, out_of_service_since__isnull=False).update(
            out_of_service_since=None, out_of_service_note="", out_of_service_by=None, updated_at=timezone.now()
        )
    )
