"""Prices (the packages kiosks sell) in the admin: quota and usage, the machines that sell them,
switching them on and off, and never deleting one that has sales."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, F

from backoffice.tools import ActiveSwitch, ActiveSwitchAdminMixin, KeepIfSoldAdminMixin
from core.formats import rupiah
from locations.models import Location
from payments.models import Sale
from pricing.models import Price
from pricing.services import limit_price_to_locations, set_prices_active

USAGE = ["quota_used", "quota_remaining", "paid_sales", "created_at", "updated_at", "id"]
EVERY_MACHINE = "every machine"


class PriceForm(forms.ModelForm):
    # Not the model's `locations` field itself: its rows are PriceLocation (PROTECT on the machine),
    # which the admin cannot edit directly; saved by pricing.services.limit_price_to_locations.
    sold_at = forms.ModelMultipleChoiceField(
        Location.objects.all(),
        required=False,
        label="Sold at",
        widget=FilteredSelectMultiple("machines", is_stacked=False),
        help_text="The machines that may sell this price. Choose none to sell it at every machine.",
    )

    class Meta:
        model = Price
        fields = ["amount", "description", "quota", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["sold_at"].initial = list(self.instance.locations.all())


@admin.register(Price)
class PriceAdmin(ActiveSwitchAdminMixin, KeepIfSoldAdminMixin, admin.ModelAdmin):
    form = PriceForm
    list_display = ["__str__", "sold_at", "quota_display", "quota_used", "quota_remaining", "paid_sales", "is_active"]
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
        # Usage is the price's own counters (Price.quota_used, paid_sales), its machines one more
        # query: no query per row, and no sale counted, however many there are.
        return super().get_queryset(request).prefetch_related("locations")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["amount", "description", "quota", "sold_at", "is_active"]
        # Money is never edited once a price exists: its sales were made at that amount, and a
        # kiosk in the middle of a sale would charge something it did not show. New amount = new price.
        return ["amount_display", "description", "quota", "sold_at", "is_active", *USAGE]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "sold_at" in form.cleaned_data:
            limit_price_to_locations(price=form.instance, locations=form.cleaned_data["sold_at"])

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

    # The list's column, and the field as staff who may only view prices see it.
    @admin.display(description="sold at")
    def sold_at(self, price: Price) -> str:
        machines = [location.machine_code for location in price.locations.all()]
        return ", ".join(sorted(machines)) or EVERY_MACHINE

    @admin.display(description="quota", ordering="quota")
    def quota_display(self, price: Price) -> str:
        return "unlimited" if price.quota is None else str(price.quota)

    # Sorted by the database: the quota left is the quota less what is used (unlimited last).
    @admin.display(description="remaining", ordering=F("quota") - F("quota_used"))
    def quota_remaining(self, price: Price) -> str:
        if price.quota is None:
            return "unlimited"
        return str(max(price.quota - price.quota_used, 0))

    def set_active(self, queryset, *, active: bool) -> int:
        return set_prices_active(prices=queryset, active=active)

    def changelist_view(self, request, extra_context=None):
        empty = "No prices yet. Add one with “Add price”: kiosks can sell it as soon as it is active."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
