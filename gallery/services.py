"""A paid sale's gallery link and expiry, sending the due emails, and staff resending the customer's email.

The rest lives by job: the upload in gallery.uploads, the email outbox in gallery.outbox, and
deleting photos after their retention time in gallery.cleanup.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gallery import selectors
from gallery.models import EmailKind, EmailOutbox, EmailStatus, Photo
from gallery.outbox import STALE_SENDING, send_email
from gallery.selectors import upload_stale_after
from gallery.uploads import _delete_replaced, _drop_abandoned, finish_interrupted_uploads
from payments.models import Sale, SaleStatus

logger = logging.getLogger("gallery")


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    interrupted: int = 0  # sales whose upload died, emailed (or queued) with their stored photos


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


# --- Staff: resend the customer's email ---------------------------------------------------------
class EmailCannotBeResent(Exception):
    """Why the customer's email cannot be sent again, in words for staff."""


def resend_customer_email(*, sale: Sale, email: str | None = None) -> EmailOutbox:
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
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
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
