"""Staff limit a price to some machines on its admin page; no machine chosen sells it at every
machine. A machine a price is limited to is never deleted from under it."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from pricing.models import Price
from pricing.services import limit_price_to_locations

pytestmark = pytest.mark.django_db

ADD = reverse("admin:pricing_price_add")
LIST = reverse("admin:pricing_price_changelist")


@pytest.fixture
def operator_client(client):
    user = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Kiosk operator"))
    client.force_login(user)
    return client


@pytest.fixture
def airport(make_location):
    return make_location(machine_code="PB-009", name="Bandara Soekarno-Hatta")


def change_url(price: Price) -> str:
    return reverse("admin:pricing_price_change", args=[price.pk])


def test_staff_add_a_price_sold_at_some_machines_only(staff_client, location, airport):
    response = staff_client.post(
        ADD,
        {"amount": "60000", "description": "Airport special", "quota": "", "sold_at": [airport.pk], "is_active": "on"},
    )

    assert response.status_code == 302
    price = Price.objects.get(description="Airport special")
    assert list(price.locations.all()) == [airport]


def test_a_price_added_without_machines_is_sold_everywhere(staff_client, location):
    staff_client.post(ADD, {"amount": "40000", "description": "Strips", "quota": "", "is_active": "on"})

    assert not Price.objects.get(description="Strips").locations.exists()


def test_staff_change_the_machines_and_clear_them_to_sell_everywhere_again(staff_client, price, location, airport):
    page = staff_client.get(change_url(price)).content.decode()
    assert "Choose none to sell it at every machine." in page

    form = {"description": price.description, "quota": "", "is_active": "on"}
    staff_client.post(change_url(price), {**form, "sold_at": [location.pk, airport.pk]})
    assert set(price.locations.all()) == {location, airport}

    staff_client.post(change_url(price), {**form, "sold_at": [airport.pk]})
    assert list(price.locations.all()) == [airport]

    staff_client.post(change_url(price), form)
    assert not price.locations.exists()


def test_the_change_page_shows_the_machines_already_chosen(staff_client, price, airport):
    limit_price_to_locations(price=price, locations=[airport])

    page = staff_client.get(change_url(price)).content.decode()

    assert f'<option value="{airport.pk}" selected>' in page


def test_the_price_list_says_where_each_price_is_sold(staff_client, price, make_price, location, airport):
    limit_price_to_locations(price=make_price(60000, description="Airport special"), locations=[airport, location])

    page = staff_client.get(LIST).content.decode()

    assert "every machine" in page
    assert "PB-001, PB-009" in page


def test_the_price_list_reads_the_machines_in_one_query_whatever_the_number_of_prices(
    staff_client, make_price, airport, django_assert_max_num_queries
):
    for n in range(3):
        limit_price_to_locations(price=make_price(10000 + n), locations=[airport])
    staff_client.get(LIST)
    with django_assert_max_num_queries(50) as few:
        staff_client.get(LIST)
    for n in range(10):
        limit_price_to_locations(price=make_price(20000 + n), locations=[airport])

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert staff_client.get(LIST).status_code == 200


def test_kiosk_operators_see_where_a_price_is_sold_but_cannot_change_it(operator_client, price, airport):
    limit_price_to_locations(price=price, locations=[airport])

    page = operator_client.get(change_url(price)).content.decode()
    refused = operator_client.post(change_url(price), {"description": "x", "is_active": "on"})

    assert "PB-009" in page
    assert refused.status_code == 403
    assert list(price.locations.all()) == [airport]


def test_deleting_a_machine_a_price_is_limited_to_is_refused(staff_client, price, airport):
    limit_price_to_locations(price=price, locations=[airport])

    page = staff_client.get(reverse("admin:locations_location_delete", args=[airport.pk])).content.decode()
    staff_client.post(reverse("admin:locations_location_delete", args=[airport.pk]), {"post": "yes"})

    assert "is sold at PB-009" in page
    assert list(price.locations.all()) == [airport]
