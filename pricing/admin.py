from django.contrib import admin
from django.utils import timezone

from pricing.models import Price
from pricing.selectors import prices_with_usage


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quota_display", "quota_used", "quota_remaining", "sales_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["description"]
    readonly_fields = ["id", "quota_used", "quota_remaining", "sales_count", "created_at", "updated_at"]
    fields = [
        "amount",
        "description",
        "quota",
        "is_active",
        "quota_used",
        "quota_remaining",
        "sales_count",
        "id",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        # Usage is counted in the same query as the prices: no query per row.
        return prices_with_usage(timezone.now())

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
