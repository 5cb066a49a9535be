"""The kiosk's photo upload: checking that a sale takes photos, recording and storing them, then
queueing the customer's email (gallery.outbox); and finishing an upload that died."""

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import errors
from core.formats import jakarta_iso
from gallery import selectors
from gallery.models import EmailKind, EmailOutbox, Photo
from gallery.outbox import queue_customer_email, send_email
from gallery.selectors import upload_stale_after
from gallery.storage import StorageError, StoredPhoto, get_photo_storage
from gallery.validation import CheckedPhoto
from payments.models import Sale, SaleStatus

logger = logging.getLogger("gallery")


class PaymentNotCompleted(errors.Invalid):
    def __init__(self, sale: Sale):
        super().__init__(
            "Transaction payment not completed yet", details={"external_id": sale.external_id, "status": sale.status}
        )


class EmailAlreadySent(errors.Conflict):
    def __init__(self, sale: Sale):
        super().__init__(
            "Photos already uploaded and email sent for this transaction",
            details={"external_id": sale.external_id, "email_sent_at": jakarta_iso(sale.email_sent_at)},
        )


class TooManyPhotos(errors.Rejected):
    def __init__(self, *, stored: int, uploading: int):
        limit = settings.PHOTO_MAX_COUNT
        super().__init__(
            f"Too many photos: a session holds at most {limit} (already stored {stored}, this upload adds {uploading})",
            details={"max_count": limit, "stored": stored, "uploading": uploading},
        )


class PhotoStorageFailed(errors.Refused):
    def __init__(self, names: list[str]):
        message = (
            f"Failed to upload photo: {names[0]}" if len(names) == 1 else f"Failed to upload photos: {', '.join(names)}"
        )
        super().__init__(message, details={"filename": names[0], "filenames": names})


@dataclass
class UploadResult:
    sale: Sale
    photos: list[Photo]  # this request's photos, in the order sent
    email_sent: bool


class SaleRefunded(errors.Conflict):
    def __init__(self, sale: Sale):
        super().__init__("Transaction was refunded", details={"external_id": sale.external_id, "status": sale.status})


def check_sale_accepts_photos(sale: Sale) -> None:
    if sale.status == SaleStatus.REFUNDED:
        raise SaleRefunded(sale)
    if sale.status != SaleStatus.COMPLETED:
        raise PaymentNotCompleted(sale)
    if sale.email_sent_at is not None:
        raise EmailAlreadySent(sale)


@dataclass
class Reservation:
    photos: list[Photo]  # the request's photos, in the order sent
    replaced_keys: list[str] = field(default_factory=list)  # storage keys of a dead upload's photos it replaced


def _reserve_photos(*, sale: Sale, checked: list[CheckedPhoto]) -> Reservation:
    """Record the request's photos (new ones unstored) under the sale's row lock.

    The lock serialises concurrent uploads for one sale, so the photo limit holds and positions
    are unique; a photo already recorded (a retry) is reused, never recorded twice, and becomes
    this request's to store. Photos an upload that died left unstored (selectors.is_abandoned)
    are replaced: dropped, and not counted against PHOTO_MAX_COUNT; the limit counts the stored
    photos, those a running upload is storing, and this request's.
    """
    storage = get_photo_storage()
    now = timezone.now()
    with transaction.atomic():
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
        check_sale_accepts_photos(locked)
        # The photo rows are locked too: a slow upload cannot mark one stored while it is dropped.
        rows = list(Photo.objects.select_for_update().filter(sale=locked))
        wanted = dict.fromkeys(c.checksum for c in checked)
        dropped = [p for p in rows if p.checksum not in wanted and selectors.is_abandoned(p, now=now)]
        existing = {p.checksum: p for p in rows if p not in dropped}
        new = [c for c in wanted if c not in existing]
        if len(existing) + len(new) > settings.PHOTO_MAX_COUNT:
            raise TooManyPhotos(stored=len(existing), uploading=len(new))
        replaced = _drop_abandoned(dropped, sale=locked)
        # The unstored photos this request sends again are its own now: not abandoned while it stores them.
        retried = [p.pk for c, p in existing.items() if c in wanted and p.stored_at is None]
        if retried:
            Photo.objects.filter(pk__in=retried).update(reserved_at=now)
        # After every position ever used here (the dropped ones too): a new photo never takes a dropped one's key.
        position = max((p.position for p in rows), default=0) + 1
        by_checksum = dict(existing)
        for photo in checked:
            if photo.checksum in by_checksum:
                continue
            by_checksum[photo.checksum] = Photo.objects.create(
                sale=locked,
                position=position,
                storage_key=storage.key_for(
                    external_id=locked.external_id,
                    position=position,
                    checksum=photo.checksum,
                    extension=photo.extension,
                ),
                bytes=photo.size,
                width=photo.width,
                height=photo.height,
                format=photo.format,
                original_name=photo.original_name,
                checksum=photo.checksum,
                reserved_at=now,
            )
            position += 1
    return Reservation(photos=[by_checksum[c.checksum] for c in checked], replaced_keys=replaced)


