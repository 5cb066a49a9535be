"""Why a kiosk's sale is refused for its price (unknown, inactive, not offered at the machine, its
quota used up), with a voucher as without one (with a voucher the price is locked in the sale's
transaction: pricing.services.lock_price_for_sale), and what the kiosk gets when the price changes
between the refused attempt and the reading of why: a place freed, the price switched back on.
Those races run on PostgreSQL with real threads, the other party's change forced in right after
the kiosk's statement (a database execute wrapper on the kiosk's connection)."""

import io
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from payments import transitions
from payments.models import Sale, SaleCause, SaleStatus
from payments.refunds.services import request_refund
from payments.simulation import simulate_payment, simulate_refund_webhook
from pricing.models import Price
from pricing.selectors import quota_differences
from pricing.services import fix_quota_counts, limit_price_to_locations, set_prices_active
from tests.support.api import error_of
from tests.support.concurrency import in_thread, run_concurrently, wait_until_another_query_waits_for_this_transaction

URL = "/api/v1/transactions"
VOUCHER = "HEMAT25"  # 10 % off: the sale takes the voucher path


def create(api, sale_request, **fields):
    return api.post(URL, {**sale_request, **fields}, format="json")


@pytest.fixture
def elsewhere(make_location):
    return make_location(machine_code="PB-009", name="Bandara Soekarno-Hatta")


@pytest.mark.django_db
def test_a_voucher_sale_of_a_price_sold_only_at_some_machines_is_made_at_one_of_them(
    api, sale_request, price, location, elsewhere, make_voucher
):
    make_voucher(VOUCHER)
    limit_price_to_locations(price=price, locations=[elsewhere, location])

    response = create(api, sale_request, voucher_code=VOUCHER)

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["amount"] == 36000
    price.refresh_from_db()
    assert price.quota_used == 1


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["unknown", "inactive", "other machines", "used up"])
def test_a_voucher_sale_is_refused_for_its_price_naming_why(
    api, sale_request, price, location, elsewhere, make_voucher, make_sale, case
):
    make_voucher(VOUCHER)
    price_id = str(price.pk)
    expected = {
        "unknown": (404, "Price not found", {"price_id": "UNKNOWN"}),
        "inactive": (400, "Price is inactive", {"price_id": price_id}),
        "other machines": (
            422,
            "Price is not offered at this location",
            {"price_id": price_id, "location_id": location.pk},
        ),
        "used up": (422, "Price quota exceeded", {"price_id": price_id, "quota": 1, "used": 1}),
    }[case]
    if case == "unknown":
        price_id = str(uuid.uuid4())
        expected = (*expected[:2], {"price_id": price_id})
    elif case == "inactive":
        Price.objects.filter(pk=price.pk).update(is_active=False)
    elif case == "other machines":
        limit_price_to_locations(price=price, locations=[elsewhere])
    else:
        Price.objects.filter(pk=price.pk).update(quota=1)
        make_sale()

    response = create(api, {**sale_request, "price_id": price_id}, voucher_code=VOUCHER)

    assert error_of(response) == expected
    assert Sale.objects.filter(voucher_code=VOUCHER).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("voucher", [None, VOUCHER], ids=["without-voucher", "with-voucher"])
