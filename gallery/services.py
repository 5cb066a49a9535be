"""Photos of a paid sale, the customer's email, and deleting photos after their retention time."""

import logging
import math
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from rest_framework import status

from core import errors
from gallery import selectors
from gallery.models import EmailKind, EmailOutbox, EmailStatus, Photo
from gallery.selectors import upload_stale_after
from gallery.storage import StorageError, StorageRateLimited, StoredPhoto, get_photo_storage
from gallery.validation import CheckedPhoto
from payments.models import SaleStatus, Transaction
from photobox.api import ApiError, jakarta_iso

logger = logging.getLogger("gallery")


def gallery_url(sale: Transaction) -> str:
    return f"{settings.API_BASE_URL}/gallery/{sale.external_id}/{sale.gallery_key}"


def photos_expire_at(sale: Transaction) -> datetime | None:
    """When the photos will be deleted: PHOTO_RETENTION_DAYS after the email went out."""
    start = sale.email_sent_at or sale.paid_at
    return start + timedelta(days=settings.PHOTO_RETENTION_DAYS) if start else None


# --- Upload -------------------------------------------------------------------------------------
class PaymentNotCompleted(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, sale: Transaction):
        super().__init__(
            "Transaction payment not completed yet", details={"external_id": sale.external_id, "status": sale.status}
        )


class EmailAlreadySent(ApiError):
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, sale: Transaction):
        super().__init__(
            "Photos already uploaded and email sent for this transaction",
            details={"external_id": sale.external_id, "email_sent_at": jakarta_iso(sale.email_sent_at)},
        )


class TooManyPhotos(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, *, stored: int, uploading: int):
        limit = settings.PHOTO_MAX_COUNT
        super().__init__(
            f"Too many photos: a session holds at most {limit} (already stored {stored}, this upload adds {uploading})",
            details={"max_count": limit, "stored": stored, "uploading": uploading},
        )


class PhotoStorageFailed(ApiError):
    status_code = status.HTTP_502_BAD_GATEWAY

    def __init__(self, names: list[str]):
        message = (
            f"Failed to upload photo: {names[0]}" if len(names) == 1 else f"Failed to upload photos: {', '.join(names)}"
        )
        super().__init__(message, details={"filename": names[0], "filenames": names})


@dataclass
class UploadResult:
    sale: Transaction
    photos: list[Photo]  # this request's photos, in the order sent
    email_sent: bool


class SaleRefunded(errors.Conflict):
    def __init__(self, sale: Transaction):
        super().__init__("Transaction was refunded", details={"external_id": sale.external_id, "status": sale.status})


def check_sale_accepts_photos(sale: Transaction) -> None:
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


def _reserve_photos(*, sale: Transaction, checked: list[CheckedPhoto]) -> Reservation:
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
        locked = Transaction.objects.select_for_update().get(pk=sale.pk)
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


def _delete_replaced(keys: list[str], *, sale: Transaction) -> None:
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


def upload_photos(*, sale: Transaction, checked: list[CheckedPhoto]) -> UploadResult:
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
        logger.info(
            "photos stored external_id=%s stored=%d failed=%d",
            sale.external_id,
            len(missing) - len(failed),
            len(failed),
            extra={"external_id": sale.external_id},
        )
    _delete_replaced(reservation.replaced_keys, sale=sale)
    if failed:
        raise PhotoStorageFailed([photo.original_name for photo in missing if photo.pk in failed])

    outbox = queue_customer_email(sale=sale)
    email_sent = outbox is not None and send_email(outbox=outbox)
    sale.refresh_from_db(fields=["email_sent_at"])
    return UploadResult(sale=sale, photos=photos, email_sent=email_sent)


