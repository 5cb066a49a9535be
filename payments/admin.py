from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from gallery.admin import EmailOutboxInline, PhotoInline
from payments import services
from payments.gateways import GatewayError
from payments.models import PaymentEvent, SaleStatus, Transaction
from photobox.api import ApiError


class ReadOnlyAdminMixin:
    """Money records are written by the payment flow only; staff read them and run actions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    fields = ["received_at", "source", "outcome", "outcome_detail", "xendit_payment_id", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["external_id", "location", "amount_display", "status", "created_at", "paid_at", "needs_review"]
    list_select_related = ["location"]
    list_filter = ["status", "needs_review", "location", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["=external_id", "=xendit_qr_id", "=xendit_payment_id", "location__name", "email"]
    show_full_result_count = False
    actions = ["check_with_gateway", "simulate_payment"]
    inlines = [PaymentEventInline, PhotoInline, EmailOutboxInline]
    fieldsets = [
        (None, {"fields": ["external_id", "status", "location", "price", "amount", "email", "send_invoice"]}),
        ("Payment", {"fields": ["created_at", "expires_at", "paid_at", "payment_channel", "payment_receipt_id"]}),
        ("Review", {"fields": ["needs_review", "review_reason"]}),
        ("Gateway", {"fields": ["xendit_qr_id", "xendit_payment_id", "qr_string"], "classes": ["collapse"]}),
        ("Photos", {"fields": ["email_sent_at", "photos_deleted_at"]}),
    ]

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, sale: Transaction) -> str:
        return f"Rp {sale.amount:,.0f}".replace(",", ".")

    @admin.action(description="Check selected pending sales with the payment gateway")
    def check_with_gateway(self, request, queryset):
        completed = failures = 0
        for sale in queryset.filter(status=SaleStatus.PENDING):
            try:
                completed += services.check_sale_with_gateway(sale=sale)
            except GatewayError:
                failures += 1
        self.message_user(request, f"{completed} sale(s) found paid and completed.", messages.SUCCESS)
        if failures:
            self.message_user(request, f"The gateway could not be asked about {failures} sale(s).", messages.WARNING)

    @admin.action(description="Simulate payment (simulator only)")
    def simulate_payment(self, request, queryset):
        if settings.PAYMENT_GATEWAY != "simulator":
            self.message_user(request, "Payments can only be simulated with PAYMENT_GATEWAY=simulator.", messages.ERROR)
            return
        for sale in queryset:
            try:
                event = services.simulate_payment(sale=sale)
            except ApiError as exc:
                self.message_user(request, f"{sale.external_id}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"{sale.external_id}: {event.get_outcome_display()}", messages.INFO)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "source", "shape", "outcome", "sale_link", "xendit_payment_id", "amount"]
    list_select_related = ["transaction"]
    list_filter = ["source", "outcome", "shape"]
    date_hierarchy = "received_at"
    search_fields = ["=reference", "=xendit_payment_id", "=webhook_id", "=transaction__external_id"]
    show_full_result_count = False
    readonly_fields = [
        "received_at",
        "source",
        "remote_addr",
        "webhook_id",
        "shape",
        "reference",
        "xendit_payment_id",
        "reported_status",
        "amount",
        "sale_link",
        "outcome",
        "outcome_detail",
        "processed_at",
        "headers",
        "body",
    ]
    fields = readonly_fields

    @admin.display(description="sale", ordering="transaction__external_id")
    def sale_link(self, event: PaymentEvent):
        if event.transaction_id is None:
            return "–"
        url = reverse("admin:payments_transaction_change", args=[event.transaction_id])
        return format_html('<a href="{}">{}</a>', url, event.transaction.external_id)
