"""A machine's state is derived from its last heartbeat and staff's switch, never stored: online
(a heartbeat within 2 minutes), stale (2 to 10 minutes), offline (10 minutes or more, or never), out
of service (staff, or the kiosk's own report, or no paper on a machine that needs a printer). The
Python rule and the query the fleet board filters with agree at every boundary."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations.models import Location, MachineStatus
from locations.selectors import MachineState, machine_state, with_state
from locations.services import put_back_in_service, take_out_of_service

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def beat(location: Location, *, ago: timedelta, **fields) -> Location:
    fields.setdefault("status", "ok")
    MachineStatus.objects.update_or_create(location=location, defaults={"beat_at": NOW - ago, **fields})
    return location


def state(location: Location, *, now=NOW) -> str:
    """The state both ways; they must agree."""
    in_python = machine_state(Location.objects.select_related("machine_status").get(pk=location.pk), now=now)
    in_sql = with_state(Location.objects.filter(pk=location.pk), now=now).get().state
    assert in_python == in_sql, (in_python, in_sql)
    return in_python


def test_a_machine_that_never_sent_a_heartbeat_is_offline(location):
    assert state(location) == MachineState.OFFLINE


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(seconds=0), MachineState.ONLINE),
        (timedelta(seconds=119), MachineState.ONLINE),
        (timedelta(seconds=120), MachineState.STALE),
        (timedelta(minutes=5), MachineState.STALE),
        (timedelta(seconds=599), MachineState.STALE),
        (timedelta(seconds=600), MachineState.OFFLINE),
        (timedelta(days=3), MachineState.OFFLINE),
    ],
)
def test_the_heartbeats_age_makes_a_machine_online_stale_or_offline(location, ago, expected):
    assert state(beat(location, ago=ago)) == expected


def test_the_thresholds_are_settings(location, settings):
    settings.FLEET_STALE_AFTER_SECONDS = 30
    settings.FLEET_OFFLINE_AFTER_SECONDS = 60
    beat(location, ago=timedelta(seconds=45))

    assert state(location) == MachineState.STALE
    assert state(location, now=NOW + timedelta(seconds=15)) == MachineState.OFFLINE


def test_a_kiosk_reporting_out_of_service_is_out_of_service(location):
    assert state(beat(location, ago=timedelta(seconds=10), status="out_of_service")) == MachineState.OUT_OF_SERVICE


def test_a_degraded_kiosk_is_still_online(location):
    assert state(beat(location, ago=timedelta(seconds=10), status="degraded")) == MachineState.ONLINE


def test_its_report_holds_when_it_then_goes_quiet(location):
    # Switched off after saying it is out of service: expected, not an outage.
    assert state(beat(location, ago=timedelta(hours=2), status="out_of_service")) == MachineState.OUT_OF_SERVICE


def test_no_paper_stops_a_machine_only_when_it_needs_a_printer(location):
    beat(location, ago=timedelta(seconds=10), printer_status="paper_out")
    assert state(location) == MachineState.ONLINE

    Location.objects.filter(pk=location.pk).update(needs_printer=True)
    assert state(location) == MachineState.OUT_OF_SERVICE


def test_paper_low_and_errors_do_not_stop_a_machine(location):
    Location.objects.filter(pk=location.pk).update(needs_printer=True)
    beat(location, ago=timedelta(seconds=10), printer_status="paper_low", camera_status="error")

    assert state(location) == MachineState.ONLINE


def test_staff_take_a_machine_out_of_service_and_back(location, admin_user):
    beat(location, ago=timedelta(seconds=10))

    assert take_out_of_service(location=location, note="paper jam, technician coming", user=admin_user)
    assert state(location) == MachineState.OUT_OF_SERVICE
    location.refresh_from_db()
    assert location.out_of_service_note == "paper jam, technician coming"
    assert location.out_of_service_by == admin_user
    assert location.out_of_service_since is not None

    assert put_back_in_service(location=location)
    assert state(location) == MachineState.ONLINE


def test_staff_out_of_service_wins_over_any_heartbeat(location, admin_user):
    take_out_of_service(location=location, note="moved to storage", user=admin_user)

    assert state(location) == MachineState.OUT_OF_SERVICE  # never beat
    assert state(beat(location, ago=timedelta(seconds=1))) == MachineState.OUT_OF_SERVICE


def test_taking_out_needs_a_note_and_twice_keeps_the_first(location, admin_user):
    from locations.services import NoteRequired

    with pytest.raises(NoteRequired):
        take_out_of_service(location=location, note="  ", user=admin_user)
    assert take_out_of_service(location=location, note="first", user=admin_user)
    assert not take_out_of_service(location=location, note="second", user=admin_user)

    location.refresh_from_db()
    assert location.out_of_service_note == "first"


def test_putting_back_a_machine_staff_did_not_take_out_changes_nothing(location):
    beat(location, ago=timedelta(seconds=10), status="out_of_service")

    assert not put_back_in_service(location=location)
    assert state(location) == MachineState.OUT_OF_SERVICE


def test_the_query_form_gives_every_machine_its_state_in_one_query(make_location, django_assert_num_queries):
    machines = {
        "online": beat(make_location(), ago=timedelta(seconds=5)),
        "stale": beat(make_location(), ago=timedelta(minutes=3)),
        "offline": beat(make_location(), ago=timedelta(minutes=30)),
        "never": make_location(),
        "out": beat(make_location(), ago=timedelta(seconds=5), status="out_of_service"),
    }

    with django_assert_num_queries(1):
        states = {location.pk: location.state for location in with_state(now=NOW)}

    assert [states[machine.pk] for machine in machines.values()] == [
        "online",
        "stale",
        "offline",
        "offline",
        "out_of_service",
    ]
