"""Sales in the admin: the list staff watch (its columns, filters and search) and each sale's page.
The page's fields are in sales/page.py, its actions in sales/actions.py, refunds in sales/refunds.py,
the CSV export in sales/export.py, the sales report in backoffice/report.py and the customer funnel
in backoffice/funnel.py."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from backoffice.funnel import FunnelAdminMixin
from backoffice.pages import ActionPageAdminMixin
from backoffice.report import SalesReportAdminMixin
from backoffice.sales.actions import SaleActionsAdminMixin
from backoffice.sales.export import SaleExportAdminMixin
from backoffice.sales.filters import (
    EmailStateFilter,
    NeedsReviewFilter,
    PaidBetweenFilter,
    SaleLocationFilter,
    SaleStatusFilter,
    StartedBetweenFilter,
)
from backoffice.sales.inlines import EmailOutboxInline, PhotoInline
from backoffice.sales.page import SalePageAdminMixin
from backoffice.sales.refund_section import sale_status_words
from backoffice.sales.refunds import SaleRefundAdminMixin
from backoffice.tools import EstimatedCountPaginator, OneColumnSortChangeList, ReadOnlyAdminMixin, jakarta_time
from core.formats import JAKARTA, rupiah
from gallery import selectors as gallery_selectors
from payments import selectors
from payments.models import Sale, SaleStatus

STATUS_COLOURS = {
    SaleStatus.PENDING: "#9a6700",
    SaleStatus.COMPLETED: "#1a7f37",
    SaleStatus.FAILED: "#cf222e",
    SaleStatus.EXPIRED: "#6e7781",
    SaleStatus.REFUNDED: "#8250df",
    SaleStatus.CANCELLED: "#6e7781",
}


# The sale list's words for each customer-email state (gallery.selectors.EMAIL_STATES).
EMAIL_WORDS = {
    "sent": "Sent",
    "never": "Never sent (photos deleted)",
    "no_photos": "Waiting for photos",
    "failed": "⚠ Gave up",
}


class SaleChangeList(OneColumnSortChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.result_list = gallery_selectors.with_photo_and_email_state(list(self.result_list))


@admin.register(Sale)
class SaleAdmin(
    SaleActionsAdminMixin,
    SaleRefundAdminMixin,
    SalePageAdminMixin,
    SaleExportAdminMixin,
    SalesReportAdminMixin,
    FunnelAdminMixin,
    ActionPageAdminMixin,
    ReadOnlyAdminMixin,
    admin.ModelAdmin,
):
    list_display = [
        "external_id",
        "started",
        "machine",
        "amount_display",
        "status_display",
        "paid",
        "email_display",
        "photos_display",
        "review_display",
    ]
    list_select_related = ["location"]
    list_filter = [
        NeedsReviewFilter,
        SaleStatusFilter,
        SaleLocationFilter,
        StartedBetweenFilter,
        PaidBetweenFilter,
        EmailStateFilter,
    ]
    # The search itself is get_search_results; a search field makes the admin show the box.
    search_fields = ["external_id"]
    search_help_text = (
        "A sale number (TRX-…), a Xendit QR or payment id, a customer's email address, a machine's name or code, "
        "or a voucher code."
    )
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["resend_customer_email", "check_with_gateway", "simulate_payment", "resolve_reviews"]
    inlines = [PhotoInline, EmailOutboxInline]
    change_list_template = "admin/payments/sale/change_list.html"
    change_form_template = "admin/payments/sale/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "external_id",
                    "sale_status",
                    "location",
                    "price",
                    "amount_display",
                    "email",
                    "send_invoice",
                ]
            },
        ),
        ("Payment", {"fields": ["started", "expires_at", "paid_at", "payment_channel", "payment_receipt_id"]}),
        ("Payment problems", {"fields": ["review_state"]}),
        ("Refunds", {"fields": ["refunds_display"]}),
        ("What happened", {"fields": ["history"]}),
        ("Photos and email", {"fields": ["gallery_link", "email_sent_at", "cleanup_state"]}),
        (
            "Xendit",
            {"fields": ["xendit_qr_id", "xendit_payment_id", "qr_display"], "classes": ["collapse"]},
        ),
    ]
    readonly_fields = [
        "started",
        "sale_status",
        "refunds_display",
        "amount_display",
        "review_state",
        "history",
        "gallery_link",
        "cleanup_state",
        "qr_display",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    def get_changelist(self, request, **kwargs):
        return SaleChangeList

    def get_object(self, request, object_id, from_field=None):
        sale = super().get_object(request, object_id, from_field)
        return gallery_selectors.with_photo_and_email_state([sale])[0] if sale is not None else None

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.sale_search_filter(search_term)), False

    def get_urls(self):
        return [
            *self.get_report_urls(),
            *self.get_funnel_urls(),
            *self.get_refund_urls(),
            *self.get_export_urls(),
            *self.get_action_urls(),
            *super().get_urls(),
        ]

    # --- List columns -----------------------------------------------------------------------
    @admin.display(description="started (WIB)", ordering="created_at")
    def started(self, sale: Sale) -> str:
        return jakarta_time(sale.created_at)

    @admin.display(description="paid (WIB)", ordering="paid_at")
    def paid(self, sale: Sale) -> str:
        if not sale.paid_at:
            return ""
        paid, started = timezone.localtime(sale.paid_at, JAKARTA), timezone.localtime(sale.created_at, JAKARTA)
        # Nearly every sale is paid minutes after it started: the time alone says it.
        return f"{paid:%H:%M}" if paid.date() == started.date() else jakarta_time(sale.paid_at)

    @admin.display(description="machine", ordering="location__machine_code")
    def machine(self, sale: Sale):
        return format_html('{}<br><span class="quiet">{}</span>', sale.location.name, sale.location.machine_code)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, sale: Sale) -> str:
        if not sale.voucher_code:
            return rupiah(sale.amount)
        paid = "free" if sale.is_free_session else rupiah(sale.amount)
        return f"{paid} ({rupiah(sale.list_price)} − {rupiah(sale.discount)}, voucher {sale.voucher_code})"

    @admin.display(description="status", ordering="status")
    def status_display(self, sale: Sale, *, short: bool = True):
        return format_html(
            '<strong style="color:{}">{}</strong>',
            STATUS_COLOURS.get(sale.status, "inherit"),
            sale_status_words(sale, short=short),
        )

    @admin.display(description="customer email")
    def email_display(self, sale: Sale) -> str:
        # The state is gallery.selectors' (with_photo_and_email_state); here only its words.
        state = getattr(sale, "email_state", None)
        if state == "retrying":
            attempts = getattr(sale, "email_attempts", 0) or 0
            if not attempts:
                return "Being sent"
            return f"Trying again ({attempts} attempt{'' if attempts == 1 else 's'} so far)"
        return EMAIL_WORDS.get(state, "—")

    @admin.display(description="photos")
    def photos_display(self, sale: Sale) -> str:
        count = getattr(sale, "photo_count", 0)
        if sale.photos_deleted_at and count:
            return f"{count} (deleted)"
        return str(count) if count else "—"

    @admin.display(description="problem", ordering="needs_review")
    def review_display(self, sale: Sale):
        if not sale.needs_review:
            return ""
        return format_html('<span title="{}">⚠ Needs review</span>', sale.review_reason)

    def changelist_view(self, request, extra_context=None):
        empty = "No sales yet. A sale appears here as soon as a kiosk starts one."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
