"""Sales stop when a machine is out of service: POST /api/v1/transactions answers 422 `Location is out
of service`, checked right after `Location is not active`, whether staff took the machine out or its
kiosk reported it (or reported no paper, on a machine set to need a printer)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations.models import Location, MachineStatus
from locations.services import put_back_in_service, take_out_of_service
from payments.models import Sale

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions"


def reported(location: Location, **fields) -> None:
    fields.setdefault("status", "ok")
    MachineStatus.objects.update_or_create(location=location, defaults={"beat_at": timezone.now(), **fields})


def create(api, sale_request):
    return api.post(URL, sale_request, format="json")


def refused_as_out_of_service(response, location) -> bool:
    return response.status_code == 422 and response.json() == {
        "success": False,
        "message": "Location is out of service",
        "details": {"location_id": location.pk},
    }


def test_a_machine_staff_took_out_of_service_sells_nothing_until_it_is_back(api, location, sale_request, admin_user):
    take_out_of_service(location=location, note="paper jam", user=admin_user)

    assert refused_as_out_of_service(create(api, sale_request), location)
    assert not Sale.objects.exists()

    put_back_in_service(location=location)
    assert create(api, sale_request).status_code == 201


def test_a_kiosk_reporting_itself_out_of_service_sells_nothing(api, location, sale_request):
    reported(location, status="out_of_service")

    assert refused_as_out_of_service(create(api, sale_request), location)

    reported(location, status="ok")
    assert create(api, sale_request).status_code == 201


def test_no_paper_stops_sales_on_a_machine_that_needs_a_printer(api, location, sale_request):
    reported(location, printer_status="paper_out", prints_left=0)
    assert create(api, sale_request).status_code == 201  # photos by email only: it may sell

    Location.objects.filter(pk=location.pk).update(needs_printer=True)

    assert refused_as_out_of_service(create(api, sale_request), location)


def test_an_offline_or_stale_machine_may_still_sell(api, location, sale_request):
    MachineStatus.objects.create(location=location, status="ok", beat_at=timezone.now() - timedelta(hours=1))

    assert create(api, sale_request).status_code == 201


def test_an_inactive_machine_is_refused_as_inactive_first(api, location, sale_request, admin_user):
    take_out_of_service(location=location, note="moving", user=admin_user)
    Location.objects.filter(pk=location.pk).update(is_active=False)

    response = create(api, sale_request)

    assert (response.status_code, response.json()["message"]) == (422, "Location is not active")
