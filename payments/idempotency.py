"""Idempotency-Key support for sale creation.

Kiosks on flaky mall Wi-Fi resend a create request when the answer is lost. With the same key and
body, the first answer (status and body) is replayed instead of making a second sale and QR. The
key is claimed by inserting its row before any work, so two concurrent requests with one key
cannot both create a sale.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.sql import insert_row, update_rows
from payments.models import IdempotencyKey

# A claim older than this whose request never finished (the worker died) may be taken over.
STALE_CLAIM = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    key: str
    fingerprint: str
    # Set when an earlier request with this key already finished: replay this.
    replay_status: int | None = None
    replay_body: bytes = b""
    conflict: str = ""  # "body" (different request) or "in_progress"


def fingerprint_of(body: bytes) -> str:
    """Hash of the request body; JSON is canonicalised so key order and spacing don't matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def scoped_key(key: str, kiosk_key=None) -> str:
    """The stored key: a request with a kiosk key gets its location's own namespace (it survives a
    key rotation), so no other kiosk, and no caller without a key, can have its answer replayed."""
    if kiosk_key is None:
        return key
    # Spaces never occur in a key a client sends (printable ASCII without space): no collisions.
    scoped = f"kiosk {kiosk_key.location_id} {key}"
    if len(scoped) > IdempotencyKey._meta.get_field("key").max_length:
        scoped = f"kiosk {kiosk_key.location_id} sha256 {hashlib.sha256(key.encode()).hexdigest()}"
    return scoped


def claim(*, key: str, body: bytes) -> Claim:
    fingerprint = fingerprint_of(body)
    now = timezone.now()
    for _ in range(2):
        try:
            _insert_claim(key=key, fingerprint=fingerprint)
            return Claim(key=key, fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(key=key).first()
            if existing is None:
                continue  # released between our insert and our read: try again
            if existing.fingerprint != fingerprint:
                return Claim(key=key, fingerprint=fingerprint, conflict="body")
            if existing.status_code is not None:
                return Claim(
                    key=key,
                    fingerprint=fingerprint,
                    replay_status=existing.status_code,
                    replay_body=bytes(existing.response_body),
                )
            if existing.created_at > now - STALE_CLAIM:
                return Claim(key=key, fingerprint=fingerprint, conflict="in_progress")
            # The first request died without answering: delete its claim, unless it answered since
            # (a row's id is never reused: a claim made since is another row).
            IdempotencyKey.objects.filter(pk=existing.pk, status_code__isnull=True).delete()
    return Claim(key=key, fingerprint=fingerprint, conflict="in_progress")


def _insert_claim(*, key: str, fingerprint: str) -> None:
    # Stamped by the column's default as it is inserted: its age counts from then.
    if transaction.get_connection().in_atomic_block:
        # In a caller's transaction, a savepoint: a duplicate key must not break that transaction.
        with transaction.atomic():
            IdempotencyKey.objects.create(key=key, fingerprint=fingerprint)
    else:
        # On its own the INSERT is its own transaction: no BEGIN and COMMIT around it (two round trips).
        insert_row(IdempotencyKey(key=key, fingerprint=fingerprint))


def complete(claimed: Claim, *, status_code: int, body: bytes, sale_id: int | None) -> None:
    if status_code >= 500:
        # The gateway was down or we failed: nothing final happened, so a retry should try again.
        release(claimed)
        return
    update_rows(
        IdempotencyKey,
        where={"key": claimed.key, "fingerprint": claimed.fingerprint, "status_code": None},
        values={"status_code": status_code, "response_body": body, "sale_id": sale_id},
    )


def release(claimed: Claim) -> None:
    IdempotencyKey.objects.filter(key=claimed.key, fingerprint=claimed.fingerprint, status_code__isnull=True).delete()


def purge_expired_keys(*, now=None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
