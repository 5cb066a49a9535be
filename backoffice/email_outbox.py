"""The email outbox in the admin: every email queued for a customer (and every staff alert, which has
no sale), what became of each attempt, and resending photo emails. (A sale's own emails are also on
its page: backoffice/sales/inlines.py.)"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from backoffice.tools import EstimatedCountPaginator, OneColumnSortChangeList, ReadOnlyAdminMixin
from gallery import selectors, services
from gallery.models import EmailOutbox, EmailStatus

# A resend talks to the mail server once per email: keep a click to a bounded amount of waiting.
RESEND_LIMIT = 20


@admin.register(EmailOutbox)
class EmailOutboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sale_link", "customer", "status_display", "attempts", "short_error", "next_attempt_at", "sent_at"]
    list_select_related = ["sale"]
    list_filter = ["status", "kind"]
    search_fields = ["sale__external_id"]  # the search itself is get_search_results
    search_help_text = "A sale number (TRX-…) or the customer's email address."
    readonly_fields = [
        "sale",
        "kind",
        "recipients",
        "subject",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "created_at",
    ]
    fields = readonly_fields
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # One email per paid sale: sorted by the sale or the status, each read from an index; the other
    # columns change at every attempt (an index on them would slow each send) and the status
    # filter finds the emails waiting or given up.
    sortable_by = ["sale_link", "status_display"]
    actions = ["resend"]
    change_list_template = "admin/backoffice/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(selectors.outbox_search_filter(term)), False

    def get_changelist(self, request, **kwargs):
        return OneColumnSortChangeList

    def has_resend_customer_email_permission(self, request) -> bool:
        return request.user.has_perm("payments.resend_customer_email")

    # By the sale's id (indexed with the kind): by its number it would join and sort every email's sale.
    @admin.display(description="sale", ordering="sale_id")
    def sale_link(self, outbox: EmailOutbox):
        if outbox.sale_id is None:
            return f"Staff alert: {outbox.subject}"
        url = reverse("admin:payments_sale_change", args=[outbox.sale_id])
        return format_html('<a href="{}">{}</a>', url, outbox.sale.external_id)

    @admin.display(description="to")
    def customer(self, outbox: EmailOutbox) -> str:
        return outbox.recipients if outbox.sale_id is None else outbox.sale.email

    @admin.display(description="status", ordering="status")
    def status_display(self, outbox: EmailOutbox) -> str:
        label = outbox.get_status_display()
        return f"⚠ {label}" if outbox.status == EmailStatus.FAILED else label

    @admin.display(description="last error")
    def short_error(self, outbox: EmailOutbox) -> str:
        return outbox.last_error[:80] + ("…" if len(outbox.last_error) > 80 else "")

    @admin.action(description="Resend the photo email", permissions=["resend_customer_email"])
    def resend(self, request, queryset):
        rows = list(queryset.select_related("sale")[: RESEND_LIMIT + 1])
        if len(rows) > RESEND_LIMIT:
            self.message_user(request, f"Only the first {RESEND_LIMIT} were resent: select fewer.", messages.WARNING)
        for outbox in rows[:RESEND_LIMIT]:
            sale = outbox.sale
            if sale is None:
                self.message_user(request, f"{outbox.subject}: a staff alert is not a photo email.", messages.ERROR)
                continue
            try:
                result = services.resend_customer_email(sale=sale)
            except services.EmailCannotBeResent as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.log_change(request, outbox, f"Resent to {sale.email}.")
            if result.status == EmailStatus.SENT:
                self.message_user(request, f"{sale.external_id}: sent to {sale.email}.", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{sale.external_id}: the mail server did not take it ({result.last_error}); "
                    f"{'it will be retried' if result.status == EmailStatus.PENDING else 'gave up'}.",
                    messages.WARNING,
                )

    def changelist_view(self, request, extra_context=None):
        empty = "No emails yet. An email is queued here once a paid sale's photos are all uploaded."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