def _store_result(photo: Photo, future: Future, *, sale: Transaction) -> bool:
    """Record one storage call's outcome; False when the photo is not stored."""
    try:
        stored = future.result()
    except StorageError as exc:
        logger.warning(
            "photo not stored external_id=%s key=%s: %s",
            sale.external_id,
            photo.storage_key,
            exc,
            extra={"external_id": sale.external_id},
        )
        return False
    if _mark_stored(photo, stored):
        return True
    logger.warning(
        "photo stored after a retry replaced it external_id=%s key=%s",
        sale.external_id,
        photo.storage_key,
        extra={"external_id": sale.external_id},
    )
    _delete_replaced([photo.storage_key], sale=sale)
    return False


# --- The customer's email -----------------------------------------------------------------------
def queue_customer_email(*, sale: Transaction) -> EmailOutbox | None:
    """Create the customer's email once every photo of the sale is stored (once per sale).

    An upload that died never gets here: finish_interrupted_upload queues its email instead."""
    with transaction.atomic():
        locked = Transaction.objects.select_for_update().get(pk=sale.pk)
        photos = Photo.objects.filter(sale=locked)
        if not photos.exists() or photos.filter(stored_at__isnull=True).exists():
            return None
        outbox, _ = EmailOutbox.objects.get_or_create(sale=locked, kind=EmailKind.CUSTOMER_PHOTOS)
    return outbox


def _permanent_errors() -> tuple[type[Exception], ...]:
    """Answers from the mail server that no retry will change: give up and record why."""
    import smtplib

    from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused

    return (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, AnymailRecipientsRefused, AnymailInvalidAddress)


def _is_permanent(error: Exception) -> bool:
    """A refusal is final only with a 5xx code: 4xx (greylisting, a full mailbox, rate limits)
    means "try again later", and smtplib raises the same exceptions for both."""
    import smtplib

    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused):
        return error.smtp_code >= 500
    return isinstance(error, _permanent_errors())


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most 2 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 120))


STALE_SENDING = timedelta(minutes=10)


def send_email(*, outbox: EmailOutbox, now: datetime | None = None) -> bool:
    """Send one outbox email if it is due; True when it went out (now or before).

    The row is claimed with a conditional UPDATE, so two workers never send the same email.
    """
    from gallery.emails import build_customer_email

    now = now or timezone.now()
    claimed = (
        EmailOutbox.objects.filter(pk=outbox.pk, next_attempt_at__lte=now)
        .filter(Q(status=EmailStatus.PENDING) | Q(status=EmailStatus.SENDING, updated_at__lt=now - STALE_SENDING))
        .update(status=EmailStatus.SENDING, updated_at=now)
    )
    if not claimed:
        outbox.refresh_from_db()
        return outbox.status == EmailStatus.SENT
    outbox.refresh_from_db()
    sale = Transaction.objects.select_related("location", "price").get(pk=outbox.sale_id)
    attempts = outbox.attempts + 1
    try:
        message = build_customer_email(sale=sale, gallery_url=gallery_url(sale))
        message.send()
    except Exception as exc:  # a final refusal gives up; connection errors, timeouts, 4xx, ESP outages are retried
        give_up = _is_permanent(exc) or attempts >= settings.EMAIL_MAX_ATTEMPTS
        _record_email_failure(outbox, attempts=attempts, error=exc, give_up=give_up)
        return False
    sent_at = timezone.now()
    with transaction.atomic():
        EmailOutbox.objects.filter(pk=outbox.pk).update(
            status=EmailStatus.SENT, attempts=attempts, sent_at=sent_at, last_error="", updated_at=sent_at
        )
        Transaction.objects.filter(pk=sale.pk, email_sent_at__isnull=True).update(
            email_sent_at=sent_at, updated_at=sent_at
        )
    logger.info(
        "customer email sent external_id=%s attempts=%d",
        sale.external_id,
        attempts,
        extra={"external_id": sale.external_id},
    )
    return True


