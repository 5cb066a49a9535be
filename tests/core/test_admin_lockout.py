"""Admin login brute-force protection (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT wrong
passwords for one username from one address, that login is locked for a while, with a friendly
page; the address is the proxy-aware client address, so X-Forwarded-For cannot dodge it."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("staff", "staff@example.com", "right-password")


def log_in(client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **extra)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail(client, times: int, username: str = "staff", **extra) -> list[int]:
    return [log_in(client, username, f"wrong-{n}", **extra).status_code for n in range(times)]


def test_a_right_password_logs_in(client, staff_user):
    assert logged_in(log_in(client, "staff", "right-password"))


def test_five_wrong_passwords_lock_the_login_with_a_friendly_page(client, staff_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5

    answers = fail(client, 4)
    fifth = log_in(client, "staff", "wrong-5")
    then_the_right_one = log_in(client, "staff", "right-password")

    assert answers == [200] * 4, "the usual 'please enter a correct username and password' page"
    for response in (fifth, then_the_right_one):
        assert response.status_code == 429
        assert int(response["Retry-After"]) == 15 * 60
        page = response.content.decode()
        assert "Too many failed logins" in page
        assert "15 minutes" in page
        assert "Traceback" not in page


def test_the_lock_is_for_that_username_from_that_address(client, staff_user):
    colleague = get_user_model().objects.create_superuser("colleague", "c@example.com", "her-password")
    fail(client, 5)

    assert logged_in(log_in(client, colleague.username, "her-password"))
    assert logged_in(log_in(client, "staff", "right-password", REMOTE_ADDR="198.51.100.20"))


def test_a_forged_x_forwarded_for_does_not_dodge_the_lockout(client, staff_user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(5):
        log_in(client, "staff", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    assert log_in(client, "staff", "right-password", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_behind_the_proxy_the_real_client_is_locked_not_everyone(client, staff_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def via_proxy(client_address: str, forged: str = "10.9.8.7") -> dict:
        return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": f"{forged}, {client_address}"}

    for n in range(5):
        log_in(client, "staff", "wrong", **via_proxy("198.51.100.7", forged=f"203.0.113.{n}"))

    assert log_in(client, "staff", "right-password", **via_proxy("198.51.100.7")).status_code == 429
    assert logged_in(log_in(client, "staff", "right-password", **via_proxy("198.51.100.8")))


def test_axes_reset_unlocks(client, staff_user):
    fail(client, 5)
    assert log_in(client, "staff", "right-password").status_code == 429

    call_command("axes_reset", verbosity=0)

    assert logged_in(log_in(client, "staff", "right-password"))


def test_a_successful_login_clears_earlier_failures(client, staff_user):
    fail(client, 4)
    assert logged_in(log_in(client, "staff", "right-password"))
    client.logout()

    assert fail(client, 4) == [200] * 4
    assert logged_in(log_in(client, "staff", "right-password"))


def test_force_login_in_tests_and_sessions_are_untouched(client, staff_user):
    client.force_login(staff_user)

    assert client.get("/admin/").status_code == 200


def test_rotating_ipv6_addresses_in_one_64_does_not_dodge_the_lock(client, staff_user):
    answers = [
        log_in(client, "staff", f"wrong-{n}", REMOTE_ADDR=f"2001:db8:aa:bb:{n:x}::{n + 1:x}").status_code
        for n in range(6)
    ]

    assert answers[:4] == [200] * 4
    assert answers[4:] == [429, 429]
    assert log_in(client, "staff", "right-password", REMOTE_ADDR="2001:db8:aa:bb:ffff::1").status_code == 429
    assert logged_in(log_in(client, "staff", "right-password", REMOTE_ADDR="2001:db8:aa:cc::1"))
