"""Reads of a sale's gallery: its photos, the customer email's state, how long the photos are kept,
and uploads that died.

The gallery's columns live on the sale row (`Sale.email_sent_at`, `photos_deleted_at`,
`photos_cleanup_claimed_at`, `gallery_key`, see payments/models.py); their rules live here and in
gallery's services, never in payments.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import lookups
from gallery.models import EmailKind, EmailOutbox, EmailStatus, Photo
from gallery.storage import upload_stale_seconds
from payments.models import Sale, SaleReview, SaleStatus, reviews_prefetch


def sale_for_photo_list() -> QuerySet[Sale]:
    return Sale.objects.only("id", "external_id", "location", "email_sent_at", "paid_at", "photos_deleted_at")


def stored_photos(sale: Sale) -> QuerySet[Photo]:
    """The sale's photos the customer can see, in upload order; none once they were cleaned up."""
    if sale.photos_deleted_at is not None:
        return Photo.objects.none()
    return Photo.objects.filter(sale=sale, stored_at__isnull=False).order_by("position")


def stored_photo_urls(sale: Sale) -> list[str]:
    return list(stored_photos(sale).values_list("url", flat=True))


# --- How long photos are kept ----------------------------------------------------------------
def retention(days: int | None = None) -> timedelta:
    """Photos are kept PHOTO_RETENTION_DAYS (or `days`: the cleanup's override) after the email
    went out; a paid sale whose email never went out counts from its payment instead."""
    return timedelta(days=settings.PHOTO_RETENTION_DAYS if days is None else days)


def photos_expire_at(sale: Sale, *, email_sent_at: datetime | None = None) -> datetime | None:
    """When the sale's photos will be deleted. `email_sent_at`: the email about to go out, whose
    link promises this date before the sale records it."""
    start = email_sent_at or sale.email_sent_at or sale.paid_at
    return start + retention() if start else None


def retention_over(*, now: datetime, days: int | None = None) -> Q:
    """Sales past their retention at `now`, as `photos_expire_at` counts it: by the email, or by the
    payment for a sale with photos whose email never went out. Two branches, each on its partial
    index (sale_photos_to_clean_idx, sale_unsent_photos_idx)."""
    cutoff = now - retention(days)
    return Q(email_sent_at__lt=cutoff) | Q(email_sent_at__isnull=True, paid_at__lt=cutoff, photos__isnull=False)


# --- The customer email's state --------------------------------------------------------------
# Paid sales whose email has not gone out while their photos are kept: what staff can still act
# on. Matches the partial index sale_paid_unsent_idx.
_UNSENT = {"status": SaleStatus.COMPLETED, "email_sent_at__isnull": True, "photos_deleted_at__isnull": True}
_ANY_EMAIL = None  # the state does not depend on the outbox row
_NO_EMAIL: tuple[str, ...] = ()  # no outbox row: nothing queued


@dataclass(frozen=True)
class EmailState:
    """One state of the customer's email, defined once: on the sale row (exact and `__isnull`
    lookups) and on the status of its outbox row. `condition` is that definition as a query;
    `holds` the same definition read off a sale and its outbox status."""

    label: str
    sale: dict
    outbox: tuple[str, ...] | None

    @property
    def condition(self) -> Q:
        condition = Q(**self.sale)
        if self.outbox is _ANY_EMAIL:
            return condition
        email = EmailOutbox.objects.filter(sale=OuterRef("pk"), kind=EmailKind.CUSTOMER_PHOTOS)
        if not self.outbox:
            return condition & Q(~Exists(email))
        statuses: dict[str, str | list[str]] = (
            {"status": self.outbox[0]} if len(self.outbox) == 1 else {"status__in": list(self.outbox)}
        )
        return condition & Q(Exists(email.filter(**statuses)))

    def holds(self, sale: Sale, outbox_status: str | None) -> bool:
        if not lookups.holds(sale, self.sale):
            return False
        if self.outbox is _ANY_EMAIL:
            return True
        return outbox_status is None if not self.outbox else outbox_status in self.outbox


EMAIL_STATES = {
    "sent": EmailState("Sent", {"email_sent_at__isnull": False}, _ANY_EMAIL),
    "no_photos": EmailState("Not sent: no photos uploaded yet", _UNSENT, _NO_EMAIL),
    "retrying": EmailState("Not sent yet: trying again", _UNSENT, (EmailStatus.PENDING, EmailStatus.SENDING)),
    "failed": EmailState("Not sent: gave up (can be resent)", _UNSENT, (EmailStatus.FAILED,)),
    "never": EmailState(
        "Never sent, photos deleted",
        {"status": SaleStatus.COMPLETED, "email_sent_at__isnull": True, "photos_deleted_at__isnull": False},
        _ANY_EMAIL,
    ),
}


def email_state(sale: Sale, outbox_status: str | None) -> str | None:
    """The key in EMAIL_STATES of a sale whose customer email's outbox row has `outbox_status`
    (None: no row); None for a sale in none of them (not paid, and no email sent)."""
    return next((key for key, state in EMAIL_STATES.items() if state.holds(sale, outbox_status)), None)


def failed_emails() -> QuerySet[Sale]:
    """Paid sales whose email gave up and whose photos are still there to send."""
    return Sale.objects.filter(EMAIL_STATES["failed"].condition)


def with_photo_and_email_state(sales: list[Sale]) -> list[Sale]:
    """Give a page of sales their photo count and email state (`email_status` and
    `email_attempts` of the outbox row, and `email_state`): two small queries for the page, and a
    third for the review reasons when a sale on it needs review.

    Done after the page is cut, not as subqueries in the list's query: PostgreSQL would evaluate
    those for every row it sorts or skips (a million, when sorting by amount), not just the 50 shown.
    """
    ids = [sale.pk for sale in sales]
    if not ids:
        return sales
    photos = Photo.objects.filter(sale_id__in=ids).order_by().values("sale_id").annotate(n=Count("pk"))
    counts = dict(photos.values_list("sale_id", "n"))
    emails = {
        sale_id: (status, attempts)
        for sale_id, status, attempts in EmailOutbox.objects.filter(
            sale_id__in=ids, kind=EmailKind.CUSTOMER_PHOTOS
        ).values_list("sale_id", "status", "attempts")
    }
    for sale in sales:
        status, attempts = emails.get(sale.pk, (None, 0))
        # Read by the staff's sale list: no fields of the model, so plain attributes of this instance.
        vars(sale).update(
            photo_count=counts.get(sale.pk, 0),
            email_status=status,
            email_attempts=attempts,
            email_state=email_state(sale, status),
        )
    if flagged := [sale for sale in sales if sale.needs_review]:
        prefetch_related_objects(flagged, reviews_prefetch())
    return sales


def sales_for_export(sales: QuerySet[Sale]) -> QuerySet[Sale]:
    """The CSV export streams every row in the list's order, so each row's photo count comes from a
    correlated subquery (on the photo index) as it is read; its open review reasons come with each
    chunk the export reads."""
    photo_count = (
        Photo.objects.filter(sale=OuterRef("pk")).order_by().values("sale").annotate(count=Count("pk")).values("count")
    )
    open_reviews = Prefetch("reviews", queryset=SaleReview.objects.filter(resolution__isnull=True))
    return (
        sales.select_related("location", "price")
        .annotate(photo_count=Coalesce(Subquery(photo_count, output_field=IntegerField()), Value(0)))
        .prefetch_related(open_reviews)
    )


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
        Sale.objects.filter(**_UNSENT, paid_at__gte=now - retention())
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
