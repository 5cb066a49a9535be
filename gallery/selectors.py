from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from gallery.models import EmailKind, EmailOutbox, Photo
from gallery.storage import upload_stale_seconds
from payments.models import Sale, SaleStatus


def sale_for_photo_list() -> QuerySet[Sale]:
    return Sale.objects.only("id", "external_id", "location", "email_sent_at", "paid_at", "photos_deleted_at")


def stored_photos(sale: Sale) -> QuerySet[Photo]:
    """The sale's photos the customer can see, in upload order; none once they were cleaned up."""
    if sale.photos_deleted_at is not None:
        return Photo.objects.none()
    return Photo.objects.filter(sale=sale, stored_at__isnull=False).order_by("position")


def stored_photo_urls(sale: Sale) -> list[str]:
    return list(stored_photos(sale).values_list("url", flat=True))


# --- Uploads that died ----------------------------------------------------------------------
def upload_stale_after() -> timedelta:
    """A photo recorded but not stored, whose upload showed no sign of life for this long, was left
    by an upload that died (settings.PHOTO_UPLOAD_STALE_SECONDS, 5 minutes by default)."""
    return timedelta(seconds=upload_stale_seconds())


def is_abandoned(photo: Photo, *, now: datetime | None = None) -> bool:
    return photo.stored_at is None and photo.reserved_at < (now or timezone.now()) - upload_stale_after()


@dataclass(frozen=True)
class UploadState:
    """Where a sale's photos stand, for staff."""

    stored: int = 0
    uploading: int = 0  # recorded, not stored, their upload alive (or only just died)
    abandoned: int = 0  # recorded, not stored, their upload died
    abandoned_since: datetime | None = None  # the last sign of life of the upload that died

    @property
    def interrupted(self) -> bool:
        """The kiosk's upload died and nothing is storing the rest."""
        return self.abandoned > 0 and self.uploading == 0


def upload_state(sale: Sale, *, now: datetime | None = None) -> UploadState:
    """One query over the sale's photos (at most PHOTO_MAX_COUNT rows, plus a dead upload's)."""
    now = now or timezone.now()
    cutoff = now - upload_stale_after()
    stored = uploading = abandoned = 0
    abandoned_since = None
    for stored_at, reserved_at in Photo.objects.filter(sale=sale).values_list("stored_at", "reserved_at"):
        if stored_at is not None:
            stored += 1
        elif reserved_at >= cutoff:
            uploading += 1
        else:
            abandoned += 1
            abandoned_since = max(abandoned_since or reserved_at, reserved_at)
    return UploadState(stored=stored, uploading=uploading, abandoned=abandoned, abandoned_since=abandoned_since)


def sales_with_interrupted_uploads(*, now: datetime) -> QuerySet[Sale]:
    """Paid sales whose email has not been queued although their upload has ended: at least one
    photo stored, and no photo recorded or refreshed within the stale time (so every photo is
    stored or abandoned). `send_emails` sends them the email with the stored photos.

    Only sales paid within PHOTO_RETENTION_DAYS: older ones are past saving (the cleanup deletes
    their photos). The sales are found through the partial index on unsent sales' paid_at.
    """
    cutoff = now - upload_stale_after()
    photos = Photo.objects.filter(sale=OuterRef("pk"))
    return (
        Sale.objects.filter(
            status=SaleStatus.COMPLETED,
            email_sent_at__isnull=True,
            photos_deleted_at__isnull=True,
            paid_at__gte=now - timedelta(days=settings.PHOTO_RETENTION_DAYS),
        )
        .filter(Exists(photos.filter(stored_at__isnull=False)))
        .exclude(Exists(photos.filter(reserved_at__gte=cutoff)))
        .exclude(Exists(EmailOutbox.objects.filter(sale=OuterRef("pk"), kind=EmailKind.CUSTOMER_PHOTOS)))
        .order_by("paid_at")
    )


def outbox_search_filter(term: str) -> Q:
    """The email list's search box: a sale number or the customer's email address. Indexed equalities
    on the sales (number, UPPER(email)), then the emails of those sales."""
    term = term.strip()
    sales = Sale.objects.filter(Q(external_id__in=sorted({term, term.upper()})) | Q(email__iexact=term))
    return Q(sale_id__in=sales.values("pk"))
