"""GET /api/v1/kiosk/packages: the kiosk asks what it may sell, and shows it as its menu.

The active prices offered at the kiosk's location, cheapest first, each with its quota and what is
left of it; in the success envelope; cacheable for a short while with an ETag.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.env import Rate
from locations.services import issue_kiosk_key
from payments.models import SaleStatus
from pricing.services import limit_price_to_locations

pytestmark = pytest.mark.django_db

URL = "/api/v1/kiosk/packages"


@pytest.fixture
def elsewhere(make_location):
    return make_location(machine_code="PB-009", name="Bandara Soekarno-Hatta")


@pytest.fixture
def key(location) -> str:
    return issue_kiosk_key(location=location, label="PB-001 tablet")[1]


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def menu(api, location_id=None, **headers):
    query = {} if location_id is None else {"location_id": location_id}
    return api.get(URL, query, **headers)


def entry_of(response, price) -> dict:
    (entry,) = [entry for entry in response.json()["data"] if entry["id"] == str(price.pk)]
    return entry


def descriptions(response) -> list[str]:
    return [entry["description"] for entry in response.json()["data"]]


def error_of(response) -> tuple[int, str, dict]:
    body = response.json()
    assert list(body) == ["success", "message", "details"]
    return response.status_code, body["message"], body["details"]


# --- What it answers ------------------------------------------------------------------------------


def test_the_menu_answers_exactly_as_the_contract_shows(api, location, make_price):
    strips = make_price(40000, description="4 photo strips", quota=50)
    digital = make_price(25000, description="Digital only")

    response = menu(api, location.pk)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "success": True,
        "message": "Packages retrieved successfully",
        "data": [
            {"id": str(digital.pk), "price": 25000, "description": "Digital only", "quota": None, "remaining": None},
            {"id": str(strips.pk), "price": 40000, "description": "4 photo strips", "quota": 50, "remaining": 50},
        ],
    }
    assert [list(entry) for entry in response.json()["data"]] == [
        ["id", "price", "description", "quota", "remaining"]
    ] * 2


def test_cheapest_first(api, location, make_price):
    for amount in (75000, 20000, 150000, 35000):
        make_price(amount, description=f"Rp {amount}")

    assert [entry["price"] for entry in menu(api, location.pk).json()["data"]] == [20000, 35000, 75000, 150000]


def test_inactive_prices_are_not_on_the_menu(api, location, make_price):
    make_price(40000, description="On sale")
    make_price(30000, description="Retired", is_active=False)

    assert descriptions(menu(api, location.pk)) == ["On sale"]


def test_prices_limited_to_other_machines_are_not_on_the_menu(api, location, elsewhere, make_price):
    make_price(40000, description="Everywhere")
    airport = make_price(60000, description="Airport only")
    both = make_price(50000, description="Here and the airport")
    limit_price_to_locations(price=airport, locations=[elsewhere])
    limit_price_to_locations(price=both, locations=[location, elsewhere])

    assert descriptions(menu(api, location.pk)) == ["Everywhere", "Here and the airport"]
    assert descriptions(menu(api, elsewhere.pk)) == ["Everywhere", "Here and the airport", "Airport only"]


def test_a_kiosk_with_nothing_to_sell_gets_an_empty_menu(api, location, elsewhere, make_price):
    limit_price_to_locations(price=make_price(60000), locations=[elsewhere])

    response = menu(api, location.pk)

    assert (response.status_code, response.json()["data"]) == (200, [])


def test_remaining_counts_paid_sales_and_unpaid_ones_not_yet_expired(api, location, make_price, make_sale):
    limited = make_price(40000, quota=5)
    now = timezone.now()
    make_sale(price=limited, status=SaleStatus.COMPLETED)
    make_sale(price=limited, status=SaleStatus.PENDING)
    # These no longer hold quota: the quota rule of pricing.selectors, as sale creation counts it.
    make_sale(price=limited, status=SaleStatus.PENDING, created_at=now - timedelta(hours=1), expires_at=now)
    make_sale(price=limited, status=SaleStatus.EXPIRED)
    make_sale(price=limited, status=SaleStatus.CANCELLED)
    make_sale(price=limited, status=SaleStatus.FAILED)
    make_sale(price=limited, status=SaleStatus.REFUNDED)

    entry = entry_of(menu(api, location.pk), limited)

    assert (entry["quota"], entry["remaining"]) == (5, 3)


def test_a_sold_out_price_stays_on_the_menu_with_nothing_remaining(api, location, make_price, make_sale):
    sold_out = make_price(40000, quota=1)
    make_sale(price=sold_out, status=SaleStatus.COMPLETED)
    # A late payment completed an expired sale: more sales than the quota, never a negative count.
    make_sale(price=sold_out, status=SaleStatus.COMPLETED)

    entry = entry_of(menu(api, location.pk), sold_out)

    assert (entry["quota"], entry["remaining"]) == (1, 0)


def test_a_quota_of_zero_is_on_the_menu_as_sold_out_not_unlimited(api, location, make_price):
    # null would mean unlimited: the kiosk would offer a package nobody may buy.
    never_sold = make_price(20000, description="Promo not yet open", quota=0)

    entry = entry_of(menu(api, location.pk), never_sold)

    assert (entry["quota"], entry["remaining"]) == (0, 0)


def test_remaining_is_what_sale_creation_then_allows(api, location, make_price, sale_request):
    two_left = make_price(45000, quota=2)
    body = {**sale_request, "price_id": str(two_left.pk)}

    sold = [api.post("/api/v1/transactions", body, format="json").status_code for _ in range(3)]

    assert sold == [201, 201, 422]
    assert entry_of(menu(api, location.pk), two_left)["remaining"] == 0


# --- Which kiosk is asking ------------------------------------------------------------------------


def test_a_kiosk_key_names_the_location(api, location, elsewhere, make_price, key):
    make_price(40000, description="Everywhere")
    limit_price_to_locations(price=make_price(60000, description="Airport only"), locations=[elsewhere])

    assert descriptions(menu(api, **bearer(key))) == ["Everywhere"]
    assert descriptions(menu(api, location.pk, **bearer(key))) == ["Everywhere"]


def test_a_location_id_that_disagrees_with_the_key_is_refused(api, location, elsewhere, price, key):
    response = menu(api, elsewhere.pk, **bearer(key))

    assert error_of(response) == (
        403,
        "Kiosk key does not belong to this location",
        {"location_id": elsewhere.pk, "kiosk_location_id": location.pk},
    )


def test_with_keys_required_a_kiosk_without_one_is_refused(api, location, price, settings):
    settings.KIOSK_AUTH = "required"

    response = menu(api, location.pk)

    assert error_of(response) == (401, "Kiosk key required", {})
    assert response["WWW-Authenticate"] == 'Bearer realm="photobox"'


def test_an_unknown_key_is_refused_even_when_keys_are_optional(api, location, price):
    response = menu(api, location.pk, **bearer("pbk_" + "x" * 43))

    assert error_of(response) == (401, "Invalid kiosk key", {})


def test_without_a_key_the_location_id_is_required(api, location, price):
    status, message, details = error_of(menu(api))

    assert (status, message) == (422, "Validation error")
    assert [(e["field"], e["type"]) for e in details["errors"]] == [("location_id", "missing")]


@pytest.mark.parametrize("bad", ["abc", "", "0", "-1", "1.5", "99999999999999999999"])
def test_a_location_id_that_is_no_positive_whole_number_is_a_validation_error(api, location, bad):
    status, message, details = error_of(api.get(URL, {"location_id": bad}))

    assert (status, message) == (422, "Validation error")
    assert details["errors"][0]["field"] == "location_id"


def test_a_location_id_given_twice_is_refused_rather_than_one_picked(api, location, elsewhere, price, key):
    for headers in ({}, bearer(key)):
        response = api.get(f"{URL}?location_id={location.pk}&location_id={elsewhere.pk}", **headers)
        status, message, details = error_of(response)

        assert (status, message) == (422, "Validation error")
        assert details["errors"] == [
            {"field": "location_id", "message": "Give this parameter once.", "type": "value_error"}
        ]


def test_an_empty_location_id_is_refused_even_with_a_key(api, location, price, key):
    status, message, details = error_of(api.get(f"{URL}?location_id=", **bearer(key)))

    assert (status, message) == (422, "Validation error")
    assert [(e["field"], e["type"]) for e in details["errors"]] == [("location_id", "value_error")]


def test_an_unknown_or_inactive_location_gets_what_sale_creation_answers(api, make_location, sale_request):
    closed = make_location(is_active=False)

    for location_id in (999_999, closed.pk):
        sale = api.post("/api/v1/transactions", {**sale_request, "location_id": location_id}, format="json")
        assert error_of(menu(api, location_id)) == error_of(sale)
    assert error_of(menu(api, 999_999)) == (404, "Location not found", {"location_id": 999_999})
    assert error_of(menu(api, closed.pk)) == (422, "Location is not active", {"location_id": closed.pk})


def test_a_kiosk_guessing_locations_is_rate_limited_like_the_photo_misses(api, location, price, settings):
    settings.RATE_LIMIT_PHOTO_MISSES = Rate(3, 60)

    misses = [menu(api, 900_000 + n).status_code for n in range(3)]
    even_a_hit = menu(api, location.pk)

    assert misses == [404, 404, 404]
    assert error_of(even_a_hit)[:2] == (429, "Too many requests")
    assert int(even_a_hit["Retry-After"]) >= 1


# --- Caching ------------------------------------------------------------------------------------


def test_the_menu_is_cacheable_briefly_and_privately(api, location, price):
    response = menu(api, location.pk)

    assert response["Cache-Control"] == "private, max-age=30"
    assert response["ETag"].startswith('"')
    assert "Authorization" in response["Vary"]


def test_asking_again_with_its_etag_gets_304_without_a_body(api, location, price):
    etag = menu(api, location.pk)["ETag"]

    again = menu(api, location.pk, HTTP_IF_NONE_MATCH=etag)
    listed = menu(api, location.pk, HTTP_IF_NONE_MATCH=f'"nope", W/{etag}')

    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "private, max-age=30"
    assert listed.status_code == 304


@pytest.mark.parametrize(
    "change",
    ["a sale", "a new price", "a price deactivated", "a price moved to another machine"],
)
def test_the_etag_changes_with_what_the_kiosk_would_show(api, location, elsewhere, make_price, make_sale, change):
    limited = make_price(40000, quota=3)
    etag = menu(api, location.pk)["ETag"]

    if change == "a sale":
        make_sale(price=limited)
    elif change == "a new price":
        make_price(99000)
    elif change == "a price deactivated":
        limited.is_active = False
        limited.save()
    else:
        limit_price_to_locations(price=limited, locations=[elsewhere])
    response = menu(api, location.pk, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag


def test_each_location_has_its_own_etag(api, location, elsewhere, make_price):
    make_price(40000)
    limit_price_to_locations(price=make_price(60000), locations=[elsewhere])

    assert menu(api, location.pk)["ETag"] != menu(api, elsewhere.pk)["ETag"]


# --- Cost -----------------------------------------------------------------------------------------

# The location, then the prices with what is left of their quotas; with a key, the key too.
MENU_QUERIES = 2
MENU_WITH_KEY_QUERIES = 3


@pytest.mark.parametrize("count", [1, 12])
def test_the_menu_is_a_fixed_number_of_queries_whatever_the_number_of_prices(
    api, location, elsewhere, make_price, make_sale, django_assert_num_queries, count
):
    for n in range(count):
        price = make_price(10000 + n, quota=10 if n % 2 else None)
        make_sale(price=price, status=SaleStatus.COMPLETED)
        if n % 3 == 0:
            limit_price_to_locations(price=price, locations=[location, elsewhere])

    with django_assert_num_queries(MENU_QUERIES):
        response = menu(api, location.pk)

    assert len(response.json()["data"]) == count + 1  # and make_sale's own price


def test_with_a_key_one_query_more(api, location, price, key, django_assert_num_queries):
    menu(api, **bearer(key))  # its last use is written once a minute at most: not in the count

    with django_assert_num_queries(MENU_WITH_KEY_QUERIES):
        assert menu(api, **bearer(key)).status_code == 200
