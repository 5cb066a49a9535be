"""The fleet board (admin: Locations > Fleet board): every machine with its state in colour and word,
last heartbeat, app version, printer, prints left, sales paid today, the last sale and open incidents;
filters; it reloads itself; and it runs the same few queries for 1 machine or 30."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from locations.models import Location, MachineIncident, MachineStatus
from locations.services import take_out_of_service
from payments.models import SaleStatus

pytestmark = pytest.mark.django_db

URL = "/admin/locations/location/fleet/"


def beat(location: Location, *, ago: timedelta = timedelta(seconds=20), **fields) -> Location:
    fields.setdefault("status", "ok")
    MachineStatus.objects.update_or_create(location=location, defaults={"beat_at": timezone.now() - ago, **fields})
    return location


@pytest.fixture
def fleet(make_location, admin_user):
    online = beat(
        make_location(machine_code="PB-101", name="Grand Indonesia", city="Jakarta"),
        app_version="2.3.1",
        printer_status="paper_low",
        prints_left=14,
        camera_status="ok",
    )
    MachineIncident.objects.create(location=online, kind="paper_low", started_at=timezone.now())
    stale = beat(
        make_location(machine_code="PB-102", name="Tunjungan Plaza", city="Surabaya"), ago=timedelta(minutes=4)
    )
    offline = make_location(machine_code="PB-103", name="Paris Van Java", city="Bandung")
    out = make_location(machine_code="PB-104", name="Pakuwon Mall", city="Surabaya")
    take_out_of_service(location=out, note="screen cracked", user=admin_user)
    return {"online": online, "stale": stale, "offline": offline, "out": out}


def rows(response) -> dict[str, str]:
    """Machine code -> its row's text, in the order shown."""
    html = response.content.decode()
    found = {}
    for code, row in re.findall(r'<tr class="[^"]*" data-machine="([^"]+)">(.*?)</tr>', html, re.S):
        found[code] = " ".join(re.sub(r"<[^>]+>", " ", row).split())
    return found


def test_the_board_shows_every_machine_in_its_state_problems_first(staff_client, fleet, make_sale):
    Location.objects.filter(machine_code="PB-001").delete()  # make_sale's own machine: not this test's
    make_sale(location=fleet["online"], status=SaleStatus.COMPLETED)
    make_sale(location=fleet["online"], status=SaleStatus.COMPLETED)
    make_sale(location=fleet["online"], status=SaleStatus.EXPIRED)

    response = staff_client.get(URL)

    assert response.status_code == 200
    shown = rows(response)
    assert list(shown) == ["PB-103", "PB-104", "PB-102", "PB-101"]
    assert "offline" in shown["PB-103"]
    assert "never" in shown["PB-103"]
    assert "out of service" in shown["PB-104"]
    assert "screen cracked" in shown["PB-104"]
    assert "stale" in shown["PB-102"]
    assert "4 min ago" in shown["PB-102"]
    online = shown["PB-101"]
    for text in ("online", "2.3.1", "paper low", "14", "paper low since", "(expired)"):
        assert text in online
    assert " 2 " in online  # paid today
    html = response.content.decode()
    assert 'class="state state-offline"' in html
    assert '<meta http-equiv="refresh" content="60">' in html
    assert "1 online" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=offline", ["PB-103"]),
        ("state=out_of_service", ["PB-104"]),
        ("city=Surabaya", ["PB-104", "PB-102"]),
        ("incidents=on", ["PB-101"]),
        ("q=paris", ["PB-103"]),
        ("active=no", []),
        ("state=nonsense", ["PB-103", "PB-104", "PB-102", "PB-101"]),
    ],
)
def test_the_board_filters(staff_client, fleet, query, expected):
    assert list(rows(staff_client.get(f"{URL}?{query}"))) == expected


def test_inactive_machines_are_shown_as_such(staff_client, fleet):
    Location.objects.filter(pk=fleet["online"].pk).update(is_active=False)

    assert "inactive" in rows(staff_client.get(f"{URL}?active=no"))["PB-101"]


def queries_for(staff_client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert staff_client.get(URL).status_code == 200
    return len(captured.captured_queries)


def test_the_board_runs_the_same_queries_for_one_machine_or_thirty(staff_client, make_location, make_sale, admin_user):
    first = beat(make_location(), printer_status="paper_out")
    MachineIncident.objects.create(location=first, kind="paper_out", started_at=timezone.now())
    make_sale(location=first, status=SaleStatus.COMPLETED)
    one = queries_for(staff_client)

    for n in range(29):
        machine = beat(make_location(city=f"City {n % 4}"), ago=timedelta(minutes=n))
        MachineIncident.objects.create(location=machine, kind="camera_error", started_at=timezone.now())
        make_sale(location=machine, status=SaleStatus.COMPLETED)
        if n % 5 == 0:
            take_out_of_service(location=machine, note="test", user=admin_user)
    thirty = queries_for(staff_client)

    assert one == thirty
    # The session and user, then: machines, today's sales, open incidents, counts per state, cities.
    assert thirty <= 7


def test_staff_who_may_not_see_machines_do_not_see_the_board(client, fleet):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_sale"))
    client.force_login(user)

    assert client.get(URL).status_code == 403


def test_the_board_is_linked_from_the_index_and_the_machine_list(staff_client):
    assert URL in staff_client.get(reverse("admin:index")).content.decode()
    assert URL in staff_client.get(reverse("admin:locations_location_changelist")).content.decode()
