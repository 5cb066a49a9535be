"""Prices (the packages kiosks sell) in the admin: quota and usage, switching them on and off, and
never deleting one that has sales."""

from django.contrib import admin
from django.db.models import Count
from django.utils import timezone

from backoffice.tools import ActiveSwitch, ActiveSwitchAdminMixin, KeepIfSoldAdminMixin
from core.formats import rupiah
from payments.models import Sale
from pricing.models import Price
from pricing.selectors import prices_with_usage
from pricing.services import set_prices_active

USAGE = ["quota_used", "quota_remaining", "sales_count", "created_at", "updated_at", "id"]


@admin.register(Price)
class PriceAdmin(ActiveSwitchAdminMixin, KeepIfSoldAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "quota_display", "quota_used", "quota_remaining", "sales_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["description"]
    change_list_template = "admin/backoffice/change_list.html"
    active_switch = ActiveSwitch(
        activate="Activate: kiosks may sell them",
        deactivate="Deactivate: kiosks stop selling them (their sales are kept)",
        activated="{count} price(s) can be sold again.",
        deactivated="{count} price(s) can no longer be sold; their sales stay in the reports.",
    )

    def get_queryset(self, request):
        # Usage is counted in the same query as the prices: no query per row.
        return prices_with_usage(timezone.now())

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["amount", "description", "quota", "is_active"]
        # Money is never edited once a price exists: its sales were made at that amount, and a
        # kiosk in the middle of a sale would charge something it did not show. New amount = new price.
        return ["amount_display", "description", "quota", "is_active", *USAGE]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["help_texts"] = {
            "description": "What the customer gets, as the kiosk shows it, e.g. “4 photo strips + digital copies”.",
        }
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["amount_display", *USAGE]

    def sales_counts(self, objs) -> dict:
        rows = Sale.objects.filter(price__in=objs).values("price").annotate(count=Count("pk"))
        return {row["price"]: row["count"] for row in rows}

    @admin.display(description="price")
    def amount_display(self, price: Price) -> str:
        return f"{rupiah(price.amount)} (fixed: to charge another amount, add a new price and deactivate this one)"

    @admin.display(description="quota", ordering="quota")
    def quota_display(self, price: Price) -> str:
        return "unlimited" if price.quota is None else str(price.quota)

    @admin.display(description="quota used", ordering="quota_used")
    def quota_used(self, price: Price) -> int:
        return price.quota_used

    @admin.display(description="remaining")
    def quota_remaining(self, price: Price) -> str:
        if price.quota is None:
            return "unlimited"
        return str(max(price.quota - price.quota_used, 0))

    @admin.display(description="paid sales", ordering="sales_count")
    def sales_count(self, price: Price) -> int:
        return price.sales_count

    def set_active(self, queryset, *, active: bool) -> int:
        return set_prices_active(prices=queryset, active=active)

    def changelist_view(self, request, extra_context=None):
        empty = "No prices yet. Add one with “Add price”: kiosks can sell it as soon as it is active."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