def _record_email_failure(outbox: EmailOutbox, *, attempts: int, error: Exception, give_up: bool) -> None:
    now = timezone.now()
    reason = f"{type(error).__name__}: {error}"[:2000]
    EmailOutbox.objects.filter(pk=outbox.pk).update(
        status=EmailStatus.FAILED if give_up else EmailStatus.PENDING,
        attempts=attempts,
        last_error=reason,
        next_attempt_at=now + retry_delay(attempts),
        updated_at=now,
    )
    logger.warning(
        "customer email %s sale_id=%s attempt=%d: %s",
        "abandoned" if give_up else "failed, will retry",
        outbox.sale_id,
        attempts,
        type(error).__name__,
        extra={"external_id": outbox.sale.external_id},
    )


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    interrupted: int = 0  # sales whose upload died, emailed (or queued) with their stored photos


def _drop_abandoned(rows: list[Photo], *, sale: Transaction) -> list[str]:
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


def finish_interrupted_upload(*, sale: Transaction, now: datetime | None = None) -> EmailOutbox | None:
    """Queue the email of a sale whose upload died, with the photos that were stored.

    Only once the upload has ended: no photo of the sale recorded or refreshed within the stale
    time (selectors.sales_with_interrupted_uploads), and at least one stored (never an email
    without photos). The photos left unstored are dropped first, so the email, the gallery and
    the kiosk's photo list all count the same photos. None when there is nothing to do.
    """
    now = now or timezone.now()
    cutoff = now - upload_stale_after()
    with transaction.atomic():
        locked = Transaction.objects.select_for_update().get(pk=sale.pk)
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


def finish_interrupted_uploads(*, now: datetime | None = None, limit: int = 200) -> int:
    """Queue the emails of the sales whose upload died (see finish_interrupted_upload); how many."""
    now = now or timezone.now()
    finished = 0
    for sale in selectors.sales_with_interrupted_uploads(now=now)[:limit]:
        if finish_interrupted_upload(sale=sale, now=now) is not None:
            finished += 1
    return finished


def send_due_emails(*, now: datetime | None = None, limit: int = 200) -> SendReport:
    """Send the emails that are due, after queueing those of sales whose upload died."""
    now = now or timezone.now()
    report = SendReport(interrupted=finish_interrupted_uploads(now=now, limit=limit))
    due = EmailOutbox.objects.filter(next_attempt_at__lte=now).filter(
        Q(status=EmailStatus.PENDING) | Q(status=EmailStatus.SENDING, updated_at__lt=now - STALE_SENDING)
    )
    for outbox in due.order_by("next_attempt_at")[:limit]:
        if send_email(outbox=outbox, now=now):
            report.sent += 1
        else:
            report.failed += 1
    return report


# --- Cleanup ------------------------------------------------------------------------------------
@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)  # external ids
    failed: list[str] = field(default_factory=list)
    api_calls: int = 0
    stopped_for_budget: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict:
        count = len(self.deleted)
        message = f"{count} folders would be deleted" if self.dry_run else f"{count} folders deleted successfully"
        if self.stopped_for_budget:
            message += "; stopped early to stay within the storage API budget, the rest follow next run"
        return {
            "deleted_count": count,
            "folders": self.deleted,
            "failed_count": len(self.failed),
            "failed_folders": self.failed,
            "message": message,
        }


CLEANUP_CLAIM = timedelta(minutes=15)
CLEANUP_MAX_FAILED_BATCHES = 3


def sales_due_for_cleanup(*, days: int, now: datetime):
    cutoff = now - timedelta(days=days)
    return Transaction.objects.filter(photos_deleted_at__isnull=True).filter(
        Q(email_sent_at__lt=cutoff) | Q(email_sent_at__isnull=True, paid_at__lt=cutoff, photos__isnull=False)
    )


