"""`offline` incidents (watch_fleet, locations.offline): a machine silent for the offline threshold
(10 minutes) within its opening hours (default 10:00 to 22:00 Jakarta time) gets one open incident;
it ends when the machine is back. Silence outside opening hours is no outage."""

from datetime import datetime, time

import pytest

from core.formats import JAKARTA
from locations.heartbeats import Beat, record_heartbeat
from locations.models import MachineIncident, MachineStatus
from locations.offline import opened_at, sync_offline_incidents
from locations.services import take_out_of_service

pytestmark = pytest.mark.django_db


def wib(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=JAKARTA)


def last_beat(location, at: datetime) -> None:
    MachineStatus.objects.update_or_create(location=location, defaults={"beat_at": at, "status": "ok"})


def offline_incidents(location):
    return list(MachineIncident.objects.filter(location=location, kind="offline").order_by("started_at"))


def test_a_machine_silent_for_ten_minutes_in_opening_hours_gets_one_offline_incident(location):
    last_beat(location, wib(14, 0))

    sync_offline_incidents(now=wib(14, 9))
    assert offline_incidents(location) == []

    sync_offline_incidents(now=wib(14, 10))
    sync_offline_incidents(now=wib(14, 11))
    [incident] = offline_incidents(location)
    assert incident.started_at == wib(14, 0)
    assert incident.ended_at is None


def test_the_incident_ends_when_the_machine_is_back(location):
    last_beat(location, wib(14, 0))
    sync_offline_incidents(now=wib(14, 30))

    record_heartbeat(location=location, beat=Beat(status="ok"), now=wib(14, 40))
    report = sync_offline_incidents(now=wib(14, 41))

    [incident] = offline_incidents(location)
    assert incident.ended_at == wib(14, 41)
    assert report.ended == 1


def test_a_machine_switched_off_overnight_counts_from_opening_time(location):
    last_beat(location, wib(22, 0, day=1))  # switched off at closing, the day before

    sync_offline_incidents(now=wib(9, 59))
    sync_offline_incidents(now=wib(10, 9))
    assert offline_incidents(location) == []  # still booting: less than 10 minutes since opening

    sync_offline_incidents(now=wib(10, 10))
    [incident] = offline_incidents(location)
    assert incident.started_at == wib(10, 0)


def test_silence_after_closing_time_is_no_outage(location):
    last_beat(location, wib(21, 55))
    sync_offline_incidents(now=wib(22, 0))
    sync_offline_incidents(now=wib(23, 30))
    assert offline_incidents(location) == []


def test_an_outage_still_open_at_closing_time_stays_open_until_the_machine_is_back(location):
    last_beat(location, wib(21, 0))
    sync_offline_incidents(now=wib(21, 30))
    sync_offline_incidents(now=wib(23, 0))
    sync_offline_incidents(now=wib(10, 30, day=3))

    [incident] = offline_incidents(location)
    assert incident.ended_at is None


def test_opening_hours_past_midnight(make_location):
    late = make_location(opens_at=time(18, 0), closes_at=time(2, 0))
    assert opened_at(late, now=wib(1, 59)) == wib(18, 0, day=1)
    assert opened_at(late, now=wib(2, 0)) is None
    assert opened_at(late, now=wib(17, 59)) is None
    assert opened_at(late, now=wib(18, 0)) == wib(18, 0)

    always = make_location(opens_at=time(0, 0), closes_at=time(0, 0))
    assert opened_at(always, now=wib(3, 0)) == wib(0, 0)


def test_machines_never_heard_from_inactive_or_out_of_service_get_none(make_location, admin_user):
    make_location()  # never sent a heartbeat: not set up yet
    inactive = make_location(is_active=False)
    last_beat(inactive, wib(11, 0))
    out = make_location()
    last_beat(out, wib(11, 0))
    take_out_of_service(location=out, note="screen cracked", user=admin_user)

    sync_offline_incidents(now=wib(15, 0))
    assert not MachineIncident.objects.exists()


def test_staff_taking_an_offline_machine_out_of_service_ends_its_outage(location, admin_user):
    last_beat(location, wib(12, 0))
    sync_offline_incidents(now=wib(13, 0))
    take_out_of_service(location=location, note="moved to storage", user=admin_user)
    sync_offline_incidents(now=wib(13, 1))
    [incident] = offline_incidents(location)
    assert incident.ended_at == wib(13, 1)
