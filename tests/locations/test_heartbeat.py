"""POST /api/v1/kiosk/heartbeat: a kiosk says every minute that it is alive and how it is. It always
needs its kiosk key (the key names the machine), is stored in place (one row per machine, no history
per beat), answers whether the machine may sell, and records an incident when what it reports changes."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from locations.models import KioskKey, Location, MachineIncident, MachineStatus
from locations.services import issue_kiosk_key, revoke_kiosk_key, take_out_of_service
from tests.support.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

URL = "/api/v1/kiosk/heartbeat"
FULL = {
    "status": "ok",
    "printer": {"status": "ok", "prints_left": 120},
    "camera": "ok",
    "app_version": "2.3.1",
    "message": "all good",
}


@pytest.fixture
def key(location) -> str:
    return issue_kiosk_key(location=location, label="PB-001 tablet")[1]


def send(api, body, key: str | None, **headers):
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(URL, data=data, content_type="application/json", **headers)


def errors_of(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["message"] == "Validation error"
    return [(error["field"], error["type"]) for error in body["details"]["errors"]]


def open_incidents(location) -> list[str]:
    return sorted(MachineIncident.objects.filter(location=location, ended_at=None).values_list("kind", flat=True))


# --- Who may send one ----------------------------------------------------------------------------


def test_without_a_kiosk_key_it_is_refused_even_when_keys_are_optional(api, location, settings):
    settings.KIOSK_AUTH = "optional"

    response = send(api, {"status": "ok"}, None)

    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Kiosk key required", "details": {}}
    assert response["WWW-Authenticate"] == 'Bearer realm="photobox"'
    assert not MachineStatus.objects.exists()


def test_a_revoked_key_is_refused(api, location, key):
    revoke_kiosk_key(key=KioskKey.objects.get(location=location))

    response = send(api, {"status": "ok"}, key)

    assert response.status_code == 401
    assert response.json()["message"] == "Invalid kiosk key"


# --- The answer ----------------------------------------------------------------------------------


def test_a_heartbeat_is_answered_with_whether_the_machine_may_sell_and_the_time(api, location, key):
    response = send(api, FULL, key)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["success", "message", "data"]
    assert body["success"] is True
    assert body["message"] == "Heartbeat received"
    assert list(body["data"]) == ["location_id", "accepting_sales", "server_time"]
    assert body["data"]["location_id"] == location.pk
    assert body["data"]["accepting_sales"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", body["data"]["server_time"])


def test_it_stores_what_the_kiosk_reports(api, location, key):
    send(api, FULL, key)

    status = MachineStatus.objects.get(location=location)
    assert (status.status, status.printer_status, status.prints_left, status.camera_status) == ("ok", "ok", 120, "ok")
    assert (status.app_version, status.message) == ("2.3.1", "all good")
    assert timezone.now() - status.beat_at < timedelta(seconds=5)


def test_only_status_is_required_and_what_is_left_out_is_not_reported(api, location, key):
    send(api, FULL, key)

    assert send(api, {"status": "degraded"}, key).status_code == 200

    status = MachineStatus.objects.get(location=location)
    assert (status.status, status.printer_status, status.prints_left) == ("degraded", "", None)
    assert status.camera_status == ""
    assert (status.app_version, status.message) == ("", "")


def test_every_beat_updates_the_one_row_of_the_machine(api, location, key):
    for _ in range(5):
        send(api, FULL, key)

    assert MachineStatus.objects.count() == 1
    assert not MachineIncident.objects.exists()


@pytest.mark.postgresql  # one INSERT ... ON CONFLICT ... RETURNING; SQLite takes two statements
def test_a_beat_is_one_upsert_after_the_key(api, location, key, django_assert_num_queries):
    send(api, FULL, key)  # the key's last use is written at most once a minute: not counted below

    # The kiosk key, then the upsert that also reads the previous beat, in its transaction (a
    # savepoint and its release here, inside the test's own transaction).
    with django_assert_num_queries(4):
        assert send(api, FULL, key).status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({}, "status", "missing"),
        ({"status": "fine"}, "status", "invalid_choice"),
        ({"status": None}, "status", "missing"),
        ({"status": "ok", "printer": {"status": "empty"}}, "printer.status", "invalid_choice"),
        ({"status": "ok", "printer": {"prints_left": 3}}, "printer.status", "missing"),
        ({"status": "ok", "printer": {"status": "ok", "prints_left": -1}}, "printer.prints_left", "greater_than_equal"),
        ({"status": "ok", "printer": {"status": "ok", "prints_left": "many"}}, "printer.prints_left", "value_error"),
        ({"status": "ok", "printer": "ok"}, "printer", "value_error"),
        ({"status": "ok", "camera": "blurry"}, "camera", "invalid_choice"),
        ({"status": "ok", "app_version": "1" * 51}, "app_version", "string_too_long"),
        ({"status": "ok", "message": "x" * 501}, "message", "string_too_long"),
        ({"status": "ok", "message": 0}, "message", "value_error"),
        ({"status": "ok", "app_version": 2.3}, "app_version", "value_error"),
        ([{"status": "ok"}], "body", "value_error"),
    ],
)
def test_an_invalid_body_gets_422_naming_the_field(api, location, key, body, field, kind):
    assert errors_of(send(api, body, key)) == [(field, kind)]
    assert not MachineStatus.objects.exists()


def test_a_body_that_is_not_json_gets_422(api, location, key):
    assert errors_of(send(api, "{not json", key)) == [("body", "json_invalid")]


def test_a_large_body_is_refused_unread(api, location, key):
    response = send(api, {"status": "ok", "padding": "x" * 5000}, key)

    assert response.status_code == 413
    assert response.json() == {"success": False, "message": "Request body too large", "details": {"max_bytes": 4096}}
    assert not MachineStatus.objects.exists()


def test_unknown_keys_are_ignored_and_a_null_printer_is_not_reported(api, location, key):
    assert send(api, {"status": "ok", "printer": None, "camera": None, "battery": 80}, key).status_code == 200


# --- Whether the machine may sell ------------------------------------------------------------------


def test_a_kiosk_reporting_out_of_service_is_told_it_does_not_sell(api, location, key):
    assert send(api, {"status": "out_of_service"}, key).json()["data"]["accepting_sales"] is False
    assert send(api, {"status": "ok"}, key).json()["data"]["accepting_sales"] is True


def test_no_paper_stops_sales_only_where_a_printer_is_needed(api, location, key):
    no_paper = {"status": "ok", "printer": {"status": "paper_out", "prints_left": 0}}
    assert send(api, no_paper, key).json()["data"]["accepting_sales"] is True

    Location.objects.filter(pk=location.pk).update(needs_printer=True)

    assert send(api, no_paper, key).json()["data"]["accepting_sales"] is False


def test_a_machine_staff_took_out_or_switched_off_does_not_sell(api, location, key, admin_user):
    take_out_of_service(location=location, note="renovation", user=admin_user)
    assert send(api, {"status": "ok"}, key).json()["data"]["accepting_sales"] is False

    Location.objects.filter(pk=location.pk).update(out_of_service_since=None, is_active=False)
    assert send(api, {"status": "ok"}, key).json()["data"]["accepting_sales"] is False


# --- Incidents -----------------------------------------------------------------------------------


def test_a_change_of_what_the_kiosk_reports_opens_and_ends_incidents(api, location, key):
    send(api, FULL, key)
    assert open_incidents(location) == []

    send(api, {"status": "ok", "printer": {"status": "paper_low", "prints_left": 12}, "message": "one roll left"}, key)
    assert open_incidents(location) == ["paper_low"]
    incident = MachineIncident.objects.get(kind="paper_low")
    assert incident.detail == "12 prints left; one roll left"

    send(api, {"status": "out_of_service", "printer": {"status": "paper_out"}, "camera": "error"}, key)
    assert open_incidents(location) == ["camera_error", "out_of_service", "paper_out"]
    incident.refresh_from_db()
    assert incident.ended_at is not None

    send(api, FULL, key)
    assert open_incidents(location) == []
    assert MachineIncident.objects.filter(location=location).count() == 4
    assert not MachineIncident.objects.filter(ended_at__lt=timezone.now() - timedelta(minutes=1)).exists()


def test_the_same_report_again_keeps_one_incident(api, location, key):
    for _ in range(3):
        send(api, {"status": "ok", "printer": {"status": "error"}}, key)

    assert MachineIncident.objects.filter(location=location, kind="printer_error").count() == 1


def test_the_first_heartbeat_reporting_a_problem_opens_its_incident(api, location, key):
    send(api, {"status": "ok", "camera": "error"}, key)

    assert open_incidents(location) == ["camera_error"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_beats_at_once_open_one_incident(location, key):
    from rest_framework.test import APIClient

    body = {"status": "ok", "printer": {"status": "paper_out", "prints_left": 0}}
    results = run_concurrently(lambda i: send(APIClient(), body, key).status_code, 6)

    assert results == [200] * 6
    assert MachineStatus.objects.count() == 1
    assert open_incidents(location) == ["paper_out"]
