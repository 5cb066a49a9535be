"""Activating a kiosk with a one-time code instead of typing a 47-character key.

Staff press "Create activation code" on a machine and read 6 digits to the installer; the kiosk
sends them to `POST /api/v1/kiosk/activate` and gets its own kiosk key, once. A code is valid for
ACTIVATION_CODE_MINUTES (30), is used once, is stored as a keyed hash, and a newer code replaces
the machine's older one. The key comes from `services.issue_kiosk_key`, so a machine still has at
most two active keys.

Guessing: a million codes, a handful open at a time. Wrong codes count per client network, and,
since a guess does not say which machine it aims at, against every machine that has an open code
(RATE_LIMIT_ACTIVATION_WRONG, 5 in 15 minutes): past it, that network is refused, and so is each of
those machines' codes, until the window ends. Whoever guesses, from however many networks, gets 5
tries at a given code: a chance of 1 in 200,000.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import errors
from core.ratelimit import RateLimit
from locations.models import ActivationCode, KioskKey, Location
from locations.services import KioskKeyLimitReached, issue_kiosk_key

CODE_DIGITS = 6
WRONG_CODES_PER_NETWORK = RateLimit("activation-wrong-network", "RATE_LIMIT_ACTIVATION_WRONG")
WRONG_CODES_PER_LOCATION = RateLimit("activation-wrong-location", "RATE_LIMIT_ACTIVATION_WRONG")


class WrongActivationCode(errors.Invalid):
    def __init__(self):
        super().__init__("Invalid activation code")


class ActivationCodeUsed(errors.Conflict):
    def __init__(self):
        super().__init__("Activation code already used")


class LocationHasTwoKeys(errors.Conflict):
    def __init__(self, location: Location, refusal: KioskKeyLimitReached):
        super().__init__(str(refusal), details={"location_id": location.pk})


def code_hash(code: str) -> str:
    """HMAC-SHA-256 with SECRET_KEY: without the secret, the stored hashes say nothing."""
    return hmac.new(settings.SECRET_KEY.encode(), f"activation:{code}".encode(), hashlib.sha256).hexdigest()


def validity() -> timedelta:
    return timedelta(minutes=settings.ACTIVATION_CODE_MINUTES)


def create_activation_code(*, location: Location, user=None, now: datetime | None = None) -> tuple[ActivationCode, str]:
    """A new code for `location`; returns the row and the code, which is never stored and cannot be
    shown again. The machine's earlier open code stops working."""
    now = now or timezone.now()
    with transaction.atomic():
        ActivationCode.objects.filter(location=location, ended_at__isnull=True).update(ended_at=now)
        # Expired codes give their numbers back (an open code's hash is unique).
        ActivationCode.objects.filter(ended_at__isnull=True, expires_at__lte=now).update(ended_at=now)
        for _ in range(20):
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            try:
                with transaction.atomic():
                    row = ActivationCode.objects.create(
                        location=location,
                        code_hash=code_hash(code),
                        created_at=now,
                        expires_at=now + validity(),
                        created_by=user if getattr(user, "pk", None) else None,
                    )
            except IntegrityError:  # another machine's open code: draw again
                continue
            return row, code
    raise RuntimeError("no free activation code after 20 draws")  # a million codes, a few open: never


def activate_kiosk(*, code: str, device_name: str, network: str, now: datetime | None = None) -> tuple[KioskKey, str]:
    """The kiosk key for the machine whose open code `code` is, made for `device_name`; the code is
    used up. Under the code's row lock: two kiosks sending one code at once get one key."""
    now = now or timezone.now()
    if (wait := WRONG_CODES_PER_NETWORK.wait(f"network:{network}")) is not None:
        raise errors.TooMany(retry_after=wait)
    digest = code_hash(code)
    with transaction.atomic():
        row = (
            ActivationCode.objects.select_for_update(of=("self",))
            .select_related("location", "created_by")
            .filter(code_hash=digest, ended_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if row is not None:
            if (wait := WRONG_CODES_PER_LOCATION.wait(f"location:{row.location_id}")) is not None:
                raise errors.TooMany(retry_after=wait)
            try:
                key, plaintext = issue_kiosk_key(
                    location=row.location, label=device_name, user=row.created_by, device_name=device_name
                )
            except KioskKeyLimitReached as refusal:
                # Nothing changes: the code stays open for when staff have revoked a key.
                raise LocationHasTwoKeys(row.location, refusal) from None
            ActivationCode.objects.filter(pk=row.pk).update(ended_at=now, kiosk_key=key)
            return key, plaintext
    if ActivationCode.objects.filter(code_hash=digest, kiosk_key__isnull=False, ended_at__gt=now - validity()).exists():
        # Sent twice (a double tap, a retry after a lost answer, another kiosk): not a guess.
        raise ActivationCodeUsed()
    _count_wrong(network=network, now=now)
    raise WrongActivationCode()


def _count_wrong(*, network: str, now: datetime) -> None:
    """Outside any transaction: the counters must stay counted although the request fails."""
    WRONG_CODES_PER_NETWORK.hit(f"network:{network}")
    open_at = (
        ActivationCode.objects.filter(ended_at__isnull=True, expires_at__gt=now)
        .values_list("location_id", flat=True)
        .distinct()
    )
    for location_id in open_at:
        WRONG_CODES_PER_LOCATION.hit(f"location:{location_id}")
