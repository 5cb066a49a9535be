"""The sale list as a spreadsheet: every sale the list shows with its filters and search, streamed."""

from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils import timezone

from backoffice.exports import csv_amount, csv_response
from core.formats import JAKARTA
from gallery import selectors as gallery_selectors


class SaleExportAdminMixin:
    """/admin/payments/sale/export/ (with the list's query string), for anyone who may view sales."""

    def get_export_urls(self):
        return [path("export/", self.admin_site.admin_view(self.export_view), name="payments_sale_export")]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        sales = gallery_selectors.sales_for_export(changelist.queryset)
        header = [
            "sale number",
            "started (Jakarta)",
            "machine code",
            "machine",
            "package",
            "amount (IDR)",
            "status",
            "paid at (Jakarta)",
            "bank or wallet",
            "receipt",
            "Xendit QR id",
            "Xendit payment id",
            "email sent at (Jakarta)",
            "photos",
            "needs review",
            "problem",
        ]

        def local(moment) -> str:
            return timezone.localtime(moment, JAKARTA).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

        rows = (
            [
                sale.external_id,
                local(sale.created_at),
                sale.location.machine_code,
                sale.location.name,
                sale.price.description,
                csv_amount(sale.amount),
                sale.status,
                local(sale.paid_at),
                sale.payment_channel,
                sale.payment_receipt_id,
                sale.xendit_qr_id,
                sale.xendit_payment_id or "",
                local(sale.email_sent_at),
                sale.photo_count,
                "yes" if sale.needs_review else "",
                sale.review_reason,
            ]
            for sale in sales.iterator(chunk_size=2000)
        )
        stamp = timezone.localtime(timezone.now(), JAKARTA).strftime("%Y%m%d-%H%M")
        return csv_response(f"photobox-sales-{stamp}.csv", header, rows)
