"""Every refund in the admin: the list (who asked, how much, what became of it) and each refund's page.
Refunding is done from the sale's page (backoffice/sales/refunds.py)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from backoffice.sales.refund_section import refund_status_words
from backoffice.tools import EstimatedCountPaginator, ReadOnlyAdminMixin, jakarta_time
from core.formats import rupiah
from payments.models import Refund, RefundStatus
from payments.refunds.selectors import refund_search_filter
from payments.refunds.services import refund_failure_text


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created", "sale_link", "payment_id", "amount_display", "status_display", "requested", "failure"]
    list_select_related = ["sale", "requested_by"]
    list_filter = ["status", "origin"]
    search_fields = ["payment_id"]  # the search itself is get_search_results
    search_help_text = "A sale number (TRX-…), a Xendit refund id or a Xendit payment id."
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_list_template = "admin/backoffice/change_list.html"
    fieldsets = [
        (None, {"fields": ["created", "sale_link", "amount_display", "status_display", "failure", "settled_at"]}),
        ("Asked for", {"fields": ["requested", "reason"]}),
        ("Xendit", {"fields": ["payment_id", "xendit_refund_id", "gateway_called_at"]}),
    ]
    readonly_fields = ["created", "sale_link", "amount_display", "status_display", "failure", "requested"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(refund_search_filter(term)), False

    def changelist_view(self, request, extra_context=None):
        empty = "No refunds yet. A refund appears here when staff refund a sale or Xendit reports one."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})

    @admin.display(description="asked for (WIB)", ordering="created_at")
    def created(self, refund: Refund) -> str:
        return jakarta_time(refund.created_at)

    # By the sale's id: by its number PostgreSQL walked the million sales in number order looking
    # for the few refunded (0.7 s); the id keeps each sale's refunds together just as well.
    @admin.display(description="sale", ordering="sale_id")
    def sale_link(self, refund: Refund):
        url = reverse("admin:payments_sale_change", args=[refund.sale_id])
        return format_html('<a href="{}">{}</a>', url, refund.sale.external_id)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, refund: Refund) -> str:
        return rupiah(refund.amount)

    @admin.display(description="status", ordering="status")
    def status_display(self, refund: Refund):
        return refund_status_words(refund)

    @admin.display(description="requested by", ordering="origin")
    def requested(self, refund: Refund) -> str:
        return refund.requested_by_name

    @admin.display(description="failure")
    def failure(self, refund: Refund) -> str:
        if refund.status != RefundStatus.FAILED:
            return ""
        return f"{refund.failure_code or 'No code'}: {refund_failure_text(refund)}"
