"""`offline` incidents: a machine silent during its opening hours (run by `watch_fleet` every minute).

A machine counts as offline when its state is offline (no heartbeat for FLEET_OFFLINE_AFTER_SECONDS,
locations.selectors), it is active, it has sent a heartbeat at least once (a machine never set up is
not an outage), and it has been silent for FLEET_OFFLINE_AFTER_SECONDS *within* the current opening
hours: a machine switched off overnight is not offline until it has missed that long after opening,
and one falling silent after closing time is not offline at all. The incident starts when the
silence started counting (the last heartbeat, or opening time if that is later) and ends at the first
run that finds the machine no longer offline (back, or out of service, or deactivated); an incident
still open at closing time stays open until the machine is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef

from core.formats import JAKARTA
from locations.models import IncidentKind, Location, MachineIncident
from locations.selectors import MachineState, offline_after, with_state


@dataclass(frozen=True)
class OfflineReport:
    opened: int
    ended: int


def opened_at(location: Location, *, now: datetime) -> datetime | None:
    """When the opening hours `now` falls in began (Jakarta time), or None while the location is
    closed. Hours run from `opens_at` (included) to `closes_at` (excluded); a closing time at or
    before the opening time runs past midnight (equal: open all day)."""
    local = now.astimezone(JAKARTA)
    opens, closes, today = location.opens_at, location.closes_at, local.date()
    moment = local.time()
    if opens < closes:
        return datetime.combine(today, opens, tzinfo=JAKARTA) if opens <= moment < closes else None
    if moment >= opens:
        return datetime.combine(today, opens, tzinfo=JAKARTA)
    if moment < closes or opens == closes:
        return datetime.combine(today - timedelta(days=1), opens, tzinfo=JAKARTA)
    return None


def offline_since(location: Location, *, now: datetime) -> datetime | None:
    """When `location` (loaded by `with_state`) started counting as offline in opening hours, if it
    has been so for the offline threshold; else None."""
    status = getattr(location, "machine_status", None)
    if location.state != MachineState.OFFLINE or status is None or not location.is_active:
        return None
    opening = opened_at(location, now=now)
    if opening is None:
        return None
    since = max(status.beat_at, opening)
    return since if now - since >= offline_after() else None


def sync_offline_incidents(*, now: datetime) -> OfflineReport:
    """Open an `offline` incident for each machine offline in its opening hours, and end those of
    machines that are no longer offline. Safe to run twice at once: the database allows one open
    incident per kind and machine (the insert ignores the conflict), and the end is a conditional
    UPDATE."""
    open_offline = MachineIncident.objects.filter(kind=IncidentKind.OFFLINE, ended_at__isnull=True)
    offline = with_state(Location.objects.filter(is_active=True, machine_status__isnull=False), now=now).filter(
        state=MachineState.OFFLINE
    )
    candidates = offline.exclude(Exists(open_offline.filter(location=OuterRef("pk"))))
    new = [
        MachineIncident(location=location, kind=IncidentKind.OFFLINE, started_at=since, detail="no heartbeat")
        for location in candidates
        if (since := offline_since(location, now=now)) is not None
    ]
    MachineIncident.objects.bulk_create(new, ignore_conflicts=True)
    ended = open_offline.exclude(location__in=offline.values("pk")).update(ended_at=now)
    return OfflineReport(opened=len(new), ended=ended)
