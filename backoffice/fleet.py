"""The fleet board: one admin page with every machine, how it is (online, stale, offline, out of
service), what its kiosk last reported, what it sold today, and its open incidents; filters, and
it reloads itself every minute.

A fixed number of queries whatever the number of machines (tests/backoffice/test_fleet_board.py):
the machines with their last heartbeat, state and last sale; today's paid sales per machine; the
open incidents; the count per state; the cities. bench/fleet.py measures it with 1,000 machines.
"""

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from backoffice.machines import out_of_service_text
from backoffice.tools import jakarta_time
from core.formats import JAKARTA, jakarta_day_start
from locations.models import Location, MachineIncident, ReportedStatus
from locations.selectors import MachineState, open_incidents_by_location, status_of, with_state
from payments.models import SaleStatus
from payments.selectors import last_sale, paid_sales_per_location

REFRESH_SECONDS = 60
# Problems first: what needs someone is at the top of the board.
STATE_ORDER = [MachineState.OFFLINE, MachineState.OUT_OF_SERVICE, MachineState.STALE, MachineState.ONLINE]


class FleetFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *MachineState.choices])
    city = forms.ChoiceField(required=False)
    active = forms.ChoiceField(
        required=False, choices=[("", "Active and inactive"), ("yes", "Active only"), ("no", "Inactive only")]
    )
    incidents = forms.BooleanField(required=False, label="Only with open incidents")
    q = forms.CharField(required=False, max_length=100, label="Machine")

    def __init__(self, *args, cities: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].choices = [("", "Every city"), *((city, city) for city in cities)]
        self.fields["q"].widget.attrs["placeholder"] = "code or name"


@dataclass(frozen=True)
class Row:
    location: Location
    state: str
    state_label: str
    degraded: bool
    beat_at: str
    beat_age: str
    app_version: str
    printer: str
    prints_left: int | None
    camera: str
    sales_today: int
    last_sale: str
    incidents: list[str]
    note: str
    change_url: str


def age(moment: datetime | None, *, now: datetime) -> str:
    """`40 s ago`, `5 min ago`, `3 h ago`, `2 days ago`; `never`."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def board(*, form: FleetFilterForm, now: datetime) -> tuple[list[Row], dict[str, int]]:
    """The machines the filters choose, problems first, and how many machines are in each state."""
    machines = with_state(Location.objects.select_related("out_of_service_by"), now=now).annotate(
        last_sale_at=last_sale("created_at"), last_sale_status=last_sale("status")
    )
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("state"):
        machines = machines.filter(state=data["state"])
    if data.get("city"):
        machines = machines.filter(city=data["city"])
    if data.get("active"):
        machines = machines.filter(is_active=data["active"] == "yes")
    if data.get("incidents"):
        machines = machines.filter(
            Exists(MachineIncident.objects.filter(location=OuterRef("pk"), ended_at__isnull=True))
        )
    if data.get("q"):
        machines = machines.filter(Q(machine_code__icontains=data["q"]) | Q(name__icontains=data["q"]))
    incidents = open_incidents_by_location()
    today = jakarta_day_start(timezone.localdate(timezone=JAKARTA))
    sold = paid_sales_per_location(since=today)
    counts = dict(with_state(now=now).values_list("state").annotate(count=Count("pk")).order_by())
    rows = [_row(location, sold=sold, incidents=incidents, now=now) for location in machines.order_by("machine_code")]
    rows.sort(key=lambda row: STATE_ORDER.index(row.state))
    return rows, {state: counts.get(state.value, 0) for state in STATE_ORDER}


def _row(location: Location, *, sold: dict, incidents: dict, now: datetime) -> Row:
    status = status_of(location)
    printer = ""
    if status is not None and status.printer_status:
        printer = status.get_printer_status_display()
    last = ""
    if location.last_sale_at is not None:
        last = f"{jakarta_time(location.last_sale_at)} ({SaleStatus(location.last_sale_status).label.lower()})"
    return Row(
        location=location,
        state=location.state,
        state_label=MachineState(location.state).label,
        degraded=status is not None and status.status == ReportedStatus.DEGRADED,
        beat_at=jakarta_time(status.beat_at) if status else "never",
        beat_age=age(status.beat_at if status else None, now=now),
        app_version=status.app_version if status else "",
        printer=printer,
        prints_left=status.prints_left if status else None,
        camera=status.get_camera_status_display() if status and status.camera_status else "",
        sales_today=sold.get(location.pk, 0),
        last_sale=last,
        incidents=[
            f"{incident.get_kind_display()} since {jakarta_time(incident.started_at)}"
            for incident in incidents.get(location.pk, [])
        ],
        note=out_of_service_text(location) or (status.message if status else ""),
        change_url=reverse("admin:locations_location_change", args=[location.pk]),
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


class FleetBoardAdminMixin:
    """/admin/locations/location/fleet/, for anyone who may view machines."""

    def get_fleet_urls(self):
        return [path("fleet/", self.admin_site.admin_view(self.fleet_view), name="locations_location_fleet")]

    def fleet_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        cities = list(Location.objects.exclude(city="").order_by("city").values_list("city", flat=True).distinct())
        form = FleetFilterForm(request.GET, cities=cities)
        now = timezone.now()
        rows, counts = board(form=form, now=now)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Fleet board",
            "form": form,
            "rows": rows,
            "counts": [(state.value, state.label, counts[state]) for state in STATE_ORDER],
            "total": sum(counts.values()),
            "refresh_seconds": REFRESH_SECONDS,
            "updated_at": jakarta_time(now),
            "stale_after": _duration(settings.FLEET_STALE_AFTER_SECONDS),
            "offline_after": _duration(settings.FLEET_OFFLINE_AFTER_SECONDS),
        }
        return TemplateResponse(request, "admin/locations/location/fleet.html", context)
