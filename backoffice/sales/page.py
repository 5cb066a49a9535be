"""The sale's page: its whole story, read-only. The payment problem, what happened (the history), the
customer's gallery and when its photos go, and the QRIS code the customer scanned."""

import segno
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from backoffice.tools import jakarta_time
from core.formats import rupiah
from gallery import outbox as gallery_outbox
from gallery import selectors as gallery_selectors
from payments import selectors
from payments.models import Sale


class SalePageAdminMixin:
    """The sale page's read-only fields, for the sales' ModelAdmin."""

    @admin.display(description="review")
    def review_state(self, sale: Sale):
        if sale.needs_review:
            return format_html(
                '<strong style="color:#cf222e">⚠ Needs review</strong><br>{}',
                format_html_join("", "{}<br>", ((line,) for line in sale.review_reason.splitlines())),
            )
        return "No open problem."

    @admin.display(description="history")
    def history(self, sale: Sale):
        rows = []
        for entry in selectors.sale_history(sale):
            link = ""
            if entry.event is not None:
                url = reverse("admin:payments_paymentevent_change", args=[entry.event.pk])
                link = format_html('<a href="{}">details</a>', url)
            rows.append(
                (
                    jakarta_time(entry.at),
                    entry.what,
                    entry.detail,
                    rupiah(entry.amount) if entry.amount is not None else "",
                    link,
                )
            )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>When (Jakarta)</th><th>What happened</th><th>Detail</th>"
            "<th>Amount</th><th></th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="customer's gallery")
    def gallery_link(self, sale: Sale):
        if sale.photos_deleted_at:
            return "The photos were deleted, so the gallery shows an “expired” page."
        if not getattr(sale, "photo_count", 0):
            return "No photos uploaded yet."
        url = gallery_outbox.gallery_url(sale)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description="photo deletion")
    def cleanup_state(self, sale: Sale) -> str:
        if sale.photos_deleted_at:
            return f"Photos deleted on {jakarta_time(sale.photos_deleted_at)}."
        if not getattr(sale, "photo_count", 0):
            return "—"
        expires = gallery_selectors.photos_expire_at(sale)
        when = f"on or after {jakarta_time(expires)}" if expires else "after the email went out"
        return f"Photos are kept {settings.PHOTO_RETENTION_DAYS} days: they will be deleted {when}."

    @admin.display(description="QRIS code")
    def qr_display(self, sale: Sale):
        if not sale.qr_string:
            return "No QR code (the gateway did not make one)."
        image = segno.make_qr(sale.qr_string, error="m").svg_data_uri(scale=3, border=2)
        return format_html(
            '<img src="{}" alt="QR code" style="display:block;margin-bottom:8px">'
            '<code style="word-break:break-all;white-space:pre-wrap">{}</code>',
            image,
            sale.qr_string,
        )
