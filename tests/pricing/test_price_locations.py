"""A price can be limited to some machines: sold there only; no machine chosen means every machine.

The limit is checked when a sale is made, right after "Price is inactive" and before the quota.
"""

import json
import uuid

import pytest
from django.db.models import ProtectedError

from payments.models import Sale
from pricing.services import limit_price_to_locations

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions"


@pytest.fixture
def elsewhere(make_location):
    return make_location(machine_code="PB-009", name="Bandara Soekarno-Hatta")


def create(api, body):
    return api.post(URL, data=json.dumps(body), content_type="application/json")


def test_a_price_without_machines_is_sold_at_every_machine(api, sale_request, make_location):
    another = make_location()

    here = create(api, sale_request)
    there = create(api, {**sale_request, "location_id": another.pk})

    assert (here.status_code, there.status_code) == (201, 201)


def test_a_price_limited_to_some_machines_is_sold_there(api, sale_request, price, location, elsewhere):
    limit_price_to_locations(price=price, locations=[elsewhere, location])

    response = create(api, sale_request)

    assert response.status_code == 201
    assert Sale.objects.get().location == location


def test_a_price_limited_to_other_machines_is_refused_naming_both_ids(api, sale_request, price, location, elsewhere):
    limit_price_to_locations(price=price, locations=[elsewhere])

    response = create(api, sale_request)

    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "message": "Price is not offered at this location",
        "details": {"price_id": str(price.pk), "location_id": location.pk},
    }
    assert not Sale.objects.exists()


def test_an_inactive_price_is_refused_as_inactive_before_its_machines_are_looked_at(
    api, sale_request, price, elsewhere
):
    limit_price_to_locations(price=price, locations=[elsewhere])
    price.is_active = False
    price.save()

    assert create(api, sale_request).json()["message"] == "Price is inactive"


def test_a_sold_out_price_of_another_machine_is_refused_as_not_offered(api, sale_request, make_price, elsewhere):
    sold_out = make_price(75000, quota=0)
    limit_price_to_locations(price=sold_out, locations=[elsewhere])

    response = create(api, {**sale_request, "price_id": str(sold_out.pk)})

    assert (response.status_code, response.json()["message"]) == (422, "Price is not offered at this location")


def test_an_unknown_location_and_price_are_still_refused_as_before(api, sale_request, price, elsewhere):
    limit_price_to_locations(price=price, locations=[elsewhere])

    unknown_location = create(api, {**sale_request, "location_id": 999_999})
    unknown_price = create(api, {**sale_request, "price_id": str(uuid.uuid4())})

    assert unknown_location.json()["message"] == "Location not found"
    assert unknown_price.json()["message"] == "Price not found"


def test_taking_every_machine_off_the_limit_sells_it_everywhere_again(api, sale_request, price, elsewhere):
    limit_price_to_locations(price=price, locations=[elsewhere])
    assert create(api, sale_request).status_code == 422

    limit_price_to_locations(price=price, locations=[])

    assert create(api, sale_request).status_code == 201


def test_a_machine_a_price_is_limited_to_cannot_be_deleted_under_it(price, elsewhere):
    # Otherwise deleting the only machine of a venue's price would put that price on sale everywhere.
    limit_price_to_locations(price=price, locations=[elsewhere])

    with pytest.raises(ProtectedError):
        elsewhere.delete()

    assert list(price.locations.all()) == [elsewhere]
