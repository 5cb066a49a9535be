"""The sale list's filters: problems, status, machine, the days it started and was paid, the email."""

from django.contrib import admin
from django.db.models import Exists, OuterRef

from backoffice.tools import DateRangeFilter, MultipleChoiceFilter
from gallery import selectors as gallery_selectors
from locations.models import Location
from payments.models import PAID_STATUSES, ReviewNote, SaleStatus


class SaleStatusFilter(MultipleChoiceFilter):
    title = "status"
    field_name = "status"
    parameter_name = "status__in"

    def lookups(self, request, model_admin):
        return SaleStatus.choices


class SaleLocationFilter(MultipleChoiceFilter):
    title = "machine"
    field_name = "location_id"
    parameter_name = "location__id__in"

    def lookups(self, request, model_admin):
        return [
            (pk, f"{code} – {name}") for pk, code, name in Location.objects.values_list("pk", "machine_code", "name")
        ]


class StartedBetweenFilter(DateRangeFilter):
    title = "day the sale started"
    field_name = "created_at"
    from_parameter = "date_from"
    to_parameter = "date_to"


class PaidBetweenFilter(DateRangeFilter):
    title = "day it was paid"
    field_name = "paid_at"
    from_parameter = "paid_from"
    to_parameter = "paid_to"
    # Paid, and paid then refunded: the sales the report counts on the day they were paid.
    extra_filter = {"status__in": PAID_STATUSES}


class EmailStateFilter(admin.SimpleListFilter):
    title = "customer email"
    parameter_name = "email_state"

    def lookups(self, request, model_admin):
        return [(key, state.label) for key, state in gallery_selectors.EMAIL_STATES.items()]

    def queryset(self, request, queryset):
        state = gallery_selectors.EMAIL_STATES.get(self.value())
        return queryset.filter(state.condition) if state else queryset


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "payment problems"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("open", "Needs review"), ("resolved", "Resolved by staff")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(needs_review=True)
        if self.value() == "resolved":
            resolved = ReviewNote.objects.filter(sale=OuterRef("pk"))
            return queryset.filter(Exists(resolved), needs_review=False)
        return queryset