def cleanup_photos(*, days: int, dry_run: bool = False, now: datetime | None = None) -> CleanupReport:
    """Delete the photos of sales whose email went out more than `days` days ago.

    Deletes in batches of as many photos as one storage call takes (Cloudinary: 100 ids, so about
    8 sales of 12 photos per Admin API call), stops when the hourly budget runs low, and marks
    each sale done. Overlapping runs claim different sales; a failure is retried next run.
    """
    now = now or timezone.now()
    report = CleanupReport(dry_run=dry_run)
    due = sales_due_for_cleanup(days=days, now=now)
    if dry_run:
        report.deleted = list(due.order_by("pk").values_list("external_id", flat=True).distinct())
        return report

    storage = get_photo_storage()
    # Through the due sales once, in pk order (keyset, so a long backlog stays linear): a sale
    # that fails waits for the next run.
    after_pk = 0
    failed_in_a_row = 0
    while True:
        batch, after_pk = _claim_cleanup_batch(
            due=due.filter(pk__gt=after_pk), now=now, max_photos=storage.delete_batch_size
        )
        if after_pk is None:
            break
        if not batch:
            continue  # another run claimed this page
        keys = [key for sale_keys in batch.values() for key in sale_keys]
        try:
            result = storage.delete(keys) if keys else None
        except StorageRateLimited:
            Transaction.objects.filter(pk__in=list(batch)).update(photos_cleanup_claimed_at=None)
            report.api_calls += 1  # refused calls count against the budget too
            report.stopped_for_budget = True
            break
        failed_keys = result.failed if result else set()
        report.api_calls += result.calls if result else 0
        done = [sale_id for sale_id, sale_keys in batch.items() if not failed_keys.intersection(sale_keys)]
        Transaction.objects.filter(pk__in=done, photos_deleted_at__isnull=True).update(
            photos_deleted_at=timezone.now(), photos_cleanup_claimed_at=None
        )
        Transaction.objects.filter(pk__in=[s for s in batch if s not in done]).update(photos_cleanup_claimed_at=None)
        names = dict(Transaction.objects.filter(pk__in=list(batch)).values_list("pk", "external_id"))
        report.deleted.extend(names[sale_id] for sale_id in batch if sale_id in done)
        report.failed.extend(names[sale_id] for sale_id in batch if sale_id not in done)
        # A storage that keeps failing would eat the budget batch after batch: try again next run.
        failed_in_a_row = failed_in_a_row + 1 if not done else 0
        if failed_in_a_row >= CLEANUP_MAX_FAILED_BATCHES:
            break
        if (
            result
            and result.budget_remaining is not None
            and result.budget_remaining <= settings.CLOUDINARY_ADMIN_API_RESERVE
        ):
            report.stopped_for_budget = True
            break
    if report.deleted or report.failed:
        logger.info(
            "cleanup deleted=%d failed=%d storage_calls=%d", len(report.deleted), len(report.failed), report.api_calls
        )
    return report


