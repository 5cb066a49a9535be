"""Deleting the photos of sales past their retention time, in storage-sized batches within the
storage API budget."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from gallery.models import Photo
from gallery.selectors import retention_over
from gallery.storage import StorageRateLimited, get_photo_storage
from payments.models import Sale

logger = logging.getLogger("gallery")


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)  # external ids
    failed: list[str] = field(default_factory=list)
    api_calls: int = 0
    stopped_for_budget: bool = False
    dry_run: bool = False

    @property
    def message(self) -> str:
        """The report in words (the cleanup endpoint's `message`)."""
        count = len(self.deleted)
        message = f"{count} folders would be deleted" if self.dry_run else f"{count} folders deleted successfully"
        if self.stopped_for_budget:
            message += "; stopped early to stay within the storage API budget, the rest follow next run"
        return message


CLEANUP_CLAIM = timedelta(minutes=15)
CLEANUP_MAX_FAILED_BATCHES = 3


def sales_due_for_cleanup(*, days: int, now: datetime):
    return Sale.objects.filter(photos_deleted_at__isnull=True).filter(retention_over(now=now, days=days))


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
            Sale.objects.filter(pk__in=list(batch)).update(photos_cleanup_claimed_at=None)
            report.api_calls += 1  # refused calls count against the budget too
            report.stopped_for_budget = True
            break
        failed_keys = result.failed if result else set()
        report.api_calls += result.calls if result else 0
        done = [sale_id for sale_id, sale_keys in batch.items() if not failed_keys.intersection(sale_keys)]
        Sale.objects.filter(pk__in=done, photos_deleted_at__isnull=True).update(
            photos_deleted_at=timezone.now(), photos_cleanup_claimed_at=None
        )
        Sale.objects.filter(pk__in=[s for s in batch if s not in done]).update(photos_cleanup_claimed_at=None)
        names = dict(Sale.objects.filter(pk__in=list(batch)).values_list("pk", "external_id"))
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
    Sale.objects.filter(unclaimed, pk__in=chosen, photos_deleted_at__isnull=True).update(
        photos_cleanup_claimed_at=token
    )
    # In pk order, like the dry run (the model's default order, newest first, is not stable here).
    claimed = list(
        Sale.objects.filter(pk__in=chosen, photos_cleanup_claimed_at=token).order_by("pk").values_list("pk", flat=True)
    )
    batch: dict[int, list[str]] = {sale_id: [] for sale_id in claimed}
    for sale_id, key in (
        Photo.objects.filter(sale_id__in=claimed).order_by("sale_id", "position").values_list("sale_id", "storage_key")
    ):
        batch[sale_id].append(key)
    return batch, chosen[-1]
