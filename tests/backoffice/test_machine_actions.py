"""A machine's buttons in the admin: "Create activation code" shows 6 digits once; "Take out of service"
needs a note and records who and when (also in the machine's history); "Back in service" undoes it;
the kiosk keys list which device holds which key."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from locations.activation import code_hash
from locations.models import ActivationCode, Location

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def staff_client(client, boss):
    client.force_login(boss)
    return client


def url(name: str, location: Location) -> str:
    return reverse(f"admin:locations_location_{name}", args=[location.pk])


def test_the_machine_page_offers_its_buttons(staff_client, location):
    html = staff_client.get(url("change", location)).content.decode()

    for label in ("Create activation code", "Generate kiosk key", "Take out of service"):
        assert label in html
    assert "Back in service" not in html


def test_staff_create_an_activation_code_shown_once(staff_client, location, boss):
    assert "Create code" in staff_client.get(url("activation_code", location)).content.decode()

    response = staff_client.post(url("activation_code", location))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    code = response.context["code"]
    assert f">{code}<" in response.content.decode()
    row = ActivationCode.objects.get(location=location)
    assert (row.code_hash, row.created_by) == (code_hash(code), boss)


def test_the_key_list_shows_which_device_holds_which_key(staff_client, location, api):
    code = staff_client.post(url("activation_code", location)).context["code"]
    api.post(
        "/api/v1/kiosk/activate",
        data=json.dumps({"code": code, "device_name": "Lobby tablet"}),
        content_type="application/json",
    )

    html = staff_client.get(url("change", location)).content.decode()

    assert "<td>Lobby tablet</td>" in html


def test_taking_a_machine_out_of_service_needs_a_note_and_records_who_and_when(staff_client, location, boss):
    refused = staff_client.post(url("out_of_service", location), {"note": ""})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()

    response = staff_client.post(url("out_of_service", location), {"note": "Printer jammed, technician Tuesday"})

    assert response.status_code == 302
    location.refresh_from_db()
    assert location.out_of_service_since is not None
    assert (location.out_of_service_by, location.out_of_service_note) == (boss, "Printer jammed, technician Tuesday")
    entry = LogEntry.objects.get(object_id=str(location.pk))
    assert (entry.user, entry.change_message) == (boss, "Taken out of service: Printer jammed, technician Tuesday")
    page = staff_client.get(url("change", location)).content.decode()
    assert "by boss: Printer jammed, technician Tuesday" in page
    assert "Back in service" in page


def test_back_in_service(staff_client, location):
    staff_client.post(url("out_of_service", location), {"note": "Moving"})

    assert staff_client.post(url("back_in_service", location)).status_code == 302

    location.refresh_from_db()
    assert (location.out_of_service_since, location.out_of_service_note) == (None, "")
    assert LogEntry.objects.filter(change_message="Back in service").count() == 1


def test_staff_who_may_only_view_machines_cannot_switch_them(client, location):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_location"))
    client.force_login(user)

    assert client.post(url("out_of_service", location), {"note": "x"}).status_code == 403
    assert client.post(url("activation_code", location)).status_code == 403
    assert not ActivationCode.objects.exists()


def test_opening_hours_default_to_ten_to_ten_and_are_editable(staff_client):
    staff_client.post(
        reverse("admin:locations_location_add"),
        {"machine_code": "PB-900", "name": "Mall Baru", "address": "", "is_active": "on"},
    )
    location = Location.objects.get(machine_code="PB-900")
    assert (f"{location.opens_at:%H:%M}", f"{location.closes_at:%H:%M}") == ("10:00", "22:00")

    staff_client.post(
        url("change", location),
        {
            "machine_code": "PB-900",
            "name": "Mall Baru",
            "address": "",
            "is_active": "on",
            "city": "Medan",
            "needs_printer": "on",
            "opens_at": "09:00",
            "closes_at": "21:30",
        },
    )
    location.refresh_from_db()
    assert (f"{location.opens_at:%H:%M}", f"{location.closes_at:%H:%M}") == ("09:00", "21:30")
    assert (location.city, location.needs_printer) == ("Medan", True)
