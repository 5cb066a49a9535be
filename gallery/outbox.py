"""The customer's email outbox: the gallery link it carries, queueing the email once every photo
is stored, sending it (one worker per email), and the retries after a failed attempt."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gallery.models import EmailKind, EmailOutbox, EmailStatus, Photo
from payments.models import Sale

logger = logging.getLogger("gallery")


def gallery_url(sale: Sale) -> str:
    return f"{settings.API_BASE_URL}/gallery/{sale.external_id}/{sale.gallery_key}"


def queue_customer_email(*, sale: Sale) -> EmailOutbox | None:
    """Create the customer's email once every photo of the sale is stored (once per sale).

    An upload that died never gets here: finish_interrupted_upload queues its email instead."""
    with transaction.atomic():
        locked = Sale.objects.select_for_update().get(pk=sale.pk)
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
    if outbox.sale_id is None:
        return _send_staff_alert(outbox)
    sale = Sale.objects.select_related("location", "price").get(pk=outbox.sale_id)
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
        Sale.objects.filter(pk=sale.pk, email_sent_at__isnull=True).update(email_sent_at=sent_at, updated_at=sent_at)
    logger.info(
        "customer email sent external_id=%s attempts=%d",
        sale.external_id,
        attempts,
        extra={"external_id": sale.external_id},
    )
    return True


def queue_staff_alerts(*, alerts: list[tuple[str, str, str]], recipients: list[str], now: datetime) -> None:
    """Queue one email to `recipients` per (alert_key, subject, body); a key already queued (by
    this run, an earlier one or one running at the same time) is skipped by its unique constraint."""
    if not alerts or not recipients:
        return
    EmailOutbox.objects.bulk_create(
        [
            EmailOutbox(
                kind=EmailKind.STAFF_ALERT,
                alert_key=key,
                recipients=", ".join(recipients),
                subject=subject[:200],
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for key, subject, body in alerts
        ],
        ignore_conflicts=True,
    )


def _send_staff_alert(outbox: EmailOutbox) -> bool:
    """Send a claimed staff alert as it was written when queued."""
    from django.core.mail import EmailMessage

    attempts = outbox.attempts + 1
    to = [address.strip() for address in outbox.recipients.split(",") if address.strip()]
    try:
        EmailMessage(subject=f"[{settings.APP_NAME}] {outbox.subject}", body=outbox.body, to=to).send()
    except Exception as exc:  # retried like a customer's email
        give_up = _is_permanent(exc) or attempts >= settings.EMAIL_MAX_ATTEMPTS
        _record_email_failure(outbox, attempts=attempts, error=exc, give_up=give_up)
        return False
    sent_at = timezone.now()
    EmailOutbox.objects.filter(pk=outbox.pk).update(
        status=EmailStatus.SENT, attempts=attempts, sent_at=sent_at, last_error="", updated_at=sent_at
    )
    logger.info("staff alert sent alert_key=%s attempts=%d", outbox.alert_key, attempts)
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
    if outbox.sale_id is None:
        logger.warning(
            "staff alert %s alert_key=%s attempt=%d: %s",
            "abandoned" if give_up else "failed, will retry",
            outbox.alert_key,
            attempts,
            type(error).__name__,
        )
        return
    logger.warning(
        "customer email %s sale_id=%s attempt=%d: %s",
        "abandoned" if give_up else "failed, will retry",
        outbox.sale_id,
        attempts,
        type(error).__name__,
        extra={"external_id": outbox.sale.external_id},
    )