def test_a_price_sold_only_here_with_its_quota_used_up_is_refused_as_full_not_as_elsewhere(
    api, sale_request, price, location, make_voucher, make_sale, voucher
):
    make_voucher(VOUCHER)
    limit_price_to_locations(price=price, locations=[location])
    Price.objects.filter(pk=price.pk).update(quota=1)
    make_sale(status=SaleStatus.COMPLETED)

    response = create(api, sale_request, **({"voucher_code": voucher} if voucher else {}))

    assert error_of(response) == (
        422,
        "Price quota exceeded",
        {"price_id": str(price.pk), "quota": 1, "used": 1},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("voucher", [None, VOUCHER], ids=["without-voucher", "with-voucher"])
def test_a_used_up_quota_is_refused_after_reading_the_price_once_to_say_why(
    api, sale_request, price, make_voucher, make_sale, voucher
):
    """One attempt, one reading of why: a price found full is not tried again (each try would
    wait for the price's row lock behind the kiosks selling it)."""
    make_voucher(VOUCHER)
    Price.objects.filter(pk=price.pk).update(quota=1)
    make_sale(status=SaleStatus.COMPLETED)

    with CaptureQueriesContext(connection) as statements:
        response = create(api, sale_request, **({"voucher_code": voucher} if voucher else {}))

    assert error_of(response)[:2] == (422, "Price quota exceeded")
    on_the_price = [query["sql"] for query in statements.captured_queries if '"pricing_price"' in query["sql"]]
    assert len(on_the_price) == 2, on_the_price


@pytest.mark.django_db
def test_staff_switching_prices_off_and_on_changes_only_those_chosen_and_when_they_changed(
    staff_client, price, make_price
):
    other = make_price(25000)
    before = timezone.now()
    changelist = "/admin/pricing/price/"

    staff_client.post(changelist, {"action": "deactivate", "_selected_action": [price.pk]})
    price.refresh_from_db()
    other.refresh_from_db()
    assert (price.is_active, other.is_active) == (False, True)
    assert price.updated_at >= before > other.updated_at

    switched_off_at = price.updated_at
    assert set_prices_active(prices=Price.objects.filter(pk=price.pk), active=True) == 1
    price.refresh_from_db()
    assert price.is_active is True
    assert price.updated_at > switched_off_at


# The races: the kiosk's request runs here; after its statements named below, another party's
# change runs in a thread of its own (its own connection) and commits before the kiosk goes on.


def is_place_taking(sql: str) -> bool:
    return 'UPDATE "pricing_price" SET "quota_used"' in sql


def is_reading_why(sql: str) -> bool:
    return '"offered_here"' in sql and "UPDATE" not in sql


def after_statements(script: list[tuple[Callable[[str], bool], Callable[[], object]]]):
    """A database execute wrapper: after the kiosk's next statement that `script[0][0]` matches,
    run `script[0][1]` in another thread to its end, then go on with the rest of the script."""
    steps = list(script)

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if steps and steps[0][0](sql):
            _, action = steps.pop(0)
            in_thread(action)
        return result

    wrapper.steps = steps
    return wrapper


def cancel(sale: Sale) -> Callable[[], int]:
    """A customer at another kiosk walks away from their sale: its place is free."""
    return lambda: APIClient().post(f"{URL}/{sale.external_id}/cancel").status_code


def another_kiosk_sells(sale_request: dict) -> Callable[[], int]:
    return lambda: APIClient().post(URL, sale_request, format="json").status_code


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("voucher", [None, VOUCHER], ids=["without-voucher", "with-voucher"])
def test_a_place_freed_right_after_the_kiosk_found_the_price_full_is_sold_to_it(
    api, sale_request, price, make_voucher, make_sale, voucher
):
    make_voucher(VOUCHER)
    Price.objects.filter(pk=price.pk).update(quota=1)
    walking_away = make_sale()
    wrapper = after_statements([(is_place_taking, cancel(walking_away))])

    with connection.execute_wrapper(wrapper):
        response = create(api, sale_request, **({"voucher_code": voucher} if voucher else {}))

    assert response.status_code == 201, response.json()
    assert not wrapper.steps, "the race did not happen"
    price.refresh_from_db()
    assert price.quota_used == 1
    assert Sale.objects.get(external_id=response.json()["data"]["external_id"]).status == SaleStatus.PENDING


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("voucher", [None, VOUCHER], ids=["without-voucher", "with-voucher"])
def test_a_price_found_full_twice_is_refused_as_full_though_a_place_came_free_after_each_try(
    api, sale_request, price, make_voucher, make_sale, voucher
):
    """Found full, a place freed, taken by another kiosk before the retry, freed again: the kiosk
    is refused as full on its second try rather than trying for ever (or failing)."""
    make_voucher(VOUCHER)
    Price.objects.filter(pk=price.pk).update(quota=1)
    first = make_sale()
    second: list[Sale] = []

    def take_the_place():
        assert another_kiosk_sells(sale_request)() == 201
        second.append(Sale.objects.filter(status=SaleStatus.PENDING).get())

    wrapper = after_statements(
        [
            (is_place_taking, cancel(first)),
            (is_reading_why, take_the_place),
            (is_place_taking, lambda: cancel(second[0])()),
        ]
    )

    with connection.execute_wrapper(wrapper):
        response = create(api, sale_request, **({"voucher_code": voucher} if voucher else {}))

    assert not wrapper.steps, "the race did not happen"
    assert error_of(response)[:2] == (422, "Price quota exceeded")
    assert Sale.objects.filter(status=SaleStatus.PENDING).count() == 0


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("voucher", [None, VOUCHER], ids=["without-voucher", "with-voucher"])
def test_a_price_without_quota_switched_back_on_right_after_the_kiosk_found_it_off_is_sold(
    api, sale_request, price, make_voucher, voucher
):
    make_voucher(VOUCHER)
    Price.objects.filter(pk=price.pk).update(is_active=False, quota=None)

    def staff_switch_it_on():
        return set_prices_active(prices=Price.objects.filter(pk=price.pk), active=True)

    wrapper = after_statements([(is_place_taking, staff_switch_it_on)])
    with connection.execute_wrapper(wrapper):
        response = create(api, sale_request, **({"voucher_code": voucher} if voucher else {}))

    assert not wrapper.steps, "the race did not happen"
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_a_refund_of_a_sale_its_price_no_longer_counts_goes_through_and_leaves_the_counts_at_zero(make_sale, price):
    """Counts that drifted to 0 (SQL by hand, a bug) never go below it, nor stop a refund:
    check_quotas reports and repairs drift, the customer gets their money back."""
    sale = make_sale()
    simulate_payment(sale=sale)
    Price.objects.filter(pk=price.pk).update(quota_used=0, paid_sales=0)

    refund = request_refund(sale=Sale.objects.get(pk=sale.pk), reason="Printer jammed", requested_by=None)
    simulate_refund_webhook(refund=refund)

    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.REFUNDED
    price.refresh_from_db()
    assert (price.quota_used, price.paid_sales) == (0, 0)


# check_quotas --fix while prices change under it: each price is counted under its row lock.


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_repairing_the_counts_while_an_expiry_has_counted_but_not_committed_keeps_the_expiry(make_sale, price):
    """The expiry has changed its sale and its price's count, and holds the price's lock: the repair
    waits for it, then counts what it committed; counting without the lock would write back the
    count from before the expiry over it."""
    overdue = make_sale(expires_at=timezone.now() - timedelta(minutes=1))
    make_sale(status=SaleStatus.COMPLETED)
    Price.objects.filter(pk=price.pk).update(quota_used=9)  # drifted: the repair has work
    expiry_counted = threading.Event()

    def expiry():
        with transaction.atomic():
            expired = transitions.expire(
                sales=Sale.objects.filter(pk=overdue.pk), cause=SaleCause.EXPIRE_SALES, now=timezone.now()
            )
            expiry_counted.set()
            wait_until_another_query_waits_for_this_transaction()
        return expired

    def repair():
        assert expiry_counted.wait(timeout=10)
        return fix_quota_counts()

    expired, fixed = run_concurrently(lambda i: expiry() if i == 0 else repair(), 2)

    assert expired == [overdue.pk], expired
    assert [(count.quota_used, count.counted_quota_used) for count in fixed] == [(8, 1)], fixed
    price.refresh_from_db()
    assert (price.quota_used, price.paid_sales) == (1, 1)
    assert quota_differences() == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_check_quotas_fix_repairs_the_other_prices_when_one_is_deleted_while_it_runs(make_price, make_sale):
    """Prices checked in the order they were made: the first (its counts right) is left alone, the
    second is deleted by staff as the repair reaches it, the third is repaired and reported."""
    make_price(10000, description="Right")
    deleted = make_price(20000, description="Deleted")
    drifted = make_price(30000, description="Drifted")
    make_sale(price=drifted, status=SaleStatus.COMPLETED)
    Price.objects.filter(pk__in=[deleted.pk, drifted.pk]).update(quota_used=5)
    staff_deleting = threading.Event()

    def staff_delete():
        with transaction.atomic():
            Price.objects.filter(pk=deleted.pk).delete()
            staff_deleting.set()
            wait_until_another_query_waits_for_this_transaction()

    def repair():
        assert staff_deleting.wait(timeout=10)
        out = io.StringIO()
        call_command("check_quotas", "--fix", stdout=out)
        return out.getvalue()

    _, printed = run_concurrently(lambda i: staff_delete() if i == 0 else repair(), 2)

    assert printed == (
        f"Rp 30.000 – Drifted ({drifted.pk}): quota used was 5, counted 1; paid sales was 1, counted 1\n"
        "Fixed the counters of 1 price(s).\n"
    ), printed
    assert quota_differences() == []