def _claim_cleanup_batch(*, due, now: datetime, max_photos: int) -> tuple[dict[int, list[str]], int | None]:
    """Claim the next sales (in pk order) whose photos fit in one delete call, with one
    conditional UPDATE; a claim older than CLEANUP_CLAIM (a run that died) may be taken over.

    Returns the claimed sales' storage keys and the last pk looked at (None when none are left).
    """
    unclaimed = Q(photos_cleanup_claimed_at__isnull=True) | Q(photos_cleanup_claimed_at__lt=now - CLEANUP_CLAIM)
    page = list(due.filter(unclaimed).order_by("pk").values_list("pk", flat=True).distinct()[:max_photos])
    if not page:
        return {}, None
    photo_counts = dict(
        Photo.objects.filter(sale_id__in=page).values("sale_id").annotate(n=Count("pk")).values_list("sale_id", "n")
    )
    chosen, total = [], 0
    for sale_id in page:
        photo_count = photo_counts.get(sale_id, 0)
        if chosen and total + photo_count > max_photos:
            break
        chosen.append(sale_id)
        total += photo_count
    token = timezone.now()
    Transaction.objects.filter(unclaimed, pk__in=chosen, photos_deleted_at__isnull=True).update(
        photos_cleanup_claimed_at=token
    )
    # In pk order, like the dry run (the model's default order, newest first, is not stable here).
    claimed = list(
        Transaction.objects.filter(pk__in=chosen, photos_cleanup_claimed_at=token)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    batch: dict[int, list[str]] = {sale_id: [] for sale_id in claimed}
    for sale_id, key in (
        Photo.objects.filter(sale_id__in=claimed).order_by("sale_id", "position").values_list("sale_id", "storage_key")
    ):
        batch[sale_id].append(key)
    return batch, chosen[-1]


# --- Staff: resend the customer's email ---------------------------------------------------------
class EmailCannotBeResent(Exception):
    """Why the customer's email cannot be sent again, in words for staff."""


def resend_customer_email(*, sale: Transaction, email: str | None = None) -> EmailOutbox:
    """Send a paid sale's photo email again, to its address or to a corrected one (staff).

    Only while the sale's photos are stored and not yet deleted: the email's link must show them.
    After an upload that died (its unstored photos stale, at least one stored), the photos it left
    unstored are dropped and the email goes out with the stored ones; while an upload may still be
    running it is refused. The outbox row is reset to pending with a fresh retry budget (or
    created), then sent at once through `send_email`; should that attempt fail, `send_emails`
    retries it as usual. Returns the outbox row as it stands afterwards (status SENT when it went
    out now).
    """
    now = timezone.now()
    replaced: list[str] = []
    with transaction.atomic():
        locked = Transaction.objects.select_for_update().get(pk=sale.pk)
        if locked.status != SaleStatus.COMPLETED:
            raise EmailCannotBeResent(f"{locked.external_id} is not paid: there are no photos to send.")
        if locked.photos_deleted_at is not None:
            deleted = timezone.localtime(locked.photos_deleted_at)
            raise EmailCannotBeResent(
                f"The photos of {locked.external_id} were deleted on {deleted:%d %b %Y}: the link would show nothing."
            )
        rows = list(Photo.objects.select_for_update().filter(sale=locked))
        if not rows:
            raise EmailCannotBeResent(f"The kiosk has not uploaded any photos for {locked.external_id} yet.")
        unstored = [p for p in rows if p.stored_at is None]
        running = [p for p in unstored if not selectors.is_abandoned(p, now=now)]
        if running:
            stale_at = max(p.reserved_at for p in running) + upload_stale_after()
            minutes = max(math.ceil((stale_at - now).total_seconds() / 60), 1)
            raise EmailCannotBeResent(
                f"Some photos of {locked.external_id} are not stored yet: the kiosk is uploading them. "
                f"Try again in {minutes} minute{'' if minutes == 1 else 's'}: if that upload stopped, "
                "the email then goes out with the photos that were stored."
            )
        if unstored and len(unstored) == len(rows):
            raise EmailCannotBeResent(
                f"The kiosk's upload for {locked.external_id} was interrupted before any photo was stored: "
                "there is nothing to send. The kiosk must upload the photos again."
            )
        replaced = _drop_abandoned(unstored, sale=locked)
        if email is not None and email.strip() and email.strip() != locked.email:
            address = email.strip()
            try:
                validate_email(address)
            except ValidationError:
                raise EmailCannotBeResent(f"“{address}” is not an email address.") from None
            locked.email = address
            locked.save(update_fields=["email", "updated_at"])
            logger.info(
                "customer email address changed by staff external_id=%s",
                locked.external_id,
                extra={"external_id": locked.external_id},
            )
        outbox, _ = EmailOutbox.objects.get_or_create(sale=locked, kind=EmailKind.CUSTOMER_PHOTOS)
        # A send in progress (claimed less than STALE_SENDING ago) is left alone.
        reset = (
            EmailOutbox.objects.filter(pk=outbox.pk)
            .exclude(status=EmailStatus.SENDING, updated_at__gte=now - STALE_SENDING)
            .update(status=EmailStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        )
        if not reset:
            raise EmailCannotBeResent(
                f"The email of {locked.external_id} is being sent right now: look again in a minute."
            )
    sale.email = locked.email
    _delete_replaced(replaced, sale=locked)
    send_email(outbox=outbox, now=now)
    outbox.refresh_from_db()
    logger.info(
        "customer email resent by staff external_id=%s status=%s",
        locked.external_id,
        outbox.status,
        extra={"external_id": locked.external_id},
    )
    return outbox
