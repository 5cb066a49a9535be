"""The customer's email: gallery link, when the link expires, and the invoice when asked for.

Written in settings.LANGUAGE_CODE (Indonesian by default), with dates in the kiosks' time zone,
as an HTML email (inline CSS, tables, no images, scripts or emoji: it must look right in Gmail
and Outlook, on a 360 px phone too) with a plain-text alternative.
"""

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from core.formats import JAKARTA, rupiah
from gallery.selectors import photos_expire_at
from payments.models import Sale


def build_customer_email(*, sale: Sale, gallery_url: str) -> EmailMultiAlternatives:
    """The email for a paid sale whose photos are all stored; built right before it is sent."""
    # The email goes out now: sale.email_sent_at is still empty at this point.
    expires_at = photos_expire_at(sale, email_sent_at=timezone.now())
    with translation.override(settings.LANGUAGE_CODE), timezone.override(JAKARTA):
        if sale.send_invoice:
            subject = gettext("Invoice & Your Photobox Photos Are Ready!")
        else:
            subject = gettext("Your Photobox Photos Are Ready!")
        context = {
            "subject": subject,
            "app_name": settings.APP_NAME,
            "language_code": settings.LANGUAGE_CODE,
            "location_name": sale.location.name,
            "photo_count": sale.photos.count(),
            "gallery_url": gallery_url,
            "retention_days": settings.PHOTO_RETENTION_DAYS,
            "expires_at": expires_at,
            "invoice": _invoice(sale) if sale.send_invoice else None,
        }
        text = _tidy(render_to_string("emails/customer_photos.txt", context))
        html = render_to_string("emails/customer_photos.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[sale.email]
    )
    message.attach_alternative(html, "text/html")
    return message


def _invoice(sale: Sale) -> dict:
    return {
        "number": sale.external_id,
        "paid_at": sale.paid_at,
        "location_name": sale.location.name,
        "location_address": sale.location.address,
        "package": sale.price.description,
        # With a voucher: the list price, what it took off and its code, then what was paid.
        "list_price": rupiah(sale.list_price),
        "discount": rupiah(sale.discount),
        "voucher_code": sale.voucher_code,
        "free": sale.is_free_session,
        "amount": rupiah(sale.amount),
        "payment_channel": sale.payment_channel,
        "receipt_id": sale.payment_receipt_id,
    }


def _tidy(text: str) -> str:
    """The plain-text body without the template tags' stray blank lines and trailing spaces."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
