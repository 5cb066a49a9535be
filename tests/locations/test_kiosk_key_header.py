"""How the kiosk key is read from `Authorization`: only the Bearer scheme carries it, spaces around
the key are forgiven, and the request is then made by a kiosk that names its key."""

import json

import pytest

from locations.auth import AuthenticatedKiosk
from locations.models import KioskKey
from locations.services import issue_kiosk_key
from payments.models import Sale
from tests.support.api import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(location) -> str:
    return issue_kiosk_key(location=location, label="PB-001 tablet")[1]


def create(api, body, authorization: str):
    return api.post(
        "/api/v1/transactions", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=authorization
    )


@pytest.mark.parametrize("scheme", ["Token", "Basic", "Bearerx"])
def test_a_valid_key_under_another_scheme_is_refused(api, sale_request, key, scheme):
    response = create(api, sale_request, f"{scheme} {key}")

    assert error_of(response) == (401, "Invalid kiosk key", {})
    assert not Sale.objects.exists()


def test_extra_spaces_between_bearer_and_the_key_are_forgiven(api, sale_request, key):
    response = create(api, sale_request, f"Bearer   {key} ")

    assert response.status_code == 201, response.json()


def test_the_kiosk_making_a_request_names_its_key_and_location(location, key):
    stored = KioskKey.objects.get(location=location)

    kiosk = AuthenticatedKiosk(stored)

    assert (str(kiosk), kiosk.key, kiosk.location_id) == (f"kiosk {stored.prefix}", stored, location.pk)
