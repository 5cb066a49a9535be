"""Activating a kiosk: staff create a 6-digit code for a machine (valid 30 minutes, used once, stored
hashed); the kiosk sends it to POST /api/v1/kiosk/activate and receives its kiosk key, once. Wrong
codes are limited per client network and per machine: 5 wrong in 15 minutes lock them. The
two-active-keys rule still holds, and one code makes one key however many kiosks send it at once."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from locations.activation import activate_kiosk, code_hash, create_activation_code
from locations.models import ActivationCode, KioskKey
from locations.services import find_active_key, issue_kiosk_key
from tests.support.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

URL = "/api/v1/kiosk/activate"


def activate(api, code: str, *, device: str = "Tablet 2, lobby", address: str = "203.0.113.7"):
    body = {"code": code, "device_name": device}
    return api.post(URL, data=json.dumps(body), content_type="application/json", REMOTE_ADDR=address)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def message(response) -> str:
    return response.json()["message"]


@pytest.fixture
def code(location, admin_user) -> str:
    return create_activation_code(location=location, user=admin_user)[1]


# --- The code ------------------------------------------------------------------------------------


def test_a_code_is_six_digits_valid_thirty_minutes_and_stored_only_hashed(location, admin_user):
    row, code = create_activation_code(location=location, user=admin_user)

    assert len(code) == 6
    assert code.isdigit()
    assert row.code_hash == code_hash(code) != code
    assert code not in json.dumps(ActivationCode.objects.filter(pk=row.pk).values().get(), default=str)
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    assert row.created_by == admin_user


def test_a_new_code_replaces_the_machines_unused_one(api, location, admin_user):
    _, first = create_activation_code(location=location, user=admin_user)
    _, second = create_activation_code(location=location, user=admin_user)

    assert message(activate(api, first)) == "Invalid activation code"
    assert activate(api, second).status_code == 201


# --- Activating ----------------------------------------------------------------------------------


def test_the_code_gets_the_kiosk_its_key_once(api, location, code, admin_user):
    response = activate(api, code)

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Kiosk activated")
    assert list(body["data"]) == ["location_id", "machine_code", "kiosk_key", "key_prefix"]
    assert (body["data"]["location_id"], body["data"]["machine_code"]) == (location.pk, "PB-001")
    key = find_active_key(body["data"]["kiosk_key"])
    assert key is not None
    assert key.location == location
    assert (key.device_name, key.label) == ("Tablet 2, lobby", "Tablet 2, lobby")
    assert key.prefix == body["data"]["key_prefix"]
    assert key.created_by == admin_user
    assert ActivationCode.objects.get().kiosk_key == key


def test_the_key_it_gets_works_on_the_kiosk_api(api, location, code):
    kiosk_key = activate(api, code).json()["data"]["kiosk_key"]

    response = api.post(
        "/api/v1/kiosk/heartbeat",
        data=json.dumps({"status": "ok"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {kiosk_key}",
    )

    assert response.status_code == 200
    assert response.json()["data"]["location_id"] == location.pk


def test_a_code_works_once(api, location, code):
    assert activate(api, code).status_code == 201

    again = activate(api, code)

    assert (again.status_code, message(again)) == (409, "Activation code already used")
    assert KioskKey.objects.count() == 1


def test_an_expired_code_is_refused(api, location, code):
    ActivationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = activate(api, code)

    assert (response.status_code, message(response)) == (422, "Invalid activation code")
    assert not KioskKey.objects.exists()


def test_a_wrong_code_is_refused(api, location, code):
    response = activate(api, wrong(code))

    assert response.status_code == 422
    assert response.json() == {"success": False, "message": "Invalid activation code", "details": {}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_name": "Tablet"}, "code"),
        ({"code": "12345", "device_name": "Tablet"}, "code"),
        ({"code": "1234567", "device_name": "Tablet"}, "code"),
        ({"code": "12a456", "device_name": "Tablet"}, "code"),
        ({"code": 123456, "device_name": "Tablet"}, "code"),
        ({"code": "123456", "device_name": 7}, "device_name"),
        ({"code": "123456"}, "device_name"),
        ({"code": "123456", "device_name": "x" * 101}, "device_name"),
    ],
)
def test_a_malformed_body_gets_422_and_is_not_counted_as_a_guess(api, location, body, field, settings):
    response = api.post(URL, data=json.dumps(body), content_type="application/json")

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["details"]["errors"]] == [field]


def test_the_two_active_keys_rule_holds_and_the_code_stays_usable(api, location, code):
    old, _ = issue_kiosk_key(location=location, label="old")
    issue_kiosk_key(location=location, label="older")

    refused = activate(api, code)

    assert refused.status_code == 409
    assert "already has 2 active kiosk keys" in message(refused)
    assert KioskKey.objects.count() == 2
    from locations.services import revoke_kiosk_key

    revoke_kiosk_key(key=old)
    assert activate(api, code).status_code == 201


# --- Guessing ------------------------------------------------------------------------------------


def test_five_wrong_codes_from_a_network_lock_it_out(api, location, make_location, code):
    for _ in range(5):
        assert activate(api, wrong(code)).status_code == 422
    code = create_activation_code(location=make_location())[1]  # a machine the guesses did not lock

    refused = activate(api, code)

    assert refused.status_code == 429
    assert refused.json() == {
        "success": False,
        "message": "Too many requests",
        "details": {"retry_after": int(refused["Retry-After"])},
    }
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    # Another network is served.
    assert activate(api, code, address="198.51.100.9").status_code == 201


def test_five_wrong_codes_from_anywhere_lock_the_codes_open_at_that_time(api, location, make_location, code):
    for n in range(5):
        assert activate(api, wrong(code), address=f"192.0.2.{n + 1}").status_code == 422

    assert activate(api, code, address="198.51.100.9").status_code == 429
    # A machine whose code was made after the guesses is not locked.
    later = make_location()
    assert activate(api, create_activation_code(location=later)[1], address="198.51.100.9").status_code == 201


def test_the_lock_ends_with_its_window(api, location, code, monkeypatch):
    import core.ratelimit

    for _ in range(5):
        activate(api, wrong(code))
    assert activate(api, code).status_code == 429

    later = core.ratelimit.now() + 15 * 60
    monkeypatch.setattr(core.ratelimit, "now", lambda: later)

    assert activate(api, code).status_code == 201


def test_an_already_used_code_is_not_a_guess(api, location, code):
    activate(api, code)
    for _ in range(6):
        assert activate(api, code).status_code == 409

    assert activate(api, create_activation_code(location=location)[1]).status_code == 201


# --- At once -------------------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_kiosks_sending_one_code_at_once_get_one_key(location):
    _, code = create_activation_code(location=location)

    statuses = run_concurrently(lambda i: activate(APIClient(), code, device=f"tablet {i}").status_code, 5)

    assert sorted(statuses) == [201, 409, 409, 409, 409]
    assert KioskKey.objects.count() == 1
    assert ActivationCode.objects.get().kiosk_key == KioskKey.objects.get()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_service_makes_one_key_for_one_code_at_once(location):
    _, code = create_activation_code(location=location)

    results = run_concurrently(lambda i: activate_kiosk(code=code, device_name=f"t{i}", network=f"10.0.0.{i}"), 4)

    assert sum(isinstance(result, tuple) for result in results) == 1
    assert KioskKey.objects.count() == 1
