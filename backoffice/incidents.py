"""Machine incidents in the admin (Locations > Machine incidents, linked from the fleet board): each
stretch of time something was wrong with a machine, with its start, end, duration and whether staff
were alerted. Read-only: heartbeats and `watch_fleet` open and end them."""

from django.contrib import admin
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from backoffice.tools import EstimatedCountPaginator, ReadOnlyAdminMixin, jakarta_time
from locations.models import MachineIncident


class OpenFilter(admin.SimpleListFilter):
    title = "open or ended"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Still open"), ("no", "Ended")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(ended_at__isnull=self.value() == "yes")
        return queryset


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"


@admin.register(MachineIncident)
class MachineIncidentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["machine", "kind", "start", "end", "length", "alerted"]
    list_select_related = ["location"]
    list_filter = [OpenFilter, "kind"]
    search_fields = ["location__machine_code", "location__name"]
    search_help_text = "A machine's code or name."
    fields = ["location", "kind", "started_at", "ended_at", "detail", "alerted_at", "resolved_alerted_at"]
    readonly_fields = fields
    list_per_page = 100
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_list_template = "admin/backoffice/change_list.html"

    @admin.display(description="machine", ordering="location__machine_code")
    def machine(self, incident: MachineIncident):
        url = reverse("admin:locations_location_change", args=[incident.location_id])
        return format_html('<a href="{}">{}</a> {}', url, incident.location.machine_code, incident.location.name)

    @admin.display(description="started (Jakarta)", ordering="started_at")
    def start(self, incident: MachineIncident) -> str:
        return jakarta_time(incident.started_at)

    @admin.display(description="ended (Jakarta)", ordering="ended_at")
    def end(self, incident: MachineIncident) -> str:
        return jakarta_time(incident.ended_at) if incident.ended_at else "still open"

    @admin.display(description="duration")
    def length(self, incident: MachineIncident) -> str:
        end = incident.ended_at or timezone.now()
        text = duration((end - incident.started_at).total_seconds())
        return text if incident.ended_at else f"{text} so far"

    @admin.display(description="staff alerted")
    def alerted(self, incident: MachineIncident) -> str:
        if incident.alerted_at is None:
            return "no"
        if incident.resolved_alerted_at is not None:
            return f"yes, {jakarta_time(incident.alerted_at)}; resolved {jakarta_time(incident.resolved_alerted_at)}"
        return f"yes, {jakarta_time(incident.alerted_at)}"

    def changelist_view(self, request, extra_context=None):
        empty = (
            "No incidents yet. Heartbeats open them (paper, printer, camera, out of service), and "
            "watch_fleet those of machines offline in their opening hours."
        )
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})