def _mark_stored(photo: Photo, stored: StoredPhoto) -> bool:
    """Record that the storage has the photo; False when its row is gone (this upload stalled past
    the stale time and a retry replaced the photo)."""
    now = timezone.now()
    if not Photo.objects.filter(pk=photo.pk).update(url=stored.url, stored_at=now):
        return False
    photo.url, photo.stored_at = stored.url, now
    return True


class _KeepReserved:
    """Shows that an upload is alive: refreshes `reserved_at` of the photos it is still storing,
    every fifth of the stale time, so that no retry or `send_emails` takes them for abandoned."""

    def __init__(self, photos: list[Photo]) -> None:
        self.pending = {photo.pk for photo in photos}
        self.every = upload_stale_after().total_seconds() / 5
        self.last = time.monotonic()

    def done(self, photo: Photo) -> None:
        self.pending.discard(photo.pk)

    def refresh_if_due(self) -> None:
        if self.pending and time.monotonic() - self.last >= self.every:
            Photo.objects.filter(pk__in=self.pending, stored_at__isnull=True).update(reserved_at=timezone.now())
            self.last = time.monotonic()


def _delete_replaced(keys: list[str], *, sale: Sale) -> None:
    """Delete from the storage what a dead upload may have stored without recording it (the worker
    died after the storage call): best effort, as nothing points at those keys any more."""
    if not keys:
        return
    try:
        result = get_photo_storage().delete(keys)
    except StorageError as exc:
        logger.warning(
            "could not delete %d photos of an interrupted upload external_id=%s: %s",
            len(keys),
            sale.external_id,
            exc,
            extra={"external_id": sale.external_id},
        )
        return
    if result.failed:
        logger.warning(
            "could not delete %d photos of an interrupted upload external_id=%s: %s",
            len(result.failed),
            sale.external_id,
            ", ".join(sorted(result.failed)),
            extra={"external_id": sale.external_id},
        )


def upload_photos(*, sale: Sale, checked: list[CheckedPhoto]) -> UploadResult:
    """Store a paid sale's photos, then queue and try to send the customer's email.

    Photos are recorded before they are stored and stored in parallel; if some fail, the stored
    ones are kept and a retry of the same request stores only what is missing. If the worker dies
    meanwhile, a retry (with the same or other bytes) replaces what it left unstored once that is
    stale, and without a retry `send_emails` sends the email with the photos that were stored.
    """
    check_sale_accepts_photos(sale)
    reservation = _reserve_photos(sale=sale, checked=checked)
    photos = reservation.photos
    checked_by_checksum = {c.checksum: c for c in checked}
    missing = [p for p in dict.fromkeys(photos) if p.stored_at is None]
    failed: set[int] = set()
    if missing:
        storage = get_photo_storage()

        # Worker threads only talk to the storage; the database is written from this thread.
        def store(photo: Photo) -> StoredPhoto:
            upload = checked_by_checksum[photo.checksum]
            return storage.save(key=photo.storage_key, content=upload.read(), filename=photo.original_name)

        alive = _KeepReserved(missing)
        workers = min(settings.PHOTO_UPLOAD_CONCURRENCY, len(missing))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photo-upload") as pool:
            running: dict[Future, Photo] = {pool.submit(store, photo): photo for photo in missing}
            while running:
                done, _ = wait(running, timeout=alive.every, return_when=FIRST_COMPLETED)
                for future in done:
                    photo = running.pop(future)
                    alive.done(photo)
                    if not _store_result(photo, future, sale=sale):
                        failed.add(photo.pk)
                alive.refresh_if_due()
        # No extra= here nor in _store_result: only the upload view calls this, and core.logging
        # gives each of its records the external_id of the sale its URL names.
        logger.info(
            "photos stored external_id=%s stored=%d failed=%d",
            sale.external_id,
            len(missing) - len(failed),
            len(failed),
        )
    _delete_replaced(reservation.replaced_keys, sale=sale)
    if failed:
        raise PhotoStorageFailed([photo.original_name for photo in missing if photo.pk in failed])

    outbox = queue_customer_email(sale=sale)
    email_sent = outbox is not None and send_email(outbox=outbox)
    sale.refresh_from_db(fields=["email_sent_at"])
    return UploadResult(sale=sale, photos=photos, email_sent=email_sent)


