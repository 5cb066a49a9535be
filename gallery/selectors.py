from django.db.models import QuerySet

from gallery.models import Photo
from payments.models import Transaction


def sale_for_photo_list() -> QuerySet[Transaction]:
    return Transaction.objects.only("id", "external_id", "location", "email_sent_at", "paid_at", "photos_deleted_at")


def stored_photos(sale: Transaction) -> QuerySet[Photo]:
    """The sale's photos the customer can see, in upload order; none once they were cleaned up."""
    if sale.photos_deleted_at is not None:
        return Photo.objects.none()
    return Photo.objects.filter(sale=sale, stored_at__isnull=False).order_by("position")


def stored_photo_urls(sale: Transaction) -> list[str]:
    return list(stored_photos(sale).values_list("url", flat=True))
