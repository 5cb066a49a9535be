"""What state a machine is in, derived from its last heartbeat and staff's switch, never stored.

- `out_of_service`: staff took it out of service, or its kiosk's last heartbeat says it is out of
  service, or says the printer is out of paper while the machine needs a printer. Whatever the
  heartbeat's age: the kiosk's last word holds until it says otherwise, and an out-of-service
  machine that is switched off is expected, not an outage.
- `offline`: no heartbeat for FLEET_OFFLINE_AFTER_SECONDS (10 minutes), or never one.
- `stale`: the last heartbeat is FLEET_STALE_AFTER_SECONDS (2 minutes) old or older.
- `online`: a heartbeat within the last FLEET_STALE_AFTER_SECONDS.

One rule, two forms: `machine_state` for a location in Python, `state_expression` for a query (the
fleet board filters and counts by it); tests/locations check that both agree at every boundary.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Case, Q, QuerySet, Value, When

from core.sql import fetch_instances, select_columns
from locations.models import Location, MachineIncident, MachineStatus, PrinterStatus, ReportedStatus


class MachineState(models.TextChoices):
    ONLINE = "online", "online"
    STALE = "stale", "stale"
    OFFLINE = "offline", "offline"
    OUT_OF_SERVICE = "out_of_service", "out of service"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.FLEET_STALE_AFTER_SECONDS)


def offline_after() -> timedelta:
    return timedelta(seconds=settings.FLEET_OFFLINE_AFTER_SECONDS)


def location_with_status(location_id: int) -> Location | None:
    """The location and its last heartbeat (`status_of` then reads nothing more), or None: what
    `Location.objects.select_related("machine_status").filter(pk=location_id).first()` reads, from
    a SELECT written once per process (core.sql): compiling that query took 0.6 ms of every sale."""
    connection = connections[router.db_for_read(Location)]
    sql = _location_with_status_sql(connection.alias)
    found = fetch_instances(connection, sql, [location_id], (Location, MachineStatus))
    if found is None:
        return None
    location, status = found
    assert isinstance(location, Location)
    # As select_related leaves it: the heartbeat (or its absence) is known, and each side knows the other.
    MachineStatus._meta.get_field("location").remote_field.set_cached_value(location, status)
    if status is not None:
        MachineStatus._meta.get_field("location").set_cached_value(status, location)
    return location


@functools.cache
def _location_with_status_sql(alias: str) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    columns = select_columns(Location, "l", connection) + select_columns(MachineStatus, "s", connection)
    location_pk = quote(Location._meta.pk.column)
    status_location = quote(MachineStatus._meta.get_field("location").column)
    # Only the models' table and column names are written into the SQL; the id is a parameter.
    return (
        f"SELECT {', '.join(columns)} FROM {quote(Location._meta.db_table)} l"  # noqa: S608
        f" LEFT JOIN {quote(MachineStatus._meta.db_table)} s ON s.{status_location} = l.{location_pk}"
        f" WHERE l.{location_pk} = %s"
    )


def status_of(location: Location) -> MachineStatus | None:
    """The location's last heartbeat, or None (load it with select_related("machine_status"))."""
    try:
        return location.machine_status
    except MachineStatus.DoesNotExist:
        return None


def reported_out_of_service(*, status: MachineStatus | None, needs_printer: bool) -> bool:
    """The kiosk's last heartbeat stops its sales."""
    if status is None:
        return False
    return status.status == ReportedStatus.OUT_OF_SERVICE or (
        needs_printer and status.printer_status == PrinterStatus.PAPER_OUT
    )


def is_out_of_service(location: Location) -> bool:
    """Sales stop: staff took the machine out of service, or its kiosk says so."""
    return location.out_of_service_since is not None or reported_out_of_service(
        status=status_of(location), needs_printer=location.needs_printer
    )


def accepting_sales(location: Location) -> bool:
    """What a heartbeat's answer tells the kiosk: may it offer sessions now?"""
    return location.is_active and not is_out_of_service(location)


def machine_state(location: Location, *, now: datetime) -> MachineState:
    if is_out_of_service(location):
        return MachineState.OUT_OF_SERVICE
    status = status_of(location)
    if status is None or now - status.beat_at >= offline_after():
        return MachineState.OFFLINE
    if now - status.beat_at >= stale_after():
        return MachineState.STALE
    return MachineState.ONLINE


def out_of_service_q(prefix: str = "") -> Q:
    """`is_out_of_service` as a query condition on Location (or on a model `prefix`ed to it)."""
    return (
        Q(**{f"{prefix}out_of_service_since__isnull": False})
        | Q(**{f"{prefix}machine_status__status": ReportedStatus.OUT_OF_SERVICE})
        | Q(**{f"{prefix}needs_printer": True, f"{prefix}machine_status__printer_status": PrinterStatus.PAPER_OUT})
    )


def state_expression(*, now: datetime) -> Case:
    """`machine_state` for a Location query: `.annotate(state=state_expression(now=...))`."""
    return Case(
        When(out_of_service_q(), then=Value(MachineState.OUT_OF_SERVICE.value)),
        When(
            Q(machine_status__isnull=True) | Q(machine_status__beat_at__lte=now - offline_after()),
            then=Value(MachineState.OFFLINE.value),
        ),
        When(machine_status__beat_at__lte=now - stale_after(), then=Value(MachineState.STALE.value)),
        default=Value(MachineState.ONLINE.value),
        output_field=models.CharField(),
    )


def with_state(queryset: QuerySet[Location] | None = None, *, now: datetime) -> QuerySet[Location]:
    """Locations with their last heartbeat and their `state`, in one query."""
    queryset = Location.objects.all() if queryset is None else queryset
    return queryset.select_related("machine_status").annotate(state=state_expression(now=now))


def open_incidents_by_location() -> dict[int, list[MachineIncident]]:
    """Every open incident, oldest first, per location (one query)."""
    found: dict[int, list[MachineIncident]] = {}
    for incident in MachineIncident.objects.filter(ended_at__isnull=True).order_by("started_at", "pk"):
        found.setdefault(incident.location_id, []).append(incident)
    return found