def _store_result(photo: Photo, future: Future, *, sale: Sale) -> bool:
    """Record one storage call's outcome; False when the photo is not stored."""
    try:
        stored = future.result()
    except StorageError as exc:
        logger.warning("photo not stored external_id=%s key=%s: %s", sale.external_id, photo.storage_key, exc)
        return False
    if _mark_stored(photo, stored):
        return True
    logger.warning("photo stored after a retry replaced it external_id=%s key=%s", sale.external_id, photo.storage_key)
    _delete_replaced([photo.storage_key], sale=sale)
    return False


def _drop_abandoned(rows: list[Photo], *, sale: Sale) -> list[str]:
    """Delete the rows of photos an upload that died left unstored (in the caller's transaction,
    under the sale's lock); their storage keys, for _delete_replaced once committed."""
    if not rows:
        return []
    Photo.objects.filter(pk__in=[p.pk for p in rows], stored_at__isnull=True).delete()
    logger.warning(
        "dropped %d photos an interrupted upload did not store external_id=%s",
        len(rows),
        sale.external_id,
        extra={"external_id": sale.external_id},
    )
    return [p.storage_key for p in rows]


def finish_interrupted_upload(*, sale: Sale, now: datetime) -> EmailOutbox | None:
    """Queue the email of a sale whose upload died, with the photos that were stored.

    Only once the upload has ended: no photo of the sale recorded or refreshed within the stale
    time (selectors.sales_with_interrupted_uploads), and at least one stored (never an email
    without photos). The photos left unstored are dropped first, so the email, the gallery and
    the kiosk's photo list all count the same photos. None when there is nothing to do.
    """
    cutoff = now - upload_stale_after()
    with transaction.atomic():
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
        if (
            locked.status != SaleStatus.COMPLETED
            or locked.email_sent_at is not None
            or locked.photos_deleted_at is not None
        ):
            return None
        rows = list(Photo.objects.select_for_update().filter(sale=locked))
        if not any(p.stored_at for p in rows) or any(p.reserved_at >= cutoff for p in rows):
            return None
        if EmailOutbox.objects.filter(sale=locked, kind=EmailKind.CUSTOMER_PHOTOS).exists():
            return None
        replaced = _drop_abandoned([p for p in rows if p.stored_at is None], sale=locked)
        outbox = EmailOutbox.objects.create(sale=locked, kind=EmailKind.CUSTOMER_PHOTOS, next_attempt_at=now)
    logger.warning(
        "upload interrupted, emailing the stored photos external_id=%s stored=%d dropped=%d",
        locked.external_id,
        len(rows) - len(replaced),
        len(replaced),
        extra={"external_id": locked.external_id},
    )
    _delete_replaced(replaced, sale=locked)
    return outbox


def finish_interrupted_uploads(*, now: datetime, limit: int) -> int:
    """Queue the emails of the sales whose upload died (see finish_interrupted_upload); how many.
    For gallery.services.send_due_emails, which gives its own time and limit."""
    finished = 0
    for sale in selectors.sales_with_interrupted_uploads(now=now)[:limit]:
        if finish_interrupted_upload(sale=sale, now=now) is not None:
            finished += 1
    return finished
